/**
 * The git integration's commands: `git setup`, and what git and its hook call (`textconv`,
 * `merge`, `check`). Registered on the main program by `registerGitCommands`.
 */
import { realpathSync } from 'node:fs';
import { Command } from 'commander';
import { KmsEnvelopeError, isKmsEnvelopeError } from '../core/errors';
import { checkRepository } from '../core/git/check';
import { mergeEncrypted } from '../core/git/merge-driver';
import { setupGit, shellQuote, undoGitSetup } from '../core/git/setup';
import { textconv } from '../core/git/textconv';
import type { KmsKeyProvider } from '../core/kms/aws-kms';
import { EXIT, exitCodeOf } from './exit-codes';

export interface GitCommandContext {
  readonly provider: () => KmsKeyProvider;
  readonly status: (msg: string) => void;
  readonly io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** How git should start this very CLI, with the global options the user gave on the command line. */
function selfCommand(program: Command): string {
  const words = [process.execPath, realpathSync(process.argv[1])].map(shellQuote);
  for (const [name, flag] of [['profile', '--profile'], ['region', '--region'], ['allowedKeys', '--allowed-keys']] as const) {
    const value = program.getOptionValue(name) as string | undefined;
    if (value && program.getOptionValueSource(name) === 'cli') words.push(flag, shellQuote(value));
  }
  return words.join(' ');
}

export function registerGitCommands(program: Command, ctx: GitCommandContext): void {
  const { status, io } = ctx;

  program
    .command('git')
    .description('git integration: `git setup` configures the repository (decrypted diffs, merges by variable, a pre-commit guard)')
    .command('setup')
    .description('configure this repository: .gitattributes, git config for textconv and merge, a pre-commit hook (idempotent)')
    .option('--undo', 'remove exactly what setup added')
    .option('--command <words>', 'how git should run kms-envelope (default: this node and this CLI, with your --profile/--region/--allowed-keys)')
    .action(async (o: { undo?: boolean; command?: string }) => {
      const cwd = process.cwd();
      const done = o.undo ? await undoGitSetup({ cwd }) : await setupGit({ cwd, command: o.command ?? selfCommand(program) });
      for (const line of done.length ? done : [o.undo ? 'nothing to undo' : 'already set up; nothing changed']) status(line);
    });

  program
    .command('textconv')
    .description('(for git diff) print a file decrypted; without access, as it is, with the reason on stderr')
    .argument('<file>')
    .action(async (file: string) => {
      const { output, note } = await textconv(file, ctx.provider());
      io.stdout.write(output);
      if (note) io.stderr.write(`kms-envelope: diff shows ${file} encrypted: ${note}\n`);
    });

  program
    .command('merge')
    .description('(git merge driver) merge three versions of an encrypted .env variable by variable into <ours>')
    .argument('<base>')
    .argument('<ours>')
    .argument('<theirs>')
    .argument('[path]', 'the path in the repository', '')
    .option('--marker-size <n>', 'conflict marker length', '7')
    .action(async (base: string, ours: string, theirs: string, repoPath: string, o: { markerSize: string }) => {
      const labels = { ours: 'ours', theirs: 'theirs', markerSize: Math.min(Math.max(Number(o.markerSize) || 7, 7), 64) };
      const name = repoPath || ours;
      try {
        const outcome = await mergeEncrypted({ base, ours, theirs, path: name }, ctx.provider(), labels);
        if (outcome.message) io.stderr.write(`kms-envelope: ${outcome.message}\n`);
        if (outcome.conflicts.length) {
          io.stderr.write(`kms-envelope: ${name}: ${outcome.conflicts.join(', ')} changed differently on both sides; open the file decrypted, keep one value between the markers and save, then \`git add\` it\n`);
        }
        process.exitCode = outcome.clean ? EXIT.ok : EXIT.unexpected;
      } catch (err) {
        if (!isKmsEnvelopeError(err)) throw err;
        io.stderr.write(`kms-envelope: cannot merge ${name}, kept ours: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`);
        process.exitCode = exitCodeOf(err.code);
      }
    });

  program
    .command('check')
    .description('refuse plaintext secrets, broken encrypted files and unresolved merges (no key needed; the pre-commit hook runs --staged)')
    .argument('[paths...]', 'files to check (default: every tracked or unignored file)')
    .option('--staged', 'check what is staged for the next commit')
    .option('--pattern <glob>', 'also treat files matching this glob as secrets (repeatable; git config kms-envelope.pattern too)', collect, [])
    .action(async (paths: string[], o: { staged?: boolean; pattern: string[] }) => {
      if (o.staged && paths.length) throw new KmsEnvelopeError('USAGE', '--staged checks the index; give no paths with it');
      const findings = await checkRepository({ cwd: process.cwd(), staged: o.staged, paths, patterns: o.pattern });
      for (const f of findings) io.stderr.write(`kms-envelope: ${f.path}: ${f.problem}\n  ${f.fix}\n`);
      if (findings.length) {
        const files = new Set(findings.map((f) => f.path)).size;
        io.stderr.write(`kms-envelope: check failed: ${files} file${files > 1 ? 's' : ''} to fix${o.staged ? ' before committing (to commit anyway: git commit --no-verify)' : ''}\n`);
        process.exitCode = EXIT.format;
      } else status(`check passed${o.staged ? ' (staged files)' : ''}`);
    });
}
