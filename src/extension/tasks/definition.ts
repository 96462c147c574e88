/**
 * The `kms-envelope` task type (package.json `taskDefinitions`, which gives tasks.json its
 * IntelliSense): a command run with the decrypted values of env files in its environment.
 *
 *     { "type": "kms-envelope", "label": "serve", "command": "npm", "args": ["start"],
 *       "envFile": "${workspaceFolder}/.env" }
 */
import type * as vscode from 'vscode';

export const TASK_TYPE = 'kms-envelope';

export interface EnvTaskDefinition extends vscode.TaskDefinition {
  readonly type: typeof TASK_TYPE;
  /** The program (or, with `shell`, the command line). */
  readonly command: string;
  readonly args?: readonly string[];
  /** One encrypted `.env` or several (later ones win), relative to the workspace folder. */
  readonly envFile: string | readonly string[];
  /** Run through the shell (`/bin/sh -c` or cmd.exe) instead of as a process. */
  readonly shell?: boolean;
  readonly options?: { readonly cwd?: string; readonly env?: Readonly<Record<string, string>> };
  /** Accept env files without a kms-envelope header (their values are then not authenticated). */
  readonly allowPlaintext?: boolean;
}

/** What is wrong with a definition from tasks.json (a committer's file), or undefined. */
export function problemOf(def: vscode.TaskDefinition): string | undefined {
  const files = Array.isArray(def.envFile) ? def.envFile : [def.envFile];
  if (typeof def.command !== 'string' || def.command.length === 0) return 'it needs a "command"';
  if (files.length === 0 || !files.every((f) => typeof f === 'string' && f.length > 0)) return 'it needs an "envFile" (a path, or a list of paths)';
  if (def.args !== undefined && !(Array.isArray(def.args) && def.args.every((a) => typeof a === 'string'))) return '"args" must be a list of strings';
  const env = (def.options as { env?: unknown } | undefined)?.env;
  if (env !== undefined && (typeof env !== 'object' || env === null || !Object.values(env).every((v) => typeof v === 'string'))) return '"options.env" must map names to strings';
  return undefined;
}
