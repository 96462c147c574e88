/**
 * Which of a file's variables may reach a program's environment. A `.env` in a repository is
 * written by committers; variables that change how programs find and load code are never
 * taken from it unless the user names them, and by default a file does not override what the
 * parent environment already has (dotenv's own rule).
 */

/** Variables that choose which code runs: executables, libraries, interpreter start-up files and flags. */
const LOADER_NAMES = new Set([
  'PATH',
  'NODE_OPTIONS',
  'NODE_PATH',
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'IFS',
  'ZDOTDIR',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PYTHONHOME',
  'PYTHONINSPECT',
  'PERL5LIB',
  'PERL5OPT',
  'PERLLIB',
  'RUBYLIB',
  'RUBYOPT',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'CLASSPATH',
  'GCONV_PATH',
  'HOSTALIASES',
  'LOCPATH',
  'NLSPATH',
  'GIT_EXEC_PATH',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'EDITOR',
  'VISUAL',
  'PAGER',
  'BROWSER',
]);
const LOADER_PREFIXES = ['LD_', 'DYLD_', 'MALLOC_', 'BASH_FUNC_'];

export const changesLoadedCode = (name: string): boolean => LOADER_NAMES.has(name) || LOADER_PREFIXES.some((p) => name.startsWith(p));

export interface EnvPolicy {
  /** Let the file's values replace variables the parent already has. */
  readonly override?: boolean;
  /** Names the user allows from the file although they change loaded code. */
  readonly allow?: readonly string[];
}

export interface Merged {
  readonly env: Record<string, string | undefined>;
  /** Loader variables the file set and the policy left out (names only). */
  readonly blocked: string[];
  /** Variables the file set that the parent already had (kept as the parent's). */
  readonly kept: string[];
}

/** The child's environment: the parent's, plus the file's values the policy lets through. */
export function mergeEnv(parent: NodeJS.ProcessEnv, fromFile: Record<string, string>, policy: EnvPolicy = {}): Merged {
  const env: Record<string, string | undefined> = { ...parent };
  const blocked: string[] = [];
  const kept: string[] = [];
  for (const [name, value] of Object.entries(fromFile)) {
    if (changesLoadedCode(name) && !policy.allow?.includes(name)) blocked.push(name);
    else if (parent[name] !== undefined && !policy.override) kept.push(name);
    else env[name] = value;
  }
  return { env, blocked, kept };
}

/**
 * Sets the file's values in `target` (process.env) under the policy, as dotenv's `config` does:
 * only the variables the merge let through are written.
 */
export function injectEnv(target: NodeJS.ProcessEnv, fromFile: Record<string, string>, policy: EnvPolicy = {}): Merged {
  const merged = mergeEnv(target, fromFile, policy);
  for (const name of Object.keys(fromFile)) {
    const value = merged.env[name];
    if (value !== undefined) target[name] = value;
  }
  return merged;
}
