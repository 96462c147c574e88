/**
 * Where the key agent listens: a Unix socket in a folder only this user can open.
 *
 * `$XDG_RUNTIME_DIR/kms-envelope/agent.sock` where the session has a runtime folder (a per-user
 * tmpfs, gone at logout), else `~/.cache/kms-envelope/agent/agent.sock`. The folder is made 0700
 * and checked before every use, by the agent and by its clients alike: a directory of our own,
 * not a symlink, that no one else can enter. A client that finds anything else does not talk to
 * it (a socket someone else planted could hand out data keys of their choosing) and calls KMS.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { KmsEnvelopeError } from '../errors';

export function agentFolder(env: NodeJS.ProcessEnv = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && path.isAbsolute(runtime)) return path.join(runtime, 'kms-envelope');
  return path.join(env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(homedir(), '.cache'), 'kms-envelope', 'agent');
}

export const agentSocket = (env: NodeJS.ProcessEnv = process.env): string => path.join(agentFolder(env), 'agent.sock');

/** Why `dir` is not a private folder of this user (`uid`), or undefined when it is. */
export function notPrivate(dir: string, uid = process.getuid?.()): string | undefined {
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    return 'it does not exist';
  }
  if (!st.isDirectory()) return 'it is not a directory';
  // Stryker disable next-line ConditionalExpression: the uid is known wherever there are Unix sockets (not on Windows)
  if (uid !== undefined && st.uid !== uid) return 'another user owns it';
  if ((st.mode & 0o077) !== 0) return `others can open it (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/** Makes the agent's folder (0700) and checks it; throws when it is not private. */
export function privateAgentFolder(env: NodeJS.ProcessEnv = process.env): string {
  const dir = agentFolder(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const why = notPrivate(dir);
  if (why) throw new KmsEnvelopeError('CONFIG', `the key agent's folder ${dir} is not private: ${why}`, 'Make it a folder of your own with mode 700 (chmod 700), or remove it.');
  return dir;
}

/** The key agent works on Unix sockets; Windows has none that only one user can open by their place. */
// Stryker disable next-line ConditionalExpression: the Windows branch; the suites run on Linux
export const agentSupported = (): boolean => process.platform !== 'win32';
