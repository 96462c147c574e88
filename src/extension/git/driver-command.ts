/**
 * How git runs kms-envelope for a repository set up from the editor: a small launcher script in
 * the extension's global storage, rewritten on activation when it would point elsewhere. Its
 * path stays the same across extension updates (the extension's own folder changes with each
 * version), so a repository's git config never names a CLI that is gone.
 */
import { promises as fs } from 'node:fs';
import path = require('node:path');
import vscode = require('vscode');
import { missingGuard, shellQuote } from '../../core/git/patterns';

const LAUNCHER = 'kms-envelope-git';

/** The launcher's text: this editor's runtime running the CLI bundled with this extension. */
function launcher(extensionPath: string): string {
  const cli = path.join(extensionPath, 'dist', 'cli.js');
  // Desktop VS Code runs extensions in Electron, which acts as Node only when asked to.
  const node = process.versions.electron ? `ELECTRON_RUN_AS_NODE=1 ${shellQuote(process.execPath)}` : shellQuote(process.execPath);
  // the extension uninstalled (its folder gone): one line with the remedy, not a Node stack trace
  return `#!/bin/sh\n# Runs the kms-envelope CLI of the VS Code extension for git (kms-envelope git setup).\n${missingGuard([process.execPath, cli])}exec env ${node} ${shellQuote(cli)} "$@"\n`;
}

/** Writes the launcher if it is missing or stale; returns the command to put in git config. */
export async function ensureLauncher(context: vscode.ExtensionContext, onlyIfPresent = false): Promise<string> {
  const dir = context.globalStorageUri.fsPath;
  const file = path.join(dir, LAUNCHER);
  const text = launcher(context.extensionPath);
  const current = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (current !== text && !(onlyIfPresent && current === undefined)) {
    await fs.mkdir(dir, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    await fs.writeFile(temp, text, { mode: 0o755 });
    await fs.rename(temp, file);
  }
  return shellQuote(file);
}

/** After an update: a launcher that exists is pointed at this version (none is created). */
export const refreshLauncher = (context: vscode.ExtensionContext): Promise<string> => ensureLauncher(context, true);
