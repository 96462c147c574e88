/**
 * A hostile repository, second round (shared/reviews/security-review-2026-12-07.md): each finding's
 * reproduction run through the built CLI against the local KMS, as a user would meet it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { load } from '../../src/api';
import { assemble } from '../../src/core/envelope';
import { parseHeader } from '../../src/core/header';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { openTextFile } from '../../src/core/operations';
import { LOCAL_ACCOUNT_KEYS, Sandbox, startSandbox } from '../support/aws-sandbox';
import { runCli } from '../support/cli';
import { withEnv } from '../support/with-env';

describe('hostile repository, second round: globs, context, rollback, loader variables', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  let cwd: string;
  const cli = (args: string[], env: Record<string, string> = {}, input?: string) =>
    runCli(args, { cwd, env: { ...sb.env, AWS_PROFILE: 'default', KMS_ENVELOPE_KEY: sb.keyArn, ...env }, input });
  /** A team that allows every key of its account (the explicit account form), as the review's F1 repro had by default. */
  const team = { KMS_ENVELOPE_ALLOWED_KEYS: LOCAL_ACCOUNT_KEYS };
  const at = (f: string) => path.join(cwd, f);
  const read = (f: string) => fs.readFile(at(f), 'utf8');
  const write = (f: string, text: string | Buffer) => fs.writeFile(at(f), text);
  const contextOf = async (f: string) => parseHeader(await read(f))!.header.context;

  before(async () => (sb = await startSandbox()));
  after(() => sb.close());
  beforeEach(async () => {
    cwd = await fs.mkdtemp(path.join(sb.dir, 'hostile2-'));
    await fs.mkdir(at('.git'));
    sb.kms.log.length = 0;
  });

  describe('F2: a committed glob cannot make encrypt backtrack', () => {
    it("the review's 49-byte rules path ('**' × 18 + 'Z') is matched at once, and the user's key is used", async () => {
      await write('.kms-envelope.json', JSON.stringify({ rules: [{ path: '**'.repeat(18) + 'Z', keys: ['alias/other'] }] }));
      await write('.env.production', 'A=1\n');
      const r = await cli(['encrypt', '.env.production']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseHeader(await read('.env.production'))!.header.stanzas.map((s) => s.keyArn), [sb.keyArn]);
    });

    it('a rules path past the wildcard limit is refused as a configuration error, before KMS, the file unchanged', async () => {
      await write('.kms-envelope.json', JSON.stringify({ rules: [{ path: '*a'.repeat(40) + 'Z', keys: ['alias/other'] }] }));
      await write('.env', 'A=1\n');
      const r = await cli(['encrypt', '.env']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /more than 32 wildcards/);
      assert.equal(await read('.env'), 'A=1\n');
      assert.equal(sb.kms.log.length, 0);
    });
  });

  describe('F3: the encryption context the user gives is the one the file gets', () => {
    it('a rule that gives another value for a pair of --context is refused, naming both; nothing encrypted, no KMS call', async () => {
      await write('.kms-envelope.json', JSON.stringify({ rules: [{ path: '.env.production', keys: [sb.keyArn], context: { env: 'dev' } }] }));
      await write('.env.production', 'DB_PASSWORD=prod-secret\n');
      const r = await cli(['encrypt', '.env.production', '--context', 'env=production']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /\.kms-envelope\.json sets the encryption context env="dev", but you asked for env="production"/);
      assert.match(r.stderr, /Nothing was encrypted\. Remove the pair from .*\.kms-envelope\.json or change yours; a committed file cannot change the context you give\./);
      assert.equal(await read('.env.production'), 'DB_PASSWORD=prod-secret\n');
      assert.equal(sb.kms.log.length, 0);
    });

    it("a rule's pairs for other names are added to the user's", async () => {
      await write('.kms-envelope.json', JSON.stringify({ rules: [{ path: '.env.production', keys: [sb.keyArn], context: { team: 'web', env: 'production' } }] }));
      await write('.env.production', 'A=1\n');
      const r = await cli(['encrypt', '.env.production', '--context', 'env=production', '--context', 'app=billing']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await contextOf('.env.production'), { app: 'billing', env: 'production', 'kms-envelope': 'v1', team: 'web' });
    });

    it('--context __proto__=x is refused, not dropped; a name given twice is refused', async () => {
      await write('.env', 'A=1\n');
      const proto = await cli(['encrypt', '.env', '--key', sb.keyArn, '--context', '__proto__=x']);
      assert.equal(proto.code, 2, proto.stderr);
      assert.match(proto.stderr, /"__proto__" is not allowed/);
      const twice = await cli(['encrypt', '.env', '--key', sb.keyArn, '--context', 'env=a', '--context', 'env=b']);
      assert.equal(twice.code, 2, twice.stderr);
      assert.match(twice.stderr, /--context names "env" twice/);
      assert.equal(await read('.env'), 'A=1\n');
    });
  });

  describe('F4: variables that run code are not taken from a file, by namespace', () => {
    it("the review's repro: GIT_CONFIG_* from an encrypted .env no longer makes git run a command through run", async () => {
      await fs.rm(at('.git'), { recursive: true });
      execFileSync('git', ['init', '-q', '.'], { cwd });
      await write('.env', 'GIT_CONFIG_COUNT=1\nGIT_CONFIG_KEY_0=core.fsmonitor\nGIT_CONFIG_VALUE_0=echo PWNED > pwned; false\nDB_HOST=db\n');
      assert.equal((await cli(['encrypt', '.env'])).code, 0);
      const r = await cli(['run', '-f', '.env', '--', 'git', 'status', '--short'], { HOME: cwd });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /not taken from the file, as they change what code runs: GIT_CONFIG_COUNT, GIT_CONFIG_KEY_0, GIT_CONFIG_VALUE_0/);
      await assert.rejects(fs.stat(at('pwned')), /ENOENT/);
      const probe = await cli(['run', '-f', '.env', '--', process.execPath, '-e', 'process.stdout.write(String(process.env.DB_HOST) + process.env.GIT_CONFIG_COUNT)']);
      assert.equal(probe.stdout, 'dbundefined');
    });
  });

  describe('F1: a removed key does not come back with a rollback', () => {
    const teamCli = (args: string[], env: Record<string, string> = {}, input?: string) => cli(args, { ...team, ...env }, input);
    const stanzas = async (f: string) => parseHeader(await read(f))!.header.stanzas.map((s) => s.keyArn);
    /** The review's repro up to the rollback: .env for V and R, R removed (rotates), then the older version committed back. */
    const rolledBack = async (): Promise<string> => {
      await write('.env', 'DB_PASSWORD=old-secret\n');
      assert.equal((await teamCli(['encrypt', '.env', '--key', sb.keyArn, '--key', sb.otherKeyArn])).code, 0);
      const v1 = await read('.env');
      const removed = await teamCli(['rewrap', '.env', '--remove-key', sb.otherKeyArn]);
      assert.equal(removed.code, 0, removed.stderr);
      assert.match(removed.stderr, /If someone commits an older version back \(a rollback\), your kms-envelope refuses to write into it until it is rotated again/);
      assert.deepEqual(await stanzas('.env'), [sb.keyArn]);
      await write('.env', v1); // R's holder: git show HEAD~1:.env > .env
      return v1;
    };

    it('set into the rolled-back file is refused (exit 7), naming the retired data key; the file stays byte for byte', async () => {
      const v1 = await rolledBack();
      sb.kms.log.length = 0;
      const r = await teamCli(['set', '.env', 'STRIPE_KEY'], {}, 'new-secret-after-removal');
      assert.equal(r.code, 7, r.stderr);
      assert.match(r.stderr, new RegExp(`\\.env uses a data key you retired on \\d{4}-\\d\\d-\\d\\d when you removed ${sb.otherKeyArn}: it is an older version of the file \\(a rollback`));
      assert.match(r.stderr, /Rotate the file first/);
      assert.equal(await read('.env'), v1);
    });

    it('rewrap --add-key into the rolled-back file is refused too', async () => {
      const v1 = await rolledBack();
      const r = await teamCli(['rewrap', '.env', '--add-key', sb.kms.createKey('a third key')]);
      assert.equal(r.code, 7, r.stderr);
      assert.equal(await read('.env'), v1);
    });

    it('rotate drops the removed key again (same account, allowed by default), and then set works and R reads nothing new', async () => {
      await rolledBack();
      const rotated = await teamCli(['rotate', '.env']);
      assert.equal(rotated.code, 0, rotated.stderr);
      assert.deepEqual(await stanzas('.env'), [sb.keyArn]);
      assert.equal((await teamCli(['set', '.env', 'STRIPE_KEY'], {}, 'new-secret')).code, 0);
      const asR = await teamCli(['get', '.env', 'STRIPE_KEY'], { KMS_ENVELOPE_KEY: sb.otherKeyArn, KMS_ENVELOPE_ALLOWED_KEYS: sb.otherKeyArn });
      assert.notEqual(asR.code, 0);
      assert.equal(asR.stdout, '');
    });

    it('a key outside the allow-list that the header names: set is refused, not re-signed', async () => {
      await write('.env', 'A=1\n');
      assert.equal((await teamCli(['encrypt', '.env', '--key', sb.keyArn, '--key', sb.otherKeyArn])).code, 0);
      const before = await read('.env');
      const r = await teamCli(['set', '.env', 'B'], { KMS_ENVELOPE_ALLOWED_KEYS: sb.keyArn }, 'x');
      assert.equal(r.code, 7, r.stderr);
      assert.match(r.stderr, new RegExp(`\\.env is also wrapped for ${sb.otherKeyArn}, which your allow-list does not accept`));
      assert.equal(await read('.env'), before);
    });

    it('the record lives outside the repository, 0600 in a 0700 folder, and holds no data key', async () => {
      await rolledBack();
      const dir = path.join(sb.env.HOME, '.local', 'state', 'kms-envelope');
      assert.equal((await fs.stat(dir)).mode & 0o777, 0o700);
      assert.equal((await fs.stat(path.join(dir, 'retired.json'))).mode & 0o777, 0o600);
      const record = JSON.parse(await fs.readFile(path.join(dir, 'retired.json'), 'utf8'));
      const entry = record.retired.at(-1);
      assert.deepEqual(Object.keys(entry).sort(), ['at', 'commitment', 'file', 'removed']);
      assert.deepEqual(entry.removed, [sb.otherKeyArn]);
      assert.equal(entry.file, await fs.realpath(at('.env')));
    });

    it('a removed key the user adds back on purpose is a reader again: its removal no longer stands', async () => {
      await rolledBack();
      assert.equal((await teamCli(['rotate', '.env'])).code, 0);
      // the user gives R the file again, on purpose: writes work, and R reads them
      const added = await teamCli(['rewrap', '.env', '--add-key', sb.otherKeyArn]);
      assert.equal(added.code, 0, added.stderr);
      assert.equal((await teamCli(['set', '.env', 'NEW'], {}, 'for-R-too')).code, 0);
      assert.equal((await teamCli(['get', '.env', 'NEW'], { KMS_ENVELOPE_KEY: sb.otherKeyArn, KMS_ENVELOPE_ALLOWED_KEYS: sb.otherKeyArn })).stdout, 'for-R-too\n');
    });

    it('a plain rotation (no key left out) does not stop writes to an older branch: the same keys read both data keys', async () => {
      await write('.env', 'A=1\n');
      assert.equal((await teamCli(['encrypt', '.env'])).code, 0);
      const older = await read('.env');
      assert.equal((await teamCli(['rotate', '.env'])).code, 0);
      await write('.env', older);
      const r = await teamCli(['set', '.env', 'B'], {}, '2');
      assert.equal(r.code, 0, r.stderr);
    });

    it('a plain rotation after a removal retires its data key without naming the key removed before: the version between them, which R never had, stays writable', async () => {
      await write('.env', 'A=1\n');
      assert.equal((await teamCli(['encrypt', '.env', '--key', sb.keyArn, '--key', sb.otherKeyArn])).code, 0);
      assert.equal((await teamCli(['rewrap', '.env', '--remove-key', sb.otherKeyArn])).code, 0);
      const withoutR = await read('.env');
      assert.equal((await teamCli(['rotate', '.env'])).code, 0);
      await write('.env', withoutR); // an older branch, after the removal: the same readers as now
      const r = await teamCli(['set', '.env', 'B'], {}, '2');
      assert.equal(r.code, 0, r.stderr);
      const record = JSON.parse(await fs.readFile(path.join(sb.env.HOME, '.local', 'state', 'kms-envelope', 'retired.json'), 'utf8'));
      assert.deepEqual(record.retired.slice(-2).map((e: { removed: string[] }) => e.removed), [[sb.otherKeyArn], []]);
    });
  
    it('with the default allow-list (the chosen key only, F6), the rolled-back file names R, which is not allowed: set is refused', async () => {
      await rolledBack();
      const r = await cli(['set', '.env', 'STRIPE_KEY'], {}, 'x');
      assert.equal(r.code, 7, r.stderr);
      assert.match(r.stderr, new RegExp(`is also wrapped for ${sb.otherKeyArn}, which your allow-list does not accept`));
    });
  });

  describe('damaged is not plain: a file that lost its header (issue 21, item 4)', () => {
    const stripped = async () => {
      await write('.env', 'DB_PASSWORD=s3cr3t\nAPI=k\n');
      assert.equal((await cli(['encrypt', '.env'])).code, 0);
      const lines = (await read('.env')).split('\n');
      await write('.env', lines.slice(1).join('\n')); // the first header line deleted
      return read('.env');
    };

    it('encrypt refuses to wrap its tokens (exit 3), the file unchanged, no KMS call', async () => {
      const damaged = await stripped();
      sb.kms.log.length = 0;
      const r = await cli(['encrypt', '.env']);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /\.env is damaged: it holds encrypted values and header lines but no valid kms-envelope header/);
      assert.match(r.stderr, /do not encrypt it again/);
      assert.equal(await read('.env'), damaged);
      assert.equal(sb.kms.log.length, 0);
    });

    it('decrypt, get and run say damaged (also with --allow-plaintext), never "encrypt it"', async () => {
      await stripped();
      for (const args of [['decrypt', '.env', '--stdout'], ['get', '.env', 'API'], ['run', '--', 'true'], ['run', '--allow-plaintext', '--', 'true']]) {
        const r = await cli(args);
        assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /is damaged: it holds/, args.join(' '));
        assert.doesNotMatch(r.stderr, /Encrypt it/, args.join(' '));
      }
    });

    it('a whole file whose first header line was deleted: encrypt refuses, decrypt says damaged', async () => {
      await write('blob.bin', 'binary-ish payload\n');
      assert.equal((await cli(['encrypt', 'blob.bin'])).code, 0);
      await write('blob.bin', (await read('blob.bin')).split('\n').slice(1).join('\n'));
      assert.equal((await cli(['encrypt', 'blob.bin'])).code, 3);
      const r = await cli(['decrypt', 'blob.bin', '--stdout']);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /blob\.bin is damaged: it holds kms-envelope header lines/);
    });

    it('a document that shows a token as an example (not a .env) can still be encrypted whole', async () => {
      await write('NOTES.md', 'A value looks like ENC[kmsenv:v1:EBESExQVFhcYGRob9RqfHTJ_znpLxs4RlIWowNU] on disk.\n');
      const r = await cli(['encrypt', 'NOTES.md']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(await read('NOTES.md'), /^# kms-envelope v1 file\n/);
    });

    it('a plain .env with an ordinary comment about a mac or a context is still plain', async () => {
      await write('.env', '# mac address of the printer\n# context: staging\nPRINTER=00:11:22\n');
      assert.equal((await cli(['encrypt', '.env'])).code, 0);
    });
  });

  describe('every file is checked, not only the first (mutation audit M05)', () => {
    it('run -f .env -f .env.local refuses a header-less .env.local (exit 3) and runs nothing; so does the Node API with two paths', async () => {
      await write('.env', 'DB_HOST=db.internal\n');
      assert.equal((await cli(['encrypt', '.env'])).code, 0);
      await write('.env.local', 'DB_HOST=attacker.example.com\n');
      const r = await cli(['run', '-f', '.env', '-f', '.env.local', '--', process.execPath, '-e', 'process.stdout.write(String(process.env.DB_HOST))']);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /\.env\.local has no kms-envelope header: its values are not authenticated/);
      assert.equal(r.stdout, '');
      await withEnv({ ...sb.env, AWS_PROFILE: 'default' }, () =>
        assert.rejects(load({ path: [at('.env'), at('.env.local')], keys: [sb.keyArn] }), /\.env\.local has no kms-envelope header/),
      );
    });
  });

  describe('line endings converted to CRLF are named as such, and still refused (item 10)', () => {
    it('a .env and a whole file whose LF became CRLF: exit 3, the cause and the fix, nothing decrypted', async () => {
      await write('.env', 'A=1\nB="two\nlines"\n');
      await write('w.bin', 'whole\n');
      for (const f of ['.env', 'w.bin']) {
        assert.equal((await cli(['encrypt', f])).code, 0);
        await write(f, (await read(f)).replace(/\n/g, '\r\n'));
        const r = await cli(['decrypt', f, '--stdout']);
        assert.equal(r.code, 3, r.stderr);
        assert.match(r.stderr, /its line endings were converted from LF to CRLF after it was encrypted .*nothing else changed/, f);
        assert.match(r.stderr, /git setup/);
        assert.equal(r.stdout, '');
      }
      // one more change besides the line endings: the ordinary MAC refusal, not the line-ending one
      await write('.env', (await read('.env')).replace('A=', 'Z='));
      const other = await cli(['decrypt', '.env', '--stdout']);
      assert.equal(other.code, 3);
      assert.doesNotMatch(other.stderr, /nothing else changed/);
    });
  });

  describe('the spec and the CLI agree (second implementation, findings 2–4)', () => {
    it('a "#!" line holding U+2028 is not kept above the header: the value after it is encrypted (finding 2)', async () => {
      await write('.env', '#!/bin/sh\u2028A=secret-after-2028\n');
      assert.equal((await cli(['encrypt', '.env'])).code, 0);
      const text = await read('.env');
      assert.ok(!text.includes('secret-after-2028'), 'no value in clear');
      assert.match(text, /^# kms-envelope v1 dotenv\n/);
      assert.equal((await cli(['get', '.env', 'A'])).stdout, 'secret-after-2028\n');
      assert.equal((await cli(['decrypt', '.env', '--stdout'])).stdout, '#!/bin/sh\u2028A=secret-after-2028\n');
    });

    it('blanks holding U+2028 before a value go inside the token, as FORMAT.md says (finding 3)', async () => {
      await write('.env', 'A=\u2028"q"\n');
      assert.equal((await cli(['encrypt', '.env'])).code, 0);
      assert.match(await read('.env'), /\nA=ENC\[kmsenv:v1:[\w-]+\]\n$/);
      assert.equal((await cli(['decrypt', '.env', '--stdout'])).stdout, 'A=\u2028"q"\n');
    });

    it('a writer refuses plaintext holding ENC[kmsenv: anywhere; a reader refuses it outside a value (finding 4)', async () => {
      for (const text of ['# values look like ENC[kmsenv:v1:...]\nA=1\n', 'A=ENC[kmsenv:v9:x]\n', '#!/bin/ENC[kmsenv:v9:x]\nA=1\n']) {
        await write('.env', text);
        const r = await cli(['encrypt', '.env']);
        assert.notEqual(r.code, 0, text);
        assert.equal(await read('.env'), text, 'the file unchanged');
      }
      // a comment holding a valid token, sealed by a key holder's own tool: the reader refuses it
      await write('.env', 'A=1\n');
      assert.equal((await cli(['encrypt', '.env'])).code, 0);
      const token = /ENC\[kmsenv:v1:[\w-]+\]/.exec(await read('.env'))![0];
      await withEnv({ ...sb.env, AWS_PROFILE: 'default' }, async () => {
        const opened = await openTextFile(at('.env'), new KmsKeyProvider({ chosenKeys: [sb.keyArn], profile: 'default' }));
        // the writer's own check: it will not write it
        assert.throws(() => assemble('dotenv', opened.key, `# ${token}\n${opened.doc.body}`, opened.layout), /line 1: "ENC\[kmsenv:" outside a value/);
        // a document written by another tool: the reader refuses it before any value is opened
        const forged = `${opened.doc.prefix}${opened.doc.unsigned}# mac ${'A'.repeat(43)}=\n# ${token}\n${opened.doc.body}`;
        await write('.env', forged);
      });
      const r = await cli(['get', '.env', 'A']);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /"ENC\[kmsenv:" outside a value: kms-envelope reserves it for its tokens/);
    });
  });

  describe('F6: keys nobody chose', () => {
    it('by default a file wrapped only for another key of the account is refused before any KMS call', async () => {
      await write('.env', 'DB_HOST=attacker.example.com\n');
      assert.equal((await cli(['encrypt', '.env', '--key', sb.otherKeyArn])).code, 0);
      sb.kms.log.length = 0;
      const r = await cli(['run', '-f', '.env', '--', process.execPath, '-e', 'process.stdout.write(String(process.env.DB_HOST))']);
      assert.equal(r.code, 7, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(sb.kms.log.length, 0);
    });

    it('with the account allowed on purpose, such a file is read, with a warning that names its keys; a file for the chosen key gets none', async () => {
      await write('.env', 'A=1\n');
      assert.equal((await cli(['encrypt', '.env', '--key', sb.otherKeyArn])).code, 0);
      const r = await cli(['get', '.env', 'A'], team);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`warning: the file is wrapped only for keys you did not choose \\(${sb.otherKeyArn}\\)`));
      await write('mine.env', 'A=1\n');
      assert.equal((await cli(['encrypt', 'mine.env'])).code, 0);
      assert.doesNotMatch((await cli(['get', 'mine.env', 'A'], team)).stderr, /did not choose/);
    });
  });
});
