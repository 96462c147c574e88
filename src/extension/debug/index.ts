/**
 * Debugging with an encrypted `envFile`: a debug configuration of any type whose `envFile`
 * names an encrypted `.env` gets the decrypted values in `env` instead, after VS Code has
 * substituted its variables; the adapter never sees ciphertext and no plaintext file is made.
 * Configurations without an encrypted env file are returned untouched, without loading the
 * commands bundle.
 */
import path = require('node:path');
import vscode = require('vscode');
import { kindOf } from '../../core/kind';
import type { EnvValues } from '../env-values';
import { reportError } from '../ui';

export interface DebugDeps {
  readonly log: vscode.LogOutputChannel;
  /** The decrypting half, in the commands bundle. */
  readonly values: () => EnvValues;
}

/** The env files a configuration names (`envFile`: a path or a list), as absolute paths. */
export function envFilesOf(config: vscode.DebugConfiguration, folder: vscode.WorkspaceFolder | undefined): string[] {
  const given: unknown[] = Array.isArray(config.envFile) ? config.envFile : config.envFile === undefined ? [] : [config.envFile];
  const base = typeof config.cwd === 'string' ? config.cwd : (folder?.uri.fsPath ?? process.cwd());
  return given.filter((f): f is string => typeof f === 'string' && f.length > 0).map((f) => path.resolve(base, f));
}

/** Resolves a configuration; undefined stops the launch (after saying why). */
export async function resolveLaunch(d: DebugDeps, config: vscode.DebugConfiguration, folder: vscode.WorkspaceFolder | undefined): Promise<vscode.DebugConfiguration | undefined> {
  const files = envFilesOf(config, folder);
  const kinds = await Promise.all(files.map((f) => kindOf(f).catch(() => 'plain' as const)));
  if (!kinds.some((k) => k !== 'plain')) return config;
  if (!vscode.workspace.isTrusted) {
    d.log.warn(`launch "${config.name}": not decrypting its env file in an untrusted workspace`);
    void vscode.window.showErrorMessage(`KMS Envelope: "${config.name}" names an encrypted env file; trust this workspace to launch it with the decrypted values.`, 'Manage Workspace Trust').then((b) => b && vscode.commands.executeCommand('workbench.trust.manage'));
    return undefined;
  }
  try {
    return await d.values().debug(config, files);
  } catch (err) {
    await reportError(err, d.log, `Launching "${config.name}"`);
    return undefined;
  }
}

export function registerDebug(d: DebugDeps): vscode.Disposable {
  return vscode.debug.registerDebugConfigurationProvider('*', {
    resolveDebugConfigurationWithSubstitutedVariables: (folder, config) => resolveLaunch(d, config, folder),
  });
}
