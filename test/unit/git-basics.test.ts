import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KmsEnvelopeError } from '../../src/core/errors';
import { git, gitBytes, GitError, gitList, repoRoot } from '../../src/core/git/git';
import { isSecretPath, isTemplate, SECRET_PATTERNS, shellQuote } from '../../src/core/git/patterns';
import { refusedAs } from '../support/errors';

describe('git basics: secret names, shell words, running git (git/patterns.ts, git/git.ts)', () => {
  it('secret paths are the decrypt-on-open names, less templates (.example, .sample, .template, .dist, in any case)', () => {
    for (const p of ['.env', 'app/.env.production', 'deploy/prod.env', '.env.local']) assert.equal(isSecretPath(p, SECRET_PATTERNS), true, p);
    for (const p of ['.env.example', 'a/.env.SAMPLE', '.env.template', 'x.env.dist', 'README.md', 'env']) assert.equal(isSecretPath(p, SECRET_PATTERNS), false, p);
    for (const p of ['.env.examples', 'example', '.env.example.bak', 'dist']) assert.equal(isTemplate(p), false, p);
    assert.equal(isSecretPath('config.yml', [...SECRET_PATTERNS, '*.yml']), true);
  });

  it('a shell word is left bare only when every character is safe, else single-quoted with quotes escaped', () => {
    const words: [string, string][] = [
      ['/usr/bin/node', '/usr/bin/node'],
      ['a-b_c.d@e%f+g=h:i,j', 'a-b_c.d@e%f+g=h:i,j'],
      ['', "''"],
      ['a b', "'a b'"],
      ['b a', "'b a'"],
      ['a;rm', "'a;rm'"],
      ['$HOME', "'$HOME'"],
      ["it's", "'it'\\''s'"],
      ["'", "''\\'''"],
    ];
    for (const [word, quoted] of words) assert.equal(shellQuote(word), quoted, word);
    // what sh makes of it is the word itself
    for (const [word] of words) assert.equal(execFileSync('sh', ['-c', `printf %s ${shellQuote(word)}`]).toString(), word, word);
  });

  describe('running git', () => {
    let dir: string;
    before(async () => {
      dir = await fs.mkdtemp(path.join(tmpdir(), 'kms-envelope-git-'));
    });
    after(() => fs.rm(dir, { recursive: true, force: true }));

    it('outside a repository, repoRoot says so; inside, it is the top folder', async () => {
      await assert.rejects(repoRoot({ cwd: dir }), refusedAs('USAGE', `${dir} is not in a git repository`));
      execFileSync('git', ['init', '-q', dir]);
      await fs.mkdir(path.join(dir, 'sub'));
      assert.equal(await repoRoot({ cwd: path.join(dir, 'sub') }), await fs.realpath(dir));
    });

    it('a failing git command is a GitError with its exit code and git’s first line', async () => {
      const err = await gitBytes(['no-such-command'], { cwd: dir }).then(
        () => assert.fail('git accepted an unknown command'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof GitError && err instanceof KmsEnvelopeError);
      assert.equal(err.code, 'USAGE');
      assert.equal(err.exitCode, 1);
      assert.equal(err.message, "git no-such-command failed: git: 'no-such-command' is not a git command. See 'git --help'.");
      assert.match(err.detail, /^git: 'no-such-command' is not a git command/);
      assert.doesNotMatch(err.detail, /\s$/, 'git\'s message without its line break');
    });

    it('a git that is not there says so', async () => {
      await assert.rejects(gitBytes(['status'], { cwd: dir, git: path.join(dir, 'no-git') }), refusedAs('USAGE', 'git is not installed (or not on PATH)'));
      // not taken for "not in a git repository"
      await assert.rejects(repoRoot({ cwd: dir, git: path.join(dir, 'no-git') }), refusedAs('USAGE', 'git is not installed (or not on PATH)'));
    });

    it('output as bytes, text or a NUL-separated list (empty items dropped)', async () => {
      await fs.writeFile(path.join(dir, 'a b.txt'), 'x');
      await fs.writeFile(path.join(dir, 'c'), 'y');
      assert.deepEqual((await gitList(['ls-files', '-o', '-z'], { cwd: dir })).sort(), ['a b.txt', 'c']);
      assert.equal(await git(['rev-parse', '--is-inside-work-tree'], { cwd: dir }), 'true\n');
      assert.ok((await gitBytes(['rev-parse', '--is-inside-work-tree'], { cwd: dir })).equals(Buffer.from('true\n')));
      assert.deepEqual(await gitList(['ls-files', '-z'], { cwd: dir }), []);
    });

    it('output of any size a secret file has comes back whole (8 MiB)', async () => {
      const big = randomBytes(8 * 1024 * 1024);
      await fs.writeFile(path.join(dir, 'big.bin'), big);
      const id = (await git(['hash-object', '-w', 'big.bin'], { cwd: dir })).trim();
      assert.ok((await gitBytes(['cat-file', 'blob', id], { cwd: dir })).equals(big));
    });
  });
});
