/**
 * Running git (Debian's, or the path the editor's git extension uses) without a shell: every
 * argument is passed as is, so a file name can never become a command.
 */
import { execFile } from 'node:child_process';
import { KmsEnvelopeError } from '../errors';

export interface GitOptions {
  readonly cwd: string;
  /** The git executable (default: `git` on PATH). */
  readonly git?: string;
}

/** git's output as bytes; a failure is a USAGE error carrying git's own message. */
export function gitBytes(args: readonly string[], opts: GitOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Stryker disable next-line StringLiteral: equivalent — execFile gives Buffers for any encoding it does not know, '' included
    execFile(opts.git ?? 'git', args, { cwd: opts.cwd, encoding: 'buffer', maxBuffer: 512 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return reject(new KmsEnvelopeError('USAGE', 'git is not installed (or not on PATH)'));
      reject(new GitError(args, stderr.toString('utf8').trim() || err.message, typeof code === 'number' ? code : 1));
    });
  });
}

export class GitError extends KmsEnvelopeError {
  constructor(
    args: readonly string[],
    readonly detail: string,
    readonly exitCode: number,
  ) {
    super('USAGE', `git ${args[0]} failed: ${detail.split('\n')[0]}`);
  }
}

export const git = async (args: readonly string[], opts: GitOptions): Promise<string> => (await gitBytes(args, opts)).toString('utf8');

/** NUL-separated output (`-z`) as a list. */
export const gitList = async (args: readonly string[], opts: GitOptions): Promise<string[]> => (await git(args, opts)).split('\0').filter(Boolean);

/** The repository's top folder, or a clear error outside a repository. */
export async function repoRoot(opts: GitOptions): Promise<string> {
  try {
    return (await git(['rev-parse', '--show-toplevel'], opts)).trim();
  } catch (err) {
    if (err instanceof GitError) throw new KmsEnvelopeError('USAGE', `${opts.cwd} is not in a git repository`);
    throw err;
  }
}
