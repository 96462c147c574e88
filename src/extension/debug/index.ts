/**
 * Debugging with an encrypted `envFile`: a debug configuration of any type whose `envFile`
 * names an encrypted `.env` gets the decrypted values in `env` instead, after VS Code has
 * substituted its variables; the adapter never sees ciphertext and no plaintext file is made.
 * Configurations without an encrypted env file are returned untouched, without loading the
 * commands bundle: a plain `.env` is the debug adapter's, as without this extension. Two
 * exceptions, where a committer's stripped header would otherwise pass unnoticed (security
 * review U2): an env file that still holds kms-envelope's remnants (damaged), and an env file
 * this workspace has launched with encrypted before and that has no header now, stop the launch.
 */
import path = require('node:path');
import vscode = require('vscode');
import { remnantsOfFile } from '../../core/damage';
import { kindOf } from '../../core/kind';
import type { EnvValues } from '../env-values';
import { reportError } from '../ui';

export interface DebugDeps {
  readonly log: vscode.LogOutputChannel;
  /** Per workspace, outside the repository: env files launched encrypted before. */
  readonly state: vscode.Memento;
  /** The decrypting half, in the commands bundle. */
  readonly values: () => EnvValues;
}

const SEEN_ENCRYPTED = 'kmsEnvelope.debugEnvFilesSeenEncrypted';
const MAX_SEEN = 500;

/** The env files a configuration names (`envFile`: a path or a list), as absolute paths. */
export function envFilesOf(config: vscode.DebugConfiguration, folder: vscode.WorkspaceFolder | undefined): string[] {
  const given: unknown[] = Array.isArray(config.envFile) ? config.envFile : config.envFile === undefined ? [] : [config.envFile];
  const base = typeof config.cwd === 'string' ? config.cwd : (folder?.uri.fsPath ?? process.cwd());
  return given.filter((f): f is string => typeof f === 'string' && f.length > 0).map((f) => path.resolve(base, f));
}

/** Resolves a configuration; undefined stops the launch (after saying why). */
export async function resolveLaunch(d: DebugDeps, config: vscode.DebugConfiguration, folder: vscode.WorkspaceFolder | undefined): Promise<vscode.DebugConfiguration | undefined> {
  const files = envFilesOf(config, folder);
  const kinds = await Promise.all(files.map((f) => kindOf(f).catch(() => 'missing' as const)));
  const plain = files.filter((_, i) => kinds[i] === 'plain');
  const seen = new Set(d.state.get<string[]>(SEEN_ENCRYPTED) ?? []);
  for (const f of plain) {
    const remnants = await remnantsOfFile(f, { tokens: true });
    const why = remnants
      ? `is damaged: it holds ${remnants} but no valid kms-envelope header`
      : seen.has(f)
        ? 'was encrypted when this workspace last launched with it, and has no kms-envelope header now (removed by a commit?): its values are not authenticated'
        : undefined;
    if (why) {
      const msg = `"${config.name}" not launched: ${vscode.workspace.asRelativePath(f)} ${why}. Restore it from version control (git log -p -- ${path.basename(f)}).`;
      d.log.error(msg);
      void vscode.window.showErrorMessage(`KMS Envelope: ${msg}`);
      return undefined;
    }
  }
  const encrypted = files.filter((_, i) => kinds[i] !== 'plain' && kinds[i] !== 'missing');
  if (encrypted.length === 0) return config;
  if (encrypted.some((f) => !seen.has(f))) await d.state.update(SEEN_ENCRYPTED, [...new Set([...seen, ...encrypted])].slice(-MAX_SEEN));
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
