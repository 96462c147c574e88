import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assemble, joinSealed, sealDotenv } from '../../src/core/envelope';
import { checkRepository, inspect, SECRET_PATTERNS, secretPatterns } from '../../src/core/git/check';
import { GitError } from '../../src/core/git/git';
import { sealFileStream } from '../../src/core/whole-file';
import { seededRandom, testKey } from '../support/fixtures';
import { gitIn } from '../support/git';

const LF = { leader: '#' as const, eol: '\n' as const };
const dotenv = (text: string) => Buffer.from(joinSealed(sealDotenv(text, testKey(), { layout: LF, random: seededRandom('check') })));
const wholeFile = async (plain: Buffer) => {
  const parts: Buffer[] = [];
  for await (const p of sealFileStream([plain], testKey())) parts.push(p);
  return Buffer.concat(parts);
};

/**
 * What the pre-commit guard finds in one file's bytes, without a key (check.ts `inspect`, the
 * pure part of `kms-envelope check`): each problem with its exact wording and fix.
 */
describe('the pre-commit guard, file by file (git/check.ts inspect)', () => {
  const findings = (relPath: string, bytes: Buffer | string, patterns: readonly string[] = SECRET_PATTERNS) => inspect(relPath, Buffer.from(bytes), patterns);
  const one = (path: string, problem: string, fix: string) => [{ path, problem, fix }];
  const RESTORE = 'restore it from version control';

  it('a secret file in clear is refused with the command that encrypts it; a template, or a file no pattern names, passes', async () => {
    for (const p of ['.env', 'app/.env.production', 'deploy/prod.env']) {
      assert.deepEqual(await findings(p, 'A=1\n'), one(p, 'not encrypted', `run \`kms-envelope encrypt ${p}\` (or KMS Envelope: Encrypt File), then stage it again`));
    }
    for (const p of ['.env.example', 'config/.env.sample', 'README.md', 'config.yml']) assert.deepEqual(await findings(p, 'A=1\n'), [], p);
    assert.deepEqual(await findings('config.yml', 'A=1\n', [...SECRET_PATTERNS, '*.yml']), one('config.yml', 'not encrypted', 'run `kms-envelope encrypt config.yml` (or KMS Envelope: Encrypt File), then stage it again'));
  });

  it('encrypted values without a header (it was cut off) are refused; in a file that is not a .env, tokens alone are not', async () => {
    const tokens = dotenv('A=1\n').toString().split('\n').filter((l) => l.startsWith('A=')).join('\n');
    assert.deepEqual(await findings('.env.example', tokens), one('.env.example', 'damaged: holds encrypted values (ENC[kmsenv:…]) but no valid kms-envelope header', 'restore the header or the file from version control (`git checkout -- .env.example`); do not encrypt it again'));
    assert.deepEqual(await findings('notes.txt', tokens), []);
  });

  it('a secret file whose first header line was deleted is damaged, not "not encrypted"; header lines count in any file', async () => {
    const stripped = dotenv('A=1\n').toString().split('\n').slice(1).join('\n');
    assert.deepEqual(await findings('.env', stripped), one('.env', 'damaged: holds encrypted values and header lines but no valid kms-envelope header', 'restore the header or the file from version control (`git checkout -- .env`); do not encrypt it again'));
    const headerOnly = dotenv('A=1\n').toString().split('\n').slice(1, 4).join('\n');
    assert.equal((await findings('notes.txt', headerOnly))[0]?.problem, 'damaged: holds kms-envelope header lines but no valid kms-envelope header');
  });

  it('a well-formed encrypted .env passes; one with a value in clear or broken bytes is refused with the reader’s reason', async () => {
    const good = dotenv('# db\nA=1\nB=two\n');
    assert.deepEqual(await findings('.env', good), []);
    const clear = Buffer.from(good.toString().replace(/^B=.*$/m, 'B=two'));
    const line = clear.toString().split('\n').findIndex((l) => l === 'B=two') + 1;
    assert.deepEqual(await findings('.env', clear), one('.env', `broken encrypted file: entry B (line ${line}) is not encrypted, in an encrypted file`, 'restore it from version control, or fix it in the decrypted view'));
    const notUtf8 = Buffer.concat([good, Buffer.from([0xff, 0x0a])]);
    assert.deepEqual(await findings('.env', notUtf8), one('.env', 'broken encrypted file: .env is not valid UTF-8 text', 'restore it from version control, or fix it in the decrypted view'));
  });

  it('conflict markers left in an encrypted file are refused with their lines (in the file, header included)', async () => {
    const good = dotenv('A=1\nB=2\n').toString();
    const lines = good.split('\n');
    const at = lines.findIndex((l) => l.startsWith('B='));
    const conflicted = [...lines.slice(0, at), '<<<<<<< ours', lines[at], '=======', lines[at], '>>>>>>> theirs', ...lines.slice(at + 1)].join('\n');
    assert.deepEqual(
      await findings('.env', conflicted),
      one('.env', `unresolved merge conflict (markers at line ${at + 1}, ${at + 3}, ${at + 5})`, 'open it decrypted, keep the value you want between the markers, remove the markers and save'),
    );
  });

  it('a whole-file payload passes whole, and is refused cut short or with its armour damaged', async () => {
    const sealed = await wholeFile(randomBytes(100));
    assert.deepEqual(await findings('cert.pem', sealed), []);
    assert.deepEqual(await findings('empty.pem', await wholeFile(Buffer.alloc(0))), [], 'an empty file: a salt and one empty chunk, whole');
    const text = sealed.toString('latin1');
    const headerEnd = text.indexOf('\n', text.indexOf('# mac ')) + 1;
    assert.deepEqual(await findings('cert.pem', Buffer.from(`${text.slice(0, headerEnd)}AAAA\n`, 'latin1')), one('cert.pem', 'encrypted payload truncated', RESTORE));
    const [f] = await findings('cert.pem', Buffer.from(`${text.slice(0, headerEnd)}-AAA\n`, 'latin1'));
    assert.deepEqual(f, { path: 'cert.pem', problem: 'broken encrypted file: payload armour line 1 (not canonical base64 in lines of 64 ending in "\\n"): malformed', fix: 'restore it from version control, or fix it in the decrypted view' });
  });

  it('a sidecar must hold a text-store header: anything else, or a broken one, is refused', async () => {
    const sidecar = assemble('text', testKey(), 'token: x\n', LF, '', 'sidecar').header;
    assert.deepEqual(await findings('app.json.kms-envelope', sidecar), []);
    assert.deepEqual(await findings('app.json.kms-envelope', 'hello\n'), one('app.json.kms-envelope', 'not a kms-envelope sidecar header', RESTORE));
    const dotenvHeader = dotenv('A=1\n').toString().split('\n').filter((l) => l.startsWith('#')).join('\n');
    assert.deepEqual(await findings('app.json.kms-envelope', `${dotenvHeader}\n`), one('app.json.kms-envelope', 'not a kms-envelope sidecar header', RESTORE));
    const [f] = await findings('app.json.kms-envelope', sidecar.replace(/^# -> aws-kms \S+/m, '# -> aws-kms not-an-arn'));
    assert.deepEqual(f, { path: 'app.json.kms-envelope', problem: 'broken sidecar header: header line 2 (key stanza): not a KMS key ARN', fix: RESTORE });
  });

  describe('over a repository (checkRepository)', () => {
    let repo: string;
    const at = (f: string) => path.join(repo, f);
    const gitc = (...args: string[]) => gitIn(repo, ...args);
    const problems = async (opts: Partial<Parameters<typeof checkRepository>[0]> = {}) => (await checkRepository({ cwd: repo, ...opts })).map((f) => `${f.path}: ${f.problem}`);
    beforeEach(async () => {
      repo = await fs.realpath(await fs.mkdtemp(path.join(tmpdir(), 'kms-envelope-check-')));
      gitc('init', '-q', '-b', 'main');
    });
    afterEach(() => fs.rm(repo, { recursive: true, force: true }));

    it('the working tree: tracked and unignored files, not ignored ones; symlinks and folders are not read', async () => {
      await fs.writeFile(at('.env'), 'A=1\n');
      await fs.writeFile(at('.gitignore'), 'ignored.env\n');
      await fs.writeFile(at('ignored.env'), 'A=1\n');
      await fs.writeFile(at('ok.env'), dotenv('A=1\n'));
      await fs.symlink(at('.env'), at('link.env'));
      assert.deepEqual(await problems(), ['.env: not encrypted']);
    });

    it('--staged checks what is staged, not the working file', async () => {
      await fs.writeFile(at('.env'), 'A=1\n');
      gitc('add', '.env');
      await fs.writeFile(at('.env'), dotenv('A=1\n'));
      assert.deepEqual(await problems({ staged: true }), ['.env: not encrypted']);
      assert.deepEqual(await problems(), []);
      gitc('add', '.env');
      assert.deepEqual(await problems({ staged: true }), []);
      gitc('rm', '-q', '--cached', '.env'); // a deletion is nothing to check
      assert.deepEqual(await problems({ staged: true }), []);
    });

    it('--staged reads the index git hands its hooks (GIT_INDEX_FILE: `git commit -a` and `git commit <path>` stage into a temporary one)', async () => {
      await fs.writeFile(at('.env'), 'A=1\n');
      process.env.GIT_INDEX_FILE = at('.git/next-index');
      try {
        gitc('add', '.env');
        assert.deepEqual(await problems({ staged: true }), ['.env: not encrypted']);
      } finally {
        delete process.env.GIT_INDEX_FILE;
      }
      assert.deepEqual(await problems({ staged: true }), [], 'the usual index holds nothing');
    });

    it('patterns: the defaults, the user’s git config (kms-envelope.pattern, repeated), and the caller’s', async () => {
      assert.deepEqual(await secretPatterns({ cwd: repo }), SECRET_PATTERNS);
      gitc('config', '--add', 'kms-envelope.pattern', '*.yml');
      gitc('config', '--add', 'kms-envelope.pattern', '  secrets/*  ');
      gitc('config', '--add', 'kms-envelope.pattern', '   '); // blank: no pattern
      assert.deepEqual(await secretPatterns({ cwd: repo }, ['*.pem']), [...SECRET_PATTERNS, '*.yml', 'secrets/*', '*.pem']);
      await fs.writeFile(at('app.yml'), 'a: 1\n');
      await fs.writeFile(at('key.pem'), 'x\n');
      assert.deepEqual(await problems({ patterns: ['*.pem'] }), ['app.yml: not encrypted', 'key.pem: not encrypted']);
    });

    it('a merge left unresolved is named, once, and its file not read (staged or in the working tree)', async () => {
      // a .env in clear: read, it would be refused as "not encrypted" too
      await fs.writeFile(at('.env'), 'A=base\n');
      gitc('add', '.');
      gitc('commit', '-q', '-m', 'base');
      gitc('checkout', '-q', '-b', 'other');
      await fs.writeFile(at('.env'), 'A=other\n');
      gitc('commit', '-q', '-am', 'other');
      gitc('checkout', '-q', 'main');
      await fs.writeFile(at('.env'), 'A=main\n');
      gitc('commit', '-q', '-am', 'main');
      assert.throws(() => gitc('merge', '-q', 'other'));
      const unresolved = [{ path: '.env', problem: 'merge conflict not resolved', fix: 'resolve it (open it decrypted, pick the values, save), then `git add` it' }];
      assert.deepEqual(await checkRepository({ cwd: repo, staged: true }), unresolved);
      assert.deepEqual(await checkRepository({ cwd: repo }), unresolved);
    });

    it('a git failure reading the patterns is not taken for "none set"', async () => {
      await fs.appendFile(at('.git/config'), '[broken\n');
      await assert.rejects(secretPatterns({ cwd: repo }), (e) => e instanceof GitError && e.exitCode !== 1);
    });

    it('named files are checked even outside a repository, with the default and the caller’s patterns', async () => {
      const outside = await fs.realpath(await fs.mkdtemp(path.join(tmpdir(), 'kms-envelope-check-out-')));
      try {
        await fs.mkdir(path.join(outside, 'sub'));
        await fs.writeFile(path.join(outside, 'sub', '.env'), 'A=1\n');
        await fs.writeFile(path.join(outside, 'a.yml'), 'a: 1\n');
        const findings = await checkRepository({ cwd: outside, paths: ['sub/.env', 'a.yml', 'missing.env'], patterns: ['*.yml'] });
        assert.deepEqual(findings.map((f) => `${f.path}: ${f.problem}`), ['sub/.env: not encrypted', 'a.yml: not encrypted']);
      } finally {
        await fs.rm(outside, { recursive: true, force: true });
      }
    });
  });
});
