/**
 * `kms-envelope git setup`: makes git show, merge and guard encrypted files in one repository,
 * idempotently, and `--undo` removes exactly what it added.
 *
 * - `.gitattributes`: a marked block giving `diff=kms-envelope merge=kms-envelope -text` to the
 *   decrypt-on-open patterns and to every file already encrypted (`-text`: git must never
 *   convert line endings, which the MAC covers). Files whose header is a sidecar are left out:
 *   git hands a driver one file, without its sidecar.
 * - Repository-local git config: the textconv (`diff.kms-envelope.textconv`) and the merge
 *   driver. Never `cachetextconv`, which would store plaintext in git's notes; setup removes it
 *   if someone set it.
 * - A pre-commit hook running `kms-envelope check --staged`, silent when the check passes. An
 *   existing hook is kept and run first: it is renamed `pre-commit.before-kms-envelope`, and undo
 *   puts it back.
 * - git runs all three through a small launcher in the git folder (`.git/kms-envelope-run`), so
 *   that a kms-envelope uninstalled or moved is one line with the remedy instead of a Node stack
 *   trace: a diff then shows the file as it is, a merge keeps ours, and a commit is refused.
 */
import { promises as fs } from 'node:fs';
import path = require('node:path');
import { Classifier } from '../classify';
import { matchesAny } from '../glob';
import { storeOf } from '../header';
import { atomicWrite, readEnds } from '../io';
import { SOPS_TAIL_BYTES, sopsStoreOfText } from '../sops/detect';
import { missingGuard, SECRET_PATTERNS, shellQuote } from './patterns';

export { missingGuard, shellQuote };
import { git, GitError, gitList, GitOptions, repoRoot } from './git';
import { succeeds } from '../succeeds';

export const DRIVER = 'kms-envelope';
const BEGIN = '# kms-envelope: begin (added by `kms-envelope git setup`; `kms-envelope git setup --undo` removes it)';
const CREATED = '# kms-envelope: this file was created by `kms-envelope git setup`';
const END = '# kms-envelope: end';
const HOOK_MARK = '# kms-envelope pre-commit hook';
const LAUNCHER = 'kms-envelope-run';
const CHAINED = 'pre-commit.before-kms-envelope';

export interface SetupOptions extends GitOptions {
  /** How git runs kms-envelope: shell words, already quoted (see `shellQuote`). */
  readonly command: string;
}


