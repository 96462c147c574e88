/**
 * A hostile repository, second round (shared/reviews/security-review-2026-12-07.md): each finding's
 * reproduction run through the built CLI against the local KMS, as a user would meet it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseHeader } from '../../src/core/header';
import { Sandbox, startSandbox } from '../support/aws-sandbox';
import { runCli } from '../support/cli';

describe('hostile repository, second round: globs, context, rollback, loader variables', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  let cwd: string;
  const cli = (args: string[], env: Record<string, string> = {}, input?: string) =>
    runCli(args, { cwd, env: { ...sb.env, AWS_PROFILE: 'default', KMS_ENVELOPE_KEY: sb.keyArn, ...env }, input });
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
});
