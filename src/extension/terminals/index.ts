/**
 * Terminals, the part registered at activation: the opt-in setting `kmsEnvelope.terminal.envFile`
 * puts an encrypted `.env`'s values into every new integrated terminal of the workspace, through
 * the extension's EnvironmentVariableCollection with `persistent = false` (VS Code would
 * otherwise store the collection, values included, on disk to restore it). Only in a trusted
 * workspace; Lock clears it until the setting changes or the window reloads. The command
 * *New Terminal with .env…* is in new-terminal.ts (commands bundle).
 */
import { promises as fs } from 'node:fs';
import path = require('node:path');
import vscode = require('vscode');
import type { EnvValues } from '../env-values';
import type { Keys } from '../keys';
import { SECTION } from '../settings';
import { reportError } from '../ui';

export const TERMINAL_ENV_SETTING = 'terminal.envFile';

export interface TerminalDeps {
  readonly context: vscode.ExtensionContext;
  readonly log: vscode.LogOutputChannel;
  readonly keys: Keys;
  readonly values: () => EnvValues;
}

const within = (file: string, folder: string): boolean => file === folder || file.startsWith(folder + path.sep);

/**
 * The file the setting names, as an absolute path, or undefined when off. A value from the
 * workspace's settings (a committer's choice) must name a file inside a workspace folder, after
 * symlinks: it may not pull another project's secrets into this one's terminals.
 */
async function chosenFile(log: vscode.LogOutputChannel): Promise<string | undefined> {
  const setting = vscode.workspace.getConfiguration(SECTION).inspect<string>(TERMINAL_ENV_SETTING);
  const fromWorkspace = (setting?.workspaceFolderValue ?? setting?.workspaceValue)?.trim();
  const value = fromWorkspace || setting?.globalValue?.trim();
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
  if (!value || !vscode.workspace.isTrusted || (folders.length === 0 && !path.isAbsolute(value))) return undefined;
  const file = path.resolve(folders[0] ?? '/', value);
  if (fromWorkspace) {
    const real = await fs.realpath(file).catch(() => file);
    const roots = await Promise.all(folders.map((f) => fs.realpath(f).catch(() => f)));
    if (!roots.some((r) => within(real, r))) {
      log.warn(`${SECTION}.${TERMINAL_ENV_SETTING} from the workspace settings names ${value}, outside the workspace: ignored`);
      return undefined;
    }
  }
  return file;
}

export interface TerminalFeatures {
  readonly disposables: vscode.Disposable[];
  /** The names new terminals get from the setting's file now (for the test suites). */
  readonly names: () => string[];
}

export function registerTerminals(d: TerminalDeps): TerminalFeatures {
  const collection = d.context.environmentVariableCollection;
  collection.persistent = false;
  let generation = 0;
  let filled = false;
  const clear = (): void => {
    generation++;
    filled = false;
    collection.clear();
  };
  const apply = async (): Promise<void> => {
    clear();
    const mine = generation;
    const file = await chosenFile(d.log);
    if (!file) return;
    const rel = vscode.workspace.asRelativePath(file);
    try {
      const env = await d.values().values([file], 'new terminals');
      if (mine !== generation) return; // locked or changed meanwhile
      for (const [name, value] of Object.entries(env)) collection.replace(name, value);
      collection.description = `The values of ${rel} (KMS Envelope; Lock clears them)`;
      filled = true;
      d.log.info(`new terminals get the ${Object.keys(env).length} variables of ${rel}`);
    } catch (err) {
      await reportError(err, d.log, `Putting the values of ${rel} into new terminals`, apply);
    }
  };
  void apply(); // clears what an earlier session left; reads the setting, and loads nothing when it is off
  const disposables = [
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration(`${SECTION}.${TERMINAL_ENV_SETTING}`) && void apply()),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void apply()),
    d.keys.onDidLock(() => {
      if (filled) d.log.info('locked: new terminals no longer get decrypted values');
      clear();
    }),
    { dispose: clear },
  ];
  const names = (): string[] => {
    const found: string[] = [];
    collection.forEach((name) => found.push(name));
    return found;
  };
  return { disposables, names };
}

