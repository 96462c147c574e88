import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GitError } from '../../src/core/git/git';
import { missingGuard, setupGit, shellWords, undoGitSetup } from '../../src/core/git/setup';
import { gitIn } from '../support/git';

const COMMAND = "node '/opt/kms envelope/cli.js'";
const BEGIN = '# kms-envelope: begin (added by `kms-envelope git setup`; `kms-envelope git setup --undo` removes it)';
const CREATED = '# kms-envelope: this file was created by `kms-envelope git setup`';
const END = '# kms-envelope: end';
const ATTRS = 'diff=kms-envelope merge=kms-envelope -text';
const HOOK = `#!/bin/sh
# kms-envelope pre-commit hook: refuses to commit a secret in clear or a broken encrypted file.
# Added by \`kms-envelope git setup\`; \`kms-envelope git setup --undo\` removes it and puts back
# the hook it runs first. Skip it once with \`git commit --no-verify\`.
chained="$(dirname "$0")/pre-commit.before-kms-envelope"
if [ -x "$chained" ]; then "$chained" "$@" || exit $?; fi
exec LAUNCHER --quiet check --staged
`;
const WHOLE = '# kms-envelope v1 file\n# -> aws-kms x\n';
const CONFIGURED = `set git config (this repository only): git diff, log -p and show decrypt through \`${COMMAND} textconv\`; merges use \`${COMMAND} merge\``;
const HOOK_INSTALLED = 'installed the pre-commit hook (.git/hooks/pre-commit): `kms-envelope check --staged` refuses plaintext secrets';
const attributesDone = (verb: string, extra = '') =>
  `${verb} .gitattributes: .env, .env.*, *.env${extra} use the kms-envelope diff and merge drivers, without line-ending conversion (commit it, so that everyone's git uses them)`;

/**
 * `kms-envelope git setup` and `--undo` in process, on a real repository: exactly what each
 * writes (attributes, local config, the hook), what it says, and that undo takes back only that.
 */
