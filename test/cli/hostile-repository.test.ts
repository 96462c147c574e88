/**
 * A hostile repository (design §7): a committer who can write any file but holds no KMS key.
 * Each case is a reproduction from the security review or the second-implementation report,
 * run through the built CLI (and the Node API) against the local KMS, as a user would meet it.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { config, load } from '../../src/api';
import { assemble, encryptRanges, joinSealed } from '../../src/core/envelope';
import { KmsEnvelopeError } from '../../src/core/errors';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { encryptFile, newFileKey } from '../../src/core/operations';
import { LOCAL_ACCOUNT_KEYS, OTHER_ACCOUNT, Sandbox, startSandbox } from '../support/aws-sandbox';
import { runCli } from '../support/cli';
import { withEnv } from '../support/with-env';

const ENV = '# app\nDB_HOST=db.internal\nDB_PASSWORD=s3cr3t\n';

describe('hostile repository: what a committer without the key cannot make the CLI and the Node API do', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  let cwd: string;
  let attackerKey: string;
  const cli = (args: string[], env: Record<string, string> = {}, input?: string) =>
    runCli(args, { cwd, env: { ...sb.env, AWS_PROFILE: 'default', KMS_ENVELOPE_KEY: sb.keyArn, ...env }, input });
  const at = (f: string) => path.join(cwd, f);
  const read = (f: string) => fs.readFile(at(f), 'utf8');
  const write = (f: string, text: string | Buffer) => fs.writeFile(at(f), text);
  const encrypted = async (f = '.env', text = ENV) => {
    await write(f, text);
    const r = await cli(['encrypt', f]);
    assert.equal(r.code, 0, r.stderr);
    return read(f);
  };
  const probe = 'process.stdout.write(JSON.stringify({h: process.env.DB_HOST, p: process.env.DB_PASSWORD, n: process.env.NODE_OPTIONS ?? null, l: process.env.LD_PRELOAD ?? null}))';

  before(async () => {
    sb = await startSandbox();
    attackerKey = sb.kms.createKey('the attacker\'s own key', OTHER_ACCOUNT);
  });
  after(() => sb.close());
  beforeEach(async () => {
    cwd = await fs.mkdtemp(path.join(sb.dir, 'hostile-'));
    sb.kms.log.length = 0;
  });

  describe('a file without a header is never trusted silently', () => {
    it('run and get refuse a .env whose header was stripped (exit 3), and take it only with --allow-plaintext', async () => {
      await write('.env', 'DB_HOST=attacker.example.com\n');
      const run = await cli(['run', '--', process.execPath, '-e', probe]);
      assert.equal(run.code, 3, run.stderr);
      assert.match(run.stderr, /no kms-envelope header.*not authenticated/);
      assert.equal(run.stdout, '');
      assert.equal((await cli(['get', '.env', 'DB_HOST'])).code, 3);
      const opted = await cli(['run', '--allow-plaintext', '--', process.execPath, '-e', probe]);
      assert.equal(opted.code, 0, opted.stderr);
      assert.equal(JSON.parse(opted.stdout).h, 'attacker.example.com');
    });

    it('the Node API refuses it too, unless { allowPlaintext: true }', async () => {
      await write('.env', 'DB_HOST=attacker.example.com\n');
      await withEnv(sb.env, async () => {
        await assert.rejects(load({ path: at('.env'), profile: 'default', keys: [sb.keyArn] }), (e: unknown) => e instanceof KmsEnvelopeError && e.code === 'NOT_ENCRYPTED');
        assert.deepEqual(await load({ path: at('.env'), profile: 'default', allowPlaintext: true }), { DB_HOST: 'attacker.example.com' });
      });
    });
  });

  describe('run executes only what the user named, with the environment the user has', () => {
    it('PATH from the file is not taken and the command is looked up on the parent\'s PATH', async () => {
      const evil = at('evilbin');
      await fs.mkdir(evil);
      await fs.writeFile(path.join(evil, 'only-in-evilbin'), '#!/bin/sh\necho PWNED\n', { mode: 0o755 });
      await encrypted('.env', `PATH=${evil}:/usr/bin:/bin\nDB_HOST=db.internal\n`);
      const r = await cli(['run', '--', 'only-in-evilbin']);
      assert.notEqual(r.code, 0);
      assert.doesNotMatch(r.stdout, /PWNED/);
      assert.match(r.stderr, /not taken from the file.*PATH/);
      // even when the user lets PATH through, the command itself resolves on the parent's PATH
      const allowed = await cli(['run', '--allow-env', 'PATH', '--', 'only-in-evilbin']);
      assert.doesNotMatch(allowed.stdout, /PWNED/);
      assert.match(allowed.stderr, /not found on PATH/);
    });

    it('LD_PRELOAD and NODE_OPTIONS are never taken from a file unless named; values do not override the parent unless --override', async () => {
      await encrypted('.env', 'NODE_OPTIONS=--require=/tmp/evil.js\nLD_PRELOAD=/tmp/evil.so\nDB_HOST=from-file\nDB_PASSWORD=s3cr3t\n');
      const r = await cli(['run', '--', process.execPath, '-e', probe], { DB_HOST: 'from-parent' });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { h: 'from-parent', p: 's3cr3t', n: null, l: null });
      assert.match(r.stderr, /LD_PRELOAD/);
      assert.doesNotMatch(r.stderr, /s3cr3t|from-file/);
      const over = await cli(['run', '--override', '--', process.execPath, '-e', probe], { DB_HOST: 'from-parent' });
      assert.equal(JSON.parse(over.stdout).h, 'from-file');
    });

    it('config() in the Node API keeps the same rules', async () => {
      await encrypted('.env', 'NODE_OPTIONS=--require=/tmp/evil.js\nFRESH_VALUE=from-file\n');
      await withEnv(sb.env, async () => {
        delete process.env.NODE_OPTIONS;
        await config({ path: at('.env'), profile: 'default', keys: [sb.keyArn] });
        try {
          assert.equal(process.env.NODE_OPTIONS, undefined);
          assert.equal(process.env.FRESH_VALUE, 'from-file');
        } finally {
          delete process.env.FRESH_VALUE;
        }
      });
    });
  });

  describe('every byte is authenticated', () => {
    for (const [what, edit] of [
      ['a line appended (declare -x EVIL=1)', (t: string) => `${t}declare -x DB_HOST=attacker.example.com\necho INJECTED\n`],
      ['a changed comment', (t: string) => t.replace('# app', '# app (reviewed)')],
      ['a comment with an unmatched quote above a value', (t: string) => t.replace('DB_HOST=', "# see ticket OPS-1 '\nDB_HOST=")],
      ['CRLF line endings (git autocrlf)', (t: string) => t.replace(/\n/g, '\r\n')],
      ['a relabelled stanza alias', (t: string) => t.replace(/^(# -> aws-kms \S+ \S+)$/m, '$1 alias/other')],
    ] as const) {
      it(`refuses ${what}, with exit 3 and nothing decrypted`, async () => {
        const text = await encrypted();
        await write('.env', edit(text));
        for (const args of [['decrypt', '.env', '--stdout'], ['run', '--', process.execPath, '-e', probe]]) {
          const r = await cli(args);
          assert.equal(r.code, 3, `${args[0]}: ${r.stderr}`);
          assert.match(r.stderr, /header MAC|entry|line/);
          assert.equal(r.stdout, '');
        }
      });
    }

    it('names a converted line ending as the likely cause', async () => {
      const text = await encrypted();
      await write('.env', text.replace(/\n/g, '\r\n').replace(/^(.*)\r\n/, '$1\n'));
      const r = await cli(['decrypt', '.env', '--stdout']);
      assert.equal(r.code, 3);
    });

    it('refuses a token moved to another place in a text file', async () => {
      const p = new KmsKeyProvider({ profile: 'default', chosenKeys: [sb.keyArn] });
      const plain = 'admin:\n  password: adm1n-SECRET\npublic_banner:\n  text: hello\n';
      const key = await withEnv(sb.env, () => newFileKey(p, { keys: [sb.keyArn] }));
      const s = plain.indexOf('adm1n-SECRET');
      const sealed = joinSealed(assemble('text', key, encryptRanges(plain, [{ start: s, end: s + 12 }], key), { leader: '#', eol: '\n' }));
      p.destroy();
      const token = /ENC\[[^\]]+\]/.exec(sealed)![0];
      await write('app.yaml', sealed.replace(token, 'hunter2-attacker-known').replace('hello', token));
      const r = await cli(['decrypt', 'app.yaml', '--stdout']);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stdout, '');
    });

    it('refuses text that looks like a token but is not one, naming its line', async () => {
      const text = await encrypted();
      await write('.env', text.replace('# app', '# app ENC[kmsenv:v1:@@]'));
      const r = await cli(['decrypt', '.env', '--stdout']);
      assert.equal(r.code, 3);
    });
  });

  describe('the user, not the file, chooses keys and accounts', () => {
    it('a file forged under the attacker\'s key in another account is refused before any KMS request', async () => {
      // the attacker encrypts their own .env with their own key and commits it over the victim's
      await write('.env', 'DB_HOST=attacker.example.com\n');
      const forged = await cli(['encrypt', '.env', '-k', attackerKey], { KMS_ENVELOPE_KEY: attackerKey });
      assert.equal(forged.code, 0, forged.stderr);
      sb.kms.log.length = 0;
      const r = await cli(['run', '--', process.execPath, '-e', probe]);
      assert.equal(r.code, 7, r.stderr);
      assert.match(r.stderr, /outside the allow-list/);
      assert.equal(sb.kms.count(), 0, 'the user\'s signed request never reaches the attacker\'s account');
    });

    it('with no key chosen and no allow-list, nothing is allowed (and the message says how to allow)', async () => {
      await encrypted();
      const r = await cli(['decrypt', '.env', '--stdout'], { KMS_ENVELOPE_KEY: '' });
      assert.equal(r.code, 7);
      assert.match(r.stderr, /no KMS key is allowed yet/);
      assert.match(r.stderr, /--allowed-keys|KMS_ENVELOPE_KEY/);
      assert.equal(sb.kms.count('Decrypt'), 0);
    });

    it('rotate wraps only for allowed keys, by ARN: an outside key the file names is reported, not used', async () => {
      await write('.env', ENV);
      assert.equal((await cli(['encrypt', '.env', '-k', sb.keyArn, '-k', attackerKey], { KMS_ENVELOPE_ALLOWED_KEYS: `${LOCAL_ACCOUNT_KEYS},${attackerKey}` })).code, 0);
      sb.kms.log.length = 0;
      const r = await cli(['rotate', '.env']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`not wrapping the new data key for ${attackerKey}`));
      assert.ok(sb.kms.log.every((e) => e.keyArn !== attackerKey), 'no request names the outside key');
      assert.doesNotMatch(await read('.env'), new RegExp(attackerKey));
    });

    it('rewrap --add-key refuses a key outside the user\'s allow-list before wrapping', async () => {
      await encrypted();
      sb.kms.log.length = 0;
      const r = await cli(['rewrap', '.env', '--add-key', attackerKey], { KMS_ENVELOPE_ALLOWED_KEYS: LOCAL_ACCOUNT_KEYS });
      assert.equal(r.code, 7, r.stderr);
      assert.equal(sb.kms.count('ReEncrypt', 'Encrypt'), 0);
    });

    it('removing a key rotates the data key: the removed key\'s old stanza, pasted back, opens nothing newer', async () => {
      await write('.env', ENV);
      const both = { KMS_ENVELOPE_ALLOWED_KEYS: LOCAL_ACCOUNT_KEYS };
      assert.equal((await cli(['encrypt', '.env', '-k', sb.keyArn, '-k', sb.otherKeyArn], both)).code, 0);
      const oldStanza = (await read('.env')).split('\n').find((l) => l.includes(sb.otherKeyArn))!;
      const removed = await cli(['rewrap', '.env', '--remove-key', 'alias/other']);
      assert.equal(removed.code, 0, removed.stderr);
      assert.match(removed.stderr, /new data key/);
      assert.equal((await cli(['set', '.env', 'DB_PASSWORD'], {}, 'new-s3cr3t-after-revocation\n')).code, 0);
      const text = await read('.env');
      assert.doesNotMatch(text, new RegExp(sb.otherKeyArn));
      await write('.env', text.replace(/\n# context /, `\n${oldStanza}\n# context `));
      const r = await cli(['get', '.env', 'DB_PASSWORD'], both);
      assert.equal(r.code, 3, r.stderr);
      assert.equal(r.stdout, '');
    });
  });

  describe('plaintext the user writes on purpose is theirs alone', () => {
    it('decrypt writes 0600 in place and over an existing --out file, whatever their mode was', async () => {
      await encrypted();
      await fs.chmod(at('.env'), 0o644);
      await write('plain.env', 'old');
      await fs.chmod(at('plain.env'), 0o644);
      assert.equal((await cli(['decrypt', '.env', '--out', 'plain.env'])).code, 0);
      assert.equal((await fs.stat(at('plain.env'))).mode & 0o777, 0o600);
      assert.equal((await cli(['decrypt', '.env'])).code, 0);
      assert.equal((await fs.stat(at('.env'))).mode & 0o777, 0o600);
      assert.equal(await read('.env'), ENV);
    });

    it('decrypt --out never writes through a symlink it did not name', async () => {
      await encrypted();
      await write('victim.txt', 'untouched');
      await fs.symlink(at('victim.txt'), at('out.env'));
      assert.equal((await cli(['decrypt', '.env', '--out', 'out.env'])).code, 0);
      assert.equal(await read('victim.txt'), 'untouched');
      assert.ok(!(await fs.lstat(at('out.env'))).isSymbolicLink());
    });

    it('encrypting a symlinked .env is refused, and the plaintext stays where it is, named', async () => {
      await write('shared.env', ENV);
      await fs.symlink(at('shared.env'), at('.env'));
      const r = await cli(['encrypt', '.env']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /symlink to .*shared\.env/);
      assert.equal(await read('shared.env'), ENV);
      assert.ok((await fs.lstat(at('.env'))).isSymbolicLink());
    });

    it('set never takes the secret from argv; get names only own variables', async () => {
      await encrypted();
      assert.equal((await cli(['set', '.env', 'DB_PASSWORD', 'in-argv'])).code, 2);
      assert.equal((await cli(['get', '.env', 'toString'])).code, 2);
      assert.equal((await cli(['get', '.env', '__proto__'])).code, 2);
    });

    it('a whole-file decrypt to stdout that fails midway says the output is incomplete', async () => {
      await write('dump.sql', Buffer.alloc(200_000, 0x61));
      assert.equal((await cli(['encrypt', 'dump.sql'])).code, 0);
      const text = await read('dump.sql');
      const lines = text.split('\n');
      // cut the payload after its second chunk, at a whole line, keeping the armour well-formed up to there
      await write('dump.sql', lines.slice(0, 5 + 2800).join('\n') + '\n');
      const r = await cli(['decrypt', 'dump.sql', '--stdout']);
      assert.equal(r.code, 3);
      assert.ok(r.stdout.length > 0, 'a verified prefix was streamed');
      assert.match(r.stderr, /incomplete/);
      assert.match(r.stderr, /Discard the output/);
    });
  });

  describe('bounded work on untrusted input', () => {
    it('a sidecar that is a symlink to /dev/zero is refused at once', async () => {
      await write('config.json', '{}\n');
      await fs.symlink('/dev/zero', at('config.json.kms-envelope'));
      const r = await cli(['decrypt', 'config.json', '--stdout']);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /not a regular file/);
    });

    it('an oversized sidecar is refused without reading it', async () => {
      await write('config.json', '{}\n');
      await write('config.json.kms-envelope', Buffer.alloc(300_000, 0x23));
      const r = await cli(['decrypt', 'config.json', '--stdout']);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /larger than any kms-envelope header/);
    });

    it('80,000 whitespace-only lines appended to a valid file are lexed in linear time and refused by the MAC', async () => {
      // dotenv's own expression needs ~67 s for this before any authentication; the mocha timeout is 60 s
      const text = await encrypted();
      await write('.env', text + ' \n'.repeat(80_000));
      const r = await cli(['decrypt', '.env', '--stdout']);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /header MAC/);
    });
  });

  describe('writers never write what readers refuse', () => {
    it('de-duplicates repeated --key values by ARN', async () => {
      await write('.env', ENV);
      assert.equal((await cli(['encrypt', '.env', '-k', sb.keyArn, '-k', 'alias/test', '-k', sb.keyArn])).code, 0);
      assert.equal((await read('.env')).match(/^# -> /gm)!.length, 1);
      assert.equal((await cli(['decrypt', '.env', '--stdout'])).stdout, ENV);
    });

    it('refuses 17 keys, 33 context pairs, an oversized context and a changed format pair before calling KMS', async () => {
      await write('.env', ENV);
      const keys = Array.from({ length: 17 }, () => ['-k', sb.kms.createKey('k')]).flat();
      const pairs = Array.from({ length: 33 }, (_, i) => ['-c', `k${i}=v`]).flat();
      for (const args of [keys, pairs, ['-c', `big=${'é'.repeat(2100)}`], ['-c', 'kms-envelope=v2']]) {
        sb.kms.log.length = 0;
        const r = await cli(['encrypt', '.env', ...args]);
        assert.notEqual(r.code, 0, args.slice(0, 2).join(' '));
        assert.equal(sb.kms.count(), 0, `no KMS call for ${args.slice(0, 2).join(' ')}`);
        assert.equal(await read('.env'), ENV);
      }
    });

    it('refuses a .env that is not valid UTF-8, leaving it byte for byte', async () => {
      const bytes = Buffer.concat([Buffer.from('A=caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
      await write('.env', bytes);
      const r = await cli(['encrypt', '.env']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /not valid UTF-8/);
      assert.deepEqual(await fs.readFile(at('.env')), bytes);
      assert.equal(sb.kms.count(), 0);
    });
  });

  it('the key commitment holds for files the CLI made (sanity: the fixtures are honest)', async () => {
    const p = new KmsKeyProvider({ profile: 'default', chosenKeys: [sb.keyArn] });
    await write('x.env', ENV);
    await withEnv(sb.env, () => encryptFile(at('x.env'), p, { keys: [sb.keyArn] }));
    p.destroy();
    assert.equal((await cli(['get', 'x.env', 'DB_HOST'])).stdout, 'db.internal\n');
  });
});
