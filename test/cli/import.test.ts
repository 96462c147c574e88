import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { startSandbox, Sandbox } from '../support/aws-sandbox';
import { runCli, runProgram } from '../support/cli';
import { withEnv } from '../support/with-env';
import { referenceDecrypt } from '../support/sops-reference';

const DOTENVX = path.join(__dirname, '../../node_modules/@dotenvx/dotenvx/src/cli/dotenvx.js');
/** Values with quotes, spaces, a #, a line break and an = : what a program must get the same after an import. */
const ENV = 'PLAIN=simple\nSPACED="two words"\nHASH=\'a#b\'\nMULTI="line1\\nline2"\nEQ=a=b\nQUOTES=\'say "hi"\'\n';

/** `kms-envelope import` (issue 22): one command, nothing written in clear, the same values after. */
describe('kms-envelope import: SOPS, dotenvx and plaintext files into kms-envelope or SOPS (dist/cli.js)', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  let cwd: string;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { cwd, env: { ...sb.env, AWS_PROFILE: 'default', KMS_ENVELOPE_KEY: sb.keyArn, KMS_ENVELOPE_ALLOWED_KEYS: 'arn:aws:kms:*:000000000000:key/*', ...env } });
  const read = (f: string) => fs.readFile(path.join(cwd, f), 'utf8');
  const dotenvx = (args: string[], env: Record<string, string> = {}) => runProgram(process.execPath, [DOTENVX, ...args], { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, ...env } });
  /** What kms-envelope run gives a program: every variable of the file, as JSON. */
  const runValues = async (file: string): Promise<Record<string, string>> => {
    const names = Object.keys(parseDotenv(ENV));
    const r = await cli(['run', '-f', file, '--', process.execPath, '-e', `process.stdout.write(JSON.stringify(Object.fromEntries(${JSON.stringify(names)}.map((n) => [n, process.env[n]]))))`]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    sb = await startSandbox();
  });
  after(() => sb.close());
  beforeEach(async () => {
    cwd = await fs.mkdtemp(path.join(sb.dir, 'import-'));
    await fs.mkdir(path.join(cwd, '.git'));
    await fs.writeFile(path.join(cwd, '.env'), ENV);
  });

  it('a dotenvx-encrypted .env (made by dotenvx itself) becomes a kms-envelope .env whose values are what dotenvx gives a program, with its private key from the environment', async () => {
    assert.equal((await dotenvx(['encrypt', '-f', '.env'])).code, 0);
    const encrypted = await read('.env');
    assert.match(encrypted, /^SPACED="encrypted:/m);
    const key = /^DOTENV_PRIVATE_KEY=(\w+)$/m.exec(await read('.env.keys'))![1];
    const truth = JSON.parse((await dotenvx(['get', '-f', '.env'], { DOTENV_PRIVATE_KEY: key })).stdout);
    // dotenvx also gives its public key as a variable: the import leaves dotenvx's own line out
    assert.match(truth.DOTENV_PUBLIC_KEY, /^0[23][0-9a-f]{64}$/);
    delete truth.DOTENV_PUBLIC_KEY;
    assert.deepEqual(truth, parseDotenv(ENV), 'dotenvx gives the values of the plaintext');
    const without = await cli(['import', '.env']);
    assert.notEqual(without.code, 0);
    assert.match(without.stderr, /encrypted by dotenvx and DOTENV_PRIVATE_KEY is not set/);
    assert.equal(await read('.env'), encrypted, 'untouched');
    const r = await cli(['import', '.env'], { DOTENV_PRIVATE_KEY: key });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /imported \.env: dotenvx → kms-envelope/);
    const now = await read('.env');
    assert.match(now, /^# kms-envelope/);
    for (const v of ['two words', 'line1', 'say']) assert.ok(!now.includes(v), v);
    assert.deepEqual(await runValues('.env'), truth);
  });

  it('a dotenvx .env imported --to sops is a SOPS dotenv file whose values a sops reader gives as dotenvx did', async () => {
    assert.equal((await dotenvx(['encrypt', '-f', '.env'])).code, 0);
    const key = /^DOTENV_PRIVATE_KEY=(\w+)$/m.exec(await read('.env.keys'))![1];
    const r = await cli(['import', '--to', 'sops', '.env'], { DOTENV_PRIVATE_KEY: key });
    assert.equal(r.code, 0, r.stderr);
    const sops = await read('.env');
    assert.match(sops, /^sops_mac=ENC\[/m);
    const ref = await withEnv(sb.env, () => referenceDecrypt(sops, 'dotenv'));
    assert.deepEqual(ref.values, parseDotenv(ENV));
  });

  it('kms-envelope → SOPS → kms-envelope keeps every value; SOPS YAML becomes a kms-envelope file encrypted whole and comes back', async () => {
    assert.equal((await cli(['encrypt', '.env'])).code, 0);
    assert.equal((await cli(['import', '--to', 'sops', '.env'])).code, 0);
    assert.deepEqual((await withEnv(sb.env, async () => referenceDecrypt(await read('.env'), 'dotenv'))).values, parseDotenv(ENV));
    assert.deepEqual(await runValues('.env'), parseDotenv(ENV), 'run reads the SOPS file as sops exec-env would');
    assert.equal((await cli(['import', '.env'])).code, 0);
    assert.match(await read('.env'), /^# kms-envelope/);
    assert.deepEqual(await runValues('.env'), parseDotenv(ENV));

    await fs.writeFile(path.join(cwd, 'values.yaml'), 'image: app:1.2\ndb:\n  password: yaml-import-secret\n');
    assert.equal((await cli(['encrypt', '--format', 'sops', 'values.yaml'])).code, 0);
    assert.equal((await cli(['import', 'values.yaml'])).code, 0);
    assert.doesNotMatch(await read('values.yaml'), /yaml-import-secret|image/);
    assert.equal((await cli(['decrypt', '--stdout', 'values.yaml'])).stdout, 'image: app:1.2\ndb:\n  password: yaml-import-secret\n');
    assert.equal((await cli(['import', '--to', 'sops', 'values.yaml'])).code, 0);
    assert.deepEqual((await withEnv(sb.env, async () => referenceDecrypt(await read('values.yaml'), 'yaml'))).values, { image: 'app:1.2', db: { password: 'yaml-import-secret' } });
  });

  it('refuses what makes no sense, with the file untouched: a SOPS file --to sops, a kms-envelope file --to kms-envelope', async () => {
    assert.equal((await cli(['encrypt', '.env'])).code, 0);
    const before = await read('.env');
    const again = await cli(['import', '.env']);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already a kms-envelope file/);
    assert.equal(await read('.env'), before);
    assert.equal((await cli(['import', '--to', 'sops', '.env'])).code, 0);
    const sops = await read('.env');
    const twice = await cli(['import', '--to', 'sops', '.env']);
    assert.match(twice.stderr, /already a SOPS file/);
    assert.equal(await read('.env'), sops);
  });
});
