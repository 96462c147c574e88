/**
 * The commands bundle (dist/extension-engine.js): the decrypted view, the commands and the git
 * commands, with the envelope, the file formats and the operations they need. The entry bundle
 * requires it on first use (a command, a decrypted view), so that activation parses none of it.
 */
import * as vscode from 'vscode';
import { createCommands, Deps } from './commands';
import { DecryptedFs } from './decrypted-fs';
import { createGitCommands } from './git/commands';
import { withProgress } from './progress';

export type EngineDeps = Omit<Deps, 'view'> & { readonly context: vscode.ExtensionContext };

export interface Engine {
  readonly view: DecryptedFs;
  readonly handlers: Record<string, (...args: unknown[]) => Promise<void>>;
  readonly head: vscode.TextDocumentContentProvider;
  readonly disposables: vscode.Disposable[];
}

export function createEngine(d: EngineDeps): Engine {
  const view = new DecryptedFs(() => d.keys.service(), withProgress, d.log);
  const commands = createCommands({ ...d, view });
  const git = createGitCommands({ context: d.context, keys: d.keys, view, log: d.log });
  return { view, handlers: { ...commands.handlers, ...git.handlers }, head: git.head, disposables: [view, ...commands.disposables] };
}