/** A path as a gitattributes pattern: anchored at the top, C-quoted when it holds a blank or quote. */
const attributePattern = (rel: string): string => {
  const p = `/${rel}`;
  return /[\s"\\]/.test(p) ? `"${p.replace(/[\\"]/g, '\\$&').replace(/\t/g, '\\t').replace(/\n/g, '\\n')}"` : p.replace(/([*?[])/g, '\\$1');
};

const ATTRIBUTES = `diff=${DRIVER} merge=${DRIVER} -text`;

/** Tracked and unignored files that carry an inline kms-envelope header, beyond the patterns (read a few at a time). */
async function encryptedFiles(root: string, opts: GitOptions): Promise<string[]> {
  const listed = await gitList(['ls-files', '-co', '--exclude-standard', '-z'], { ...opts, cwd: root });
  const files = [...new Set(listed)].filter((f) => !matchesAny(SECRET_PATTERNS, f));
  // an inline header, or SOPS metadata at the end: both take the driver
  const inline = new Classifier<string>({
    sniff: async (f) => {
      if (!(await fs.lstat(f)).isFile()) return null;
      const { head, tail } = await readEnds(f, 400, SOPS_TAIL_BYTES);
      return storeOf(head) ?? (sopsStoreOfText(tail, f) ? 'sops' : null);
    },
  });
  const stores = await Promise.all(files.map((f) => inline.classify(path.join(root, f))));
  return files.filter((_, i) => stores[i]);
}

const hooksDir = async (root: string, opts: GitOptions): Promise<string> => path.resolve(root, (await git(['rev-parse', '--git-path', 'hooks'], { ...opts, cwd: root })).trim());
const launcherPath = async (root: string, opts: GitOptions): Promise<string> => path.resolve(root, (await git(['rev-parse', '--git-path', LAUNCHER], { ...opts, cwd: root })).trim());

const hookScript = (launcher: string): string => `#!/bin/sh
${HOOK_MARK}: refuses to commit a secret in clear or a broken encrypted file.
# Added by \`kms-envelope git setup\`; \`kms-envelope git setup --undo\` removes it and puts back
# the hook it runs first. Skip it once with \`git commit --no-verify\`.
chained="$(dirname "$0")/${CHAINED}"
if [ -x "$chained" ]; then "$chained" "$@" || exit $?; fi
exec ${shellQuote(launcher)} --quiet check --staged
`;

/** The words of a command made of shellQuote'd words (plain, or single-quoted with '\\'' for a quote). */
export function shellWords(command: string): string[] {
  // Stryker disable next-line Regex: equivalent — a run of plain characters, or one at a time, matches the same words
  return [...command.matchAll(/(?:[^\s']+|'[^']*')+/g)].map((m) => m[0].replace(/'([^']*)'/g, '$1'));
}

const launcherScript = (command: string): string => `#!/bin/sh
# How git runs kms-envelope in this repository (its textconv, merge driver and pre-commit hook).
# Written by \`kms-envelope git setup\`; \`kms-envelope git setup --undo\` removes it.
${missingGuard(shellWords(command).filter((w) => w.startsWith('/')))}exec ${command} "$@"
`;

const readOr = (file: string): Promise<string | undefined> => fs.readFile(file, 'utf8').catch(() => undefined);

/** A repository's `.gitattributes`: its path, its text (undefined when absent), the text without our block, and whether setup created the file. */
async function attributesOf(root: string): Promise<{ file: string; text?: string; rest: string; created: boolean }> {
  const file = path.join(root, '.gitattributes');
  const text = await readOr(file);
  return { file, text, ...withoutBlock(text ?? '') };
}

function withoutBlock(text: string): { rest: string; created: boolean } {
  const start = text.indexOf(`${BEGIN}\n`);
  if (start === -1) return { rest: text, created: false };
  const endAt = text.indexOf(`${END}\n`, start);
  const end = endAt === -1 ? text.length : endAt + END.length + 1;
  // Stryker disable next-line MethodExpression: equivalent unless our CREATED line also stands outside our block, which only a hand edit does
  const block = text.slice(start, end);
  return { rest: text.slice(0, start) + text.slice(end), created: block.includes(`${CREATED}\n`) };
}

const setConfig = async (key: string, value: string, opts: GitOptions): Promise<boolean> => {
  const current = await git(['config', '--local', '--get', key], opts).catch(() => undefined);
  if (current === `${value}\n`) return false;
  await git(['config', '--local', key, value], opts);
  return true;
};

/** Configures the repository at `opts.cwd`; returns what it did, one line each. */
export async function setupGit(opts: SetupOptions): Promise<string[]> {
  const root = await repoRoot(opts);
  const g: GitOptions = { cwd: root, git: opts.git };
  const done: string[] = [];

  const { file: attributesFile, text: before, rest, created } = await attributesOf(root);
  const extra = await encryptedFiles(root, g);
  const lines = [BEGIN, ...(before === undefined || created ? [CREATED] : []), ...SECRET_PATTERNS.map((p) => `${p} ${ATTRIBUTES}`), ...extra.map((f) => `${attributePattern(f)} ${ATTRIBUTES}`), END];
  const sep = rest === '' || rest.endsWith('\n') ? '' : '\n';
  const next = `${rest}${sep}${lines.join('\n')}\n`;
  if (next !== before) {
    await atomicWrite(attributesFile, next);
    done.push(`${before === undefined ? 'created' : 'updated'} .gitattributes: ${SECRET_PATTERNS.join(', ')}${extra.length ? ` and ${extra.length} encrypted file${extra.length > 1 ? 's' : ''}` : ''} use the kms-envelope diff and merge drivers, without line-ending conversion (commit it, so that everyone's git uses them)`);
  }

  const launcher = await launcherPath(root, g);
  const launcherText = launcherScript(opts.command);
  const launcherChanged = (await readOr(launcher)) !== launcherText;
  if (launcherChanged) await atomicWrite(launcher, launcherText, { mode: 0o755 });
  const run = shellQuote(launcher);
  const configured =
    [
      await setConfig(`diff.${DRIVER}.textconv`, `${run} textconv`, g),
      await setConfig(`merge.${DRIVER}.name`, 'kms-envelope: merges encrypted .env files variable by variable', g),
      await setConfig(`merge.${DRIVER}.driver`, `${run} merge --marker-size %L %O %A %B %P`, g),
    ].some(Boolean) || launcherChanged;
  if (await succeeds(git(['config', '--local', '--get', `diff.${DRIVER}.cachetextconv`], g))) {
    await git(['config', '--local', '--unset-all', `diff.${DRIVER}.cachetextconv`], g);
    done.push(`removed diff.${DRIVER}.cachetextconv: git would keep the decrypted text in its notes`);
  }
  if (configured) done.push(`set git config (this repository only): git diff, log -p and show decrypt through \`${opts.command} textconv\`; merges use \`${opts.command} merge\``);

  const hooks = await hooksDir(root, g);
  await fs.mkdir(hooks, { recursive: true });
  const hook = path.join(hooks, 'pre-commit');
  const existing = await readOr(hook);
  const script = hookScript(launcher);
  if (existing !== script) {
    const ours = existing?.includes(HOOK_MARK);
    if (existing !== undefined && !ours) {
      if ((await readOr(path.join(hooks, CHAINED))) !== undefined) throw new GitError(['setup'], `${path.join(hooks, CHAINED)} exists already; move it away first`, 1);
      await fs.rename(hook, path.join(hooks, CHAINED));
    }
    // whole or not at all: a hook cut short by a crash would break every commit
    await atomicWrite(hook, script, { mode: 0o755 });
    done.push(`${ours ? 'updated' : 'installed'} the pre-commit hook (${path.relative(root, hook)}): \`kms-envelope check --staged\` refuses plaintext secrets${existing !== undefined && !ours ? `; your hook runs first, as ${CHAINED}` : ''}`);
  }
  return done;
}

/** Removes what `setupGit` added; returns what it did. */
export async function undoGitSetup(opts: GitOptions): Promise<string[]> {
  const root = await repoRoot(opts);
  const g: GitOptions = { cwd: root, git: opts.git };
  const done: string[] = [];

  const { file: attributesFile, text: before, rest, created } = await attributesOf(root);
  if (before !== undefined && rest !== before) {
    const remove = created && rest.trim() === '';
    if (remove) await fs.unlink(attributesFile);
    else await atomicWrite(attributesFile, rest);
    done.push(remove ? 'removed .gitattributes (setup had created it)' : 'removed the kms-envelope block from .gitattributes');
  }
  for (const section of [`diff.${DRIVER}`, `merge.${DRIVER}`]) {
    if (await succeeds(git(['config', '--local', '--remove-section', section], g))) done.push(`removed git config section ${section}`);
  }
  const launcher = await launcherPath(root, g);
  if (await succeeds(fs.unlink(launcher))) done.push(`removed ${path.relative(root, launcher)}`);
  const hooks = await hooksDir(root, g);
  const hook = path.join(hooks, 'pre-commit');
  if ((await readOr(hook))?.includes(HOOK_MARK)) {
    await fs.unlink(hook);
    const chained = path.join(hooks, CHAINED);
    if ((await readOr(chained)) !== undefined) {
      await fs.rename(chained, hook);
      done.push('removed the pre-commit hook and put back the one it ran first');
    } else done.push('removed the pre-commit hook');
  }
  return done;
}
