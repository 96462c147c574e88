/**
 * *KMS Envelope: New Terminal with .env…*: an integrated terminal whose environment holds an
 * encrypted `.env`'s values. The terminal is transient (VS Code does not persist or revive it,
 * so its launch environment is never serialized into the workspace's storage).
 */
import path = require('node:path');
import vscode = require('vscode');
import { KmsEnvelopeError } from '../../core/errors';
import type { EncryptedFiles } from '../encrypted-files';
import type { EnvValues } from '../env-values';
import { pickFile } from '../pick-file';
import { commandTarget } from '../view-uri';

/** The encrypted `.env` a terminal is for: the one the command was given, the active one, or one the user picks. */
async function envFileFor(arg: unknown, files: EncryptedFiles): Promise<vscode.Uri | undefined> {
  const given = commandTarget(arg);
  if (given && (await files.recheck(given))?.store === 'dotenv') return given;
  if (arg instanceof vscode.Uri) throw new KmsEnvelopeError('USAGE', `${path.basename(arg.fsPath)} is not an encrypted .env file`);
  return pickFile(files, { glob: '**/*', fits: (facts) => facts?.store === 'dotenv', title: 'KMS Envelope: .env for the new terminal', none: 'no encrypted .env file in this workspace yet' });
}

export async function newTerminalWithEnv(arg: unknown, d: { files: EncryptedFiles; values: EnvValues; log: vscode.LogOutputChannel }): Promise<vscode.Terminal | undefined> {
  const file = await envFileFor(arg, d.files);
  if (!file) return undefined;
  const rel = vscode.workspace.asRelativePath(file);
  const env = await d.values.values([file.fsPath], `the terminal of ${rel}`);
  const terminal = vscode.window.createTerminal({
    name: `${rel} (decrypted)`,
    cwd: vscode.workspace.getWorkspaceFolder(file)?.uri ?? vscode.Uri.file(path.dirname(file.fsPath)),
    env,
    iconPath: new vscode.ThemeIcon('lock'),
    isTransient: true,
  });
  terminal.show();
  d.log.info(`terminal opened with the ${Object.keys(env).length} variables of ${rel}`);
  return terminal;
}