describe('git setup and undo (git/setup.ts)', () => {
  let repo: string;
  const at = (f: string) => path.join(repo, f);
  const gitc = (...args: string[]) => gitIn(repo, ...args);
  const config = (key: string) => {
    try {
      return gitc('config', '--local', '--get', key).replace(/\n$/, '');
    } catch {
      return undefined;
    }
  };
  const exists = (f: string) => fs.stat(at(f)).then(() => true, () => false);
  beforeEach(async () => {
    repo = await fs.realpath(await fs.mkdtemp(path.join(tmpdir(), 'kms-envelope-setup-')));
    gitc('init', '-q');
  });
  afterEach(() => fs.rm(repo, { recursive: true, force: true }));

  it('sets up a fresh repository: attributes for the patterns and every file encrypted inline (quoted as gitattributes wants), local config, the hook', async () => {
    await fs.mkdir(at('certs'));
    await fs.writeFile(at('certs/my cert.pem'), WHOLE);
    await fs.writeFile(at('a[1]*.bin'), WHOLE);
    await fs.writeFile(at('q"uote.bin'), WHOLE);
    await fs.writeFile(at('plain.txt'), 'nothing here\n');
    await fs.writeFile(at('.env'), WHOLE); // named by the patterns already
    await fs.symlink(at('q"uote.bin'), at('link.bin')); // not a file of its own
    await fs.writeFile(at('.gitignore'), 'ignored.bin\n');
    await fs.writeFile(at('ignored.bin'), WHOLE);

    const done = await setupGit({ cwd: repo, command: COMMAND });
    assert.deepEqual(done, [attributesDone('created', ' and 3 encrypted files'), CONFIGURED, HOOK_INSTALLED]);
    assert.equal(
      await fs.readFile(at('.gitattributes'), 'utf8'),
      [BEGIN, CREATED, `.env ${ATTRS}`, `.env.* ${ATTRS}`, `*.env ${ATTRS}`, `/a\\[1]\\*.bin ${ATTRS}`, `"/certs/my cert.pem" ${ATTRS}`, `"/q\\"uote.bin" ${ATTRS}`, END, ''].join('\n'),
    );
    const launcher = at('.git/kms-envelope-run');
    assert.equal(config('diff.kms-envelope.textconv'), `${launcher} textconv`);
    assert.equal(config('merge.kms-envelope.name'), 'kms-envelope: merges encrypted .env files variable by variable');
    assert.equal(config('merge.kms-envelope.driver'), `${launcher} merge --marker-size %L %O %A %B %P`);
    assert.equal(await fs.readFile(at('.git/hooks/pre-commit'), 'utf8'), HOOK.replace('LAUNCHER', launcher));
    assert.match(await fs.readFile(launcher, 'utf8'), /^#!\/bin\/sh\n[\s\S]*for f in '\/opt\/kms envelope\/cli\.js'; do\n[\s\S]*\nexec node '\/opt\/kms envelope\/cli\.js' "\$@"\n$/);
    assert.equal((await fs.stat(launcher)).mode & 0o777, 0o755);
    assert.equal((await fs.stat(at('.git/hooks/pre-commit'))).mode & 0o777, 0o755);
    // git reads the quoted patterns as the files they name
    assert.match(gitc('check-attr', 'diff', '--', 'certs/my cert.pem', 'a[1]*.bin', 'q"uote.bin', 'plain.txt'), /my cert\.pem: diff: kms-envelope\n.*a\[1\]\*\.bin: diff: kms-envelope\n.*uote\.bin.*: diff: kms-envelope\nplain\.txt: diff: unspecified\n/);

    const inode = (await fs.stat(launcher)).ino;
    assert.deepEqual(await setupGit({ cwd: repo, command: COMMAND }), [], 'a second run changes nothing');
    assert.equal((await fs.stat(launcher)).ino, inode, 'nor writes the launcher again');
  });

  it('one encrypted file is named in the singular; no encrypted file, not at all', async () => {
    await fs.writeFile(at('one.bin'), WHOLE);
    assert.equal((await setupGit({ cwd: repo, command: COMMAND }))[0], attributesDone('created', ' and 1 encrypted file'));
    await fs.rm(at('one.bin'));
    assert.equal((await setupGit({ cwd: repo, command: COMMAND }))[0], attributesDone('updated'));
  });

  it('keeps what the user wrote: its attributes (even without a final line break), its hook, run first', async () => {
    await fs.writeFile(at('.gitattributes'), '*.png binary');
    await fs.mkdir(at('.git/hooks'), { recursive: true });
    await fs.writeFile(at('.git/hooks/pre-commit'), '#!/bin/sh\necho mine\n', { mode: 0o755 });
    const done = await setupGit({ cwd: repo, command: COMMAND });
    assert.deepEqual(done, [attributesDone('updated'), CONFIGURED, `${HOOK_INSTALLED}; your hook runs first, as pre-commit.before-kms-envelope`]);
    assert.equal(await fs.readFile(at('.gitattributes'), 'utf8'), ['*.png binary', BEGIN, `.env ${ATTRS}`, `.env.* ${ATTRS}`, `*.env ${ATTRS}`, END, ''].join('\n'));
    assert.equal(await fs.readFile(at('.git/hooks/pre-commit.before-kms-envelope'), 'utf8'), '#!/bin/sh\necho mine\n');

    // a new command changes the launcher only: the hook runs the launcher, and is not chained again
    assert.deepEqual(await setupGit({ cwd: repo, command: 'kms-envelope' }), [
      `set git config (this repository only): git diff, log -p and show decrypt through \`kms-envelope textconv\`; merges use \`kms-envelope merge\``,
    ]);
    assert.match(await fs.readFile(at('.git/kms-envelope-run'), 'utf8'), /\nexec kms-envelope "\$@"\n$/);

    assert.deepEqual(await undoGitSetup({ cwd: repo }), ['removed the kms-envelope block from .gitattributes', 'removed git config section diff.kms-envelope', 'removed git config section merge.kms-envelope', 'removed .git/kms-envelope-run', 'removed the pre-commit hook and put back the one it ran first']);
    assert.equal(await exists('.git/kms-envelope-run'), false);
    assert.equal(await fs.readFile(at('.gitattributes'), 'utf8'), '*.png binary\n');
    assert.equal(await fs.readFile(at('.git/hooks/pre-commit'), 'utf8'), '#!/bin/sh\necho mine\n');
    assert.equal(await exists('.git/hooks/pre-commit.before-kms-envelope'), false);
    assert.equal(config('diff.kms-envelope.textconv'), undefined);
    assert.deepEqual(await undoGitSetup({ cwd: repo }), [], 'nothing left to undo');
  });

  it('a file whose name holds a tab or a line break is named in C quotes, which git reads back as that file', async () => {
    await fs.writeFile(at('tab\there.bin'), WHOLE);
    await fs.writeFile(at('line\nbreak.bin'), WHOLE);
    await setupGit({ cwd: repo, command: COMMAND });
    const lines = (await fs.readFile(at('.gitattributes'), 'utf8')).split('\n');
    assert.ok(lines.includes(`"/line\\nbreak.bin" ${ATTRS}`) && lines.includes(`"/tab\\there.bin" ${ATTRS}`), lines.join('\n'));
    assert.equal(gitc('check-attr', '-z', 'diff', '--', 'tab\there.bin', 'line\nbreak.bin'), 'tab\there.bin\0diff\0kms-envelope\0line\nbreak.bin\0diff\0kms-envelope\0');
  });

  it('a block whose end line was deleted is replaced to the end of the file, not left half', async () => {
    await fs.writeFile(at('.gitattributes'), `*.png binary\n${BEGIN}\n.env diff=old\n`);
    await setupGit({ cwd: repo, command: COMMAND });
    assert.equal(await fs.readFile(at('.gitattributes'), 'utf8'), ['*.png binary', BEGIN, `.env ${ATTRS}`, `.env.* ${ATTRS}`, `*.env ${ATTRS}`, END, ''].join('\n'));
  });

  it('undo where setup never ran changes nothing and says nothing (no .gitattributes appears)', async () => {
    assert.deepEqual(await undoGitSetup({ cwd: repo }), []);
    assert.equal(await exists('.gitattributes'), false);
    await fs.writeFile(at('.gitattributes'), '*.png binary\n');
    assert.deepEqual(await undoGitSetup({ cwd: repo }), []);
    assert.equal(await fs.readFile(at('.gitattributes'), 'utf8'), '*.png binary\n');
  });

  it('undo removes a .gitattributes setup created, and the hook it installed', async () => {
    await setupGit({ cwd: repo, command: COMMAND });
    assert.deepEqual(await undoGitSetup({ cwd: repo }), ['removed .gitattributes (setup had created it)', 'removed git config section diff.kms-envelope', 'removed git config section merge.kms-envelope', 'removed .git/kms-envelope-run', 'removed the pre-commit hook']);
    assert.equal(await exists('.gitattributes'), false);
    assert.equal(await exists('.git/hooks/pre-commit'), false);
    // blank lines the user left around it are not content worth a file
    await setupGit({ cwd: repo, command: COMMAND });
    await fs.appendFile(at('.gitattributes'), '\n \n');
    assert.equal((await undoGitSetup({ cwd: repo }))[0], 'removed .gitattributes (setup had created it)');
    assert.equal(await exists('.gitattributes'), false);
  });

  it('undo keeps a .gitattributes setup created once the user added lines to it', async () => {
    await setupGit({ cwd: repo, command: COMMAND });
    await fs.appendFile(at('.gitattributes'), '*.png binary\n');
    assert.equal((await undoGitSetup({ cwd: repo }))[0], 'removed the kms-envelope block from .gitattributes');
    assert.equal(await fs.readFile(at('.gitattributes'), 'utf8'), '*.png binary\n');
  });

  it('removes cachetextconv (git would keep plaintext in its notes), and says so', async () => {
    await setupGit({ cwd: repo, command: COMMAND });
    gitc('config', 'diff.kms-envelope.cachetextconv', 'true');
    assert.deepEqual(await setupGit({ cwd: repo, command: COMMAND }), ['removed diff.kms-envelope.cachetextconv: git would keep the decrypted text in its notes']);
    assert.equal(config('diff.kms-envelope.cachetextconv'), undefined);
  });

  it('refuses to chain over a hook already chained, and leaves both hooks', async () => {
    await fs.mkdir(at('.git/hooks'), { recursive: true });
    await fs.writeFile(at('.git/hooks/pre-commit'), '#!/bin/sh\necho mine\n');
    await fs.writeFile(at('.git/hooks/pre-commit.before-kms-envelope'), '#!/bin/sh\necho older\n');
    await assert.rejects(setupGit({ cwd: repo, command: COMMAND }), (e: unknown) => e instanceof GitError && e.message === `git setup failed: ${at('.git/hooks/pre-commit.before-kms-envelope')} exists already; move it away first`);
    assert.equal(await fs.readFile(at('.git/hooks/pre-commit'), 'utf8'), '#!/bin/sh\necho mine\n');
    assert.equal(await fs.readFile(at('.git/hooks/pre-commit.before-kms-envelope'), 'utf8'), '#!/bin/sh\necho older\n');
  });

  it('the launcher guards every absolute path of the command, and says the remedy with its backquotes kept', () => {
    assert.deepEqual(shellWords("node '/opt/kms envelope/cli.js' --profile 'a b'c x"), ['node', '/opt/kms envelope/cli.js', '--profile', 'a bc', 'x']);
    assert.equal(missingGuard([]), '');
    const guard = missingGuard(['/usr/bin/node', '/opt/kms envelope/cli.js']);
    assert.match(guard, /^for f in \/usr\/bin\/node '\/opt\/kms envelope\/cli\.js'; do\n/);
    assert.match(guard, /Reinstall it and run \\`kms-envelope git setup\\` again, or take the integration out of this repository with \\`kms-envelope git setup --undo\\`" >&2/);
  });

  it('a hook of ours that an older version wrote (or a hand edited) is updated in place, and said so', async () => {
    await setupGit({ cwd: repo, command: COMMAND });
    const hook = at('.git/hooks/pre-commit');
    const ours = await fs.readFile(hook, 'utf8');
    await fs.writeFile(hook, ours.replace('--quiet check --staged', 'check --staged'));
    assert.deepEqual(await setupGit({ cwd: repo, command: COMMAND }), [HOOK_INSTALLED.replace('installed', 'updated')]);
    assert.equal(await fs.readFile(hook, 'utf8'), ours);
    assert.equal(await exists('.git/hooks/pre-commit.before-kms-envelope'), false, 'not chained to itself');
  });

  it('a git config changed by hand is set again, and said, though the launcher is the same', async () => {
    await setupGit({ cwd: repo, command: COMMAND });
    gitc('config', 'diff.kms-envelope.textconv', 'cat');
    assert.deepEqual(await setupGit({ cwd: repo, command: COMMAND }), [CONFIGURED]);
  });
});
