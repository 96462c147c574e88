/**
 * The commands bundle (dist/extension-engine.js): the decrypted view, the commands and the git
 * commands, with the envelope, the file formats and the operations they need. The entry bundle
 * requires it on first use (a command, a decrypted view), so that activation parses none of it.
 */
import vscode = require('vscode');
import { KmsKeyProvider } from '../core/kms/aws-kms';
import { DataKeyCache } from '../core/kms/cache';
import { listProfiles } from '../core/kms/profiles';
import { WorkerTransport } from '../core/kms/worker-transport';
import { createCommands, Deps } from './commands';
import { DecryptedFs } from './decrypted-fs';
import { EnvValues } from './env-values';
import { createGitCommands } from './git/commands';
import { withProgress } from './progress';
import type { EnvTaskDefinition } from './tasks/definition';
import { TaskProcess } from './tasks/task-process';
import { newTerminalWithEnv } from './terminals/new-terminal';
import { reported } from './ui';

/**
 * The KMS provider's classes, for Keys (the entry bundle): here, since they hold no SDK. Their
 * requests go to the KMS worker thread; the in-thread transport they would use by default is
 * never made in the extension, and would load dist/kms-runtime.js if it were (scripts/build.mjs).
 */
export const kms = { KmsKeyProvider, DataKeyCache, WorkerTransport, listProfiles };
export type KmsParts = typeof kms;

export type EngineDeps = Omit<Deps, 'view' | 'globalStorage'> & { readonly context: vscode.ExtensionContext };

export interface Engine {
  readonly view: DecryptedFs;
  readonly handlers: Record<string, (...args: unknown[]) => Promise<void>>;
  readonly head: vscode.TextDocumentContentProvider;
  /** Decrypted env-file values for debug sessions, tasks and terminals. */
  readonly values: EnvValues;
  readonly taskProcess: (def: EnvTaskDefinition, name: string, folder: string | undefined) => TaskProcess;
  readonly disposables: vscode.Disposable[];
}

export function createEngine(d: EngineDeps): Engine {
  const view = new DecryptedFs(() => d.keys.service(), withProgress, d.log);
  const commands = createCommands({ ...d, view, globalStorage: d.context.globalStorageUri });
  const git = createGitCommands({ context: d.context, keys: d.keys, view, log: d.log });
  const values = new EnvValues(d.keys, d.log);
  const newTerminal = reported(d.log, 'New Terminal with .env', async (arg?: unknown) => void (await newTerminalWithEnv(arg, { files: d.encrypted, values, log: d.log })), d.refreshStatus);
  return {
    view,
    handlers: { ...commands.handlers, ...git.handlers, 'kmsEnvelope.newTerminal': newTerminal },
    head: git.head,
    values,
    taskProcess: (def, name, folder) => new TaskProcess(def, name, folder, values),
    disposables: [view, ...commands.disposables],
  };
}
