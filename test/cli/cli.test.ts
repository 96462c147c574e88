import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { LOCAL_ACCOUNT_KEYS, Sandbox, startSandbox } from '../support/aws-sandbox';
import { runCli } from '../support/cli';

const ENV = '# app\r\nexport DB_PASSWORD="correct horse # battery"\r\nAPI_KEY=sk_live_123\r\nMULTI="a\nb"';

describe('CLI (dist/cli.js against the local KMS)', function () {
  let sb: Sandbox;
  let cwd: string;
  // the user's own key, as they would export it: keys of its account may decrypt
  const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd, env: { ...sb.env, AWS_PROFILE: 'default', KMS_ENVELOPE_KEY: sb.keyArn, ...env } });
  const read = (f: string) => fs.readFile(path.join(cwd, f));
  const runCliWithInput = (args: string[], input: string) => runCli(args, { cwd, env: { ...sb.env, AWS_PROFILE: 'default', KMS_ENVELOPE_KEY: sb.keyArn }, input });

  before(async () => {
    sb = await startSandbox();
  });
  after(() => sb.close());
  beforeEach(async () => {
    cwd = await fs.mkdtemp(path.join(sb.dir, 'cwd-'));
    await fs.writeFile(path.join(cwd, '.env'), ENV);
    sb.kms.clearFaults();
  });

  const noSecretIn = (text: string) => {
    for (const s of ['correct horse', 'sk_live_123']) assert.ok(!text.includes(s), `secret in output: ${text}`);
  };

  it('encrypts and decrypts a .env in place, byte for byte (CRLF, quotes, multi-line, no final newline)', async () => {
    const enc = await cli(['encrypt', '.env', '--key', 'alias/test']);
    assert.equal(enc.code, 0, enc.stderr);
    const encrypted = (await read('.env')).toString();
    noSecretIn(encrypted + enc.stderr + enc.stdout);
    assert.match(encrypted, /^# kms-envelope v1 dotenv\r\n/);
    const dec = await cli(['decrypt', '.env']);
    assert.equal(dec.code, 0, dec.stderr);
    assert.equal((await read('.env')).toString(), ENV);
  });

  it('run puts the values in the child environment only, and passes its exit code through', async () => {
    await cli(['encrypt', '.env', '-k', sb.keyArn]);
    const r = await cli(['run', '--', process.execPath, '-e', 'process.stdout.write(JSON.stringify([process.env.DB_PASSWORD, process.env.API_KEY, process.env.MULTI])); process.exit(42)']);
    assert.equal(r.code, 42);
    assert.deepEqual(JSON.parse(r.stdout), ['correct horse # battery', 'sk_live_123', 'a\nb']);
    noSecretIn(r.stderr);
    noSecretIn((await read('.env')).toString('utf8')); // nothing decrypted to disk on the way
    assert.deepEqual((await fs.readdir(cwd)).filter((f) => f !== '.env'), [], 'no other file written');
  });

  it('get prints one value; decrypt --stdout and --out write the plaintext where asked', async () => {
    await cli(['encrypt', '.env', '-k', 'alias/test']);
    const before = await read('.env');
    assert.equal((await cli(['get', '.env', 'API_KEY'])).stdout, 'sk_live_123\n');
    assert.equal((await cli(['decrypt', '.env', '--stdout'])).stdout, ENV);
    assert.equal((await cli(['decrypt', '.env', '--out', 'plain.env'])).code, 0);
    assert.equal((await read('plain.env')).toString(), ENV);
    assert.deepEqual(await read('.env'), before);
    const missing = await cli(['get', '.env', 'NOPE']);
    assert.equal(missing.code, 2);
  });

  it('set changes one value (from stdin, never from the command line); every other value keeps its ciphertext', async () => {
    await cli(['encrypt', '.env', '-k', 'alias/test']);
    const before = (await read('.env')).toString();
    assert.equal((await cli(['set', '.env', 'API_KEY', 'sk_live_456'])).code, 2, 'a value as an argument would sit in argv and shell history');
    const r = await runCliWithInput(['set', '.env', 'API_KEY'], 'sk_live_456 # rotated\n');
    assert.equal(r.code, 0, r.stderr);
    const after = (await read('.env')).toString();
    const token = (t: string, n: string) => new RegExp(`${n}=(ENC\\[[^\\]]+\\])`).exec(t)?.[1];
    assert.equal(token(after, 'DB_PASSWORD'), token(before, 'DB_PASSWORD'));
    assert.notEqual(token(after, 'API_KEY'), token(before, 'API_KEY'));
    assert.equal((await cli(['get', '.env', 'API_KEY'])).stdout, 'sk_live_456 # rotated\n');
    const piped = await runCliWithInput(['set', '.env', 'NEW_SECRET'], 'from-stdin\n');
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal((await cli(['get', '.env', 'NEW_SECRET'])).stdout, 'from-stdin\n');
    assert.ok(!(await read('.env')).toString().includes('from-stdin'));
  });

  it('refuses a tampered file with exit 3, names the entry, writes nothing', async () => {
    await cli(['encrypt', '.env', '-k', 'alias/test']);
    const text = (await read('.env')).toString();
    const tampered = text.replace(/API_KEY=ENC\[kmsenv:v1:(.)/, (_m, c) => `API_KEY=ENC[kmsenv:v1:${c === 'A' ? 'B' : 'A'}`);
    await fs.writeFile(path.join(cwd, '.env'), tampered);
    for (const args of [['decrypt', '.env'], ['run', '--', 'true'], ['rotate', '.env', '-k', 'alias/test']]) {
      const r = await cli(args);
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /entry API_KEY \(line 8\)/);
      assert.equal((await read('.env')).toString(), tampered);
      noSecretIn(r.stderr + r.stdout);
    }
    assert.deepEqual((await fs.readdir(cwd)).filter((f) => f.includes('tmp')), []);
  });

  it('exit 4 on access denied and 6 when KMS is unreachable, with the file unchanged', async () => {
    const denied = await cli(['encrypt', '.env', '-k', 'alias/test'], { AWS_PROFILE: 'reader' });
    assert.equal(denied.code, 4);
    assert.match(denied.stderr, /kms:GenerateDataKey.*profile "reader"/);
    const down = await cli(['encrypt', '.env', '-k', 'alias/test'], { AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:9' });
    assert.equal(down.code, 6, down.stderr);
    assert.equal((await read('.env')).toString(), ENV);
  });

  it('encrypts any other file whole, streamed, and rotates and rewraps it', async () => {
    const blob = randomBytes(300_000);
    await fs.writeFile(path.join(cwd, 'id.bin'), blob);
    assert.equal((await cli(['encrypt', 'id.bin', '-k', 'alias/test'])).code, 0);
    assert.ok((await read('id.bin')).subarray(0, 24).toString() === '# kms-envelope v1 file\n#');
    const rot = await cli(['rotate', 'id.bin', '--allowed-keys', sb.keyArn]);
    assert.equal(rot.code, 0, rot.stderr);
    const rew = await cli(['rewrap', 'id.bin', '--add-key', 'alias/other']);
    assert.equal(rew.code, 0, rew.stderr);
    assert.equal((await cli(['decrypt', 'id.bin', '--profile', 'default'])).code, 0);
    assert.deepEqual(await read('id.bin'), blob);
  });

  it('rotate with no --key and no allow-list just works for the key the user uses, and warns about nothing', async () => {
    assert.equal((await cli(['encrypt', '.env'])).code, 0); // KMS_ENVELOPE_KEY: the user's key
    const before = (await read('.env')).toString();
    const r = await cli(['rotate', '.env']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /warning/);
    assert.match(r.stderr, new RegExp(`new data key for ${sb.keyArn}`));
    assert.notEqual((await read('.env')).toString(), before);
    assert.equal((await cli(['decrypt', '.env', '--stdout'])).stdout, ENV);
  });

  it('a committed rules file chooses keys and context per file, within the allow-list; --key overrides it', async () => {
    const stranger = sb.kms.createKey('a key of another account', '999999999999');
    await fs.writeFile(
      path.join(cwd, '.kms-envelope.json'),
      JSON.stringify({
        rules: [
          { path: '.env.production', keys: ['alias/other'], context: { env: 'production' } },
          { path: '.env.staging', keys: [stranger], context: { env: 'staging' } },
        ],
      }),
    );
    for (const f of ['.env.production', '.env.staging', '.env.explicit']) await fs.writeFile(path.join(cwd, f), ENV);
    const header = async (f: string) => (await read(f)).toString().split(/\r?\n/).slice(0, 4).join('\n');

    // the rule's key is another key of the user's account: used once the user allows the account (F6: not by default)
    const prod = await cli(['encrypt', '.env.production'], { KMS_ENVELOPE_ALLOWED_KEYS: LOCAL_ACCOUNT_KEYS });
    assert.equal(prod.code, 0, prod.stderr);
    assert.match(prod.stderr, /from .*\.kms-envelope\.json/);
    assert.match(await header('.env.production'), new RegExp(`-> aws-kms ${sb.otherKeyArn} \\S+ alias/other[\\s\\S]*"env":"production"`));

    // a rule naming a key the user does not allow is reported and not used: the user's own key is
    const staging = await cli(['encrypt', '.env.staging'], { KMS_ENVELOPE_ALLOWED_KEYS: LOCAL_ACCOUNT_KEYS });
    assert.equal(staging.code, 0, staging.stderr);
    assert.match(staging.stderr, new RegExp(`not allowed, not used: ${stranger}`));
    assert.match(await header('.env.staging'), new RegExp(`-> aws-kms ${sb.keyArn} `));
    assert.doesNotMatch(await header('.env.staging'), new RegExp(stranger));

    await fs.writeFile(path.join(cwd, '.kms-envelope.json'), JSON.stringify({ rules: [{ path: '.env.*', keys: ['alias/other'] }] }));
    assert.equal((await cli(['encrypt', '.env.explicit', '--key', sb.keyArn])).code, 0);
    assert.match(await header('.env.explicit'), new RegExp(`-> aws-kms ${sb.keyArn} `));
  });

  it('prints help, and usage errors exit 2', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes/);
    assert.equal((await cli(['rewrap', '.env'])).code, 2);
    assert.equal((await cli(['frobnicate'])).code, 2);
  });
});
