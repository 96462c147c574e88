/**
 * The local KMS as shipped (dist/local-kms.js): for demos and tests, yet not open to another
 * local user or to a web page (security review F7), and a team's recipe from its own command line.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalKms } from '../local-kms/server';

const LOCAL_KMS = path.join(__dirname, '../../dist/local-kms.js');
const run = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [LOCAL_KMS, ...args], (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
  );

describe('the local KMS: for demos and tests, closed to other users and to web pages', function () {
  this.timeout(30_000);
  let dir = '';
  beforeEach(async () => (dir = await fs.mkdtemp(path.join(tmpdir(), 'local-kms-'))));
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('--help prints the usage, and a wrong word says so in one line each, never a stack trace', async () => {
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: local-kms \[serve\]/);
    assert.match(help.stdout, /never use it for real secrets/);
    const wrong = await run(['frobnicate']);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /^local KMS: unknown command "frobnicate"\nusage:/);
    assert.doesNotMatch(wrong.stderr + (await run(['--nope'])).stderr, /\n\s+at /);
  });

  it('makes and lists keys from its own command line, and keeps a disabled key disabled across restarts', async () => {
    const state = path.join(dir, 'state.json');
    const made = await run(['create-key', '--alias', 'alias/ci', '--description', 'CI', '--state', state]);
    assert.equal(made.code, 0, made.stderr);
    const arn = /^alias\/ci = (arn:aws:kms:us-east-1:000000000000:key\/[0-9a-f-]{36})\n$/.exec(made.stdout)?.[1];
    assert.ok(arn, made.stdout);
    assert.equal((await run(['create-key', '--alias', 'alias/ci', '--state', state])).code, 2, 'an alias taken');
    assert.equal((await run(['disable-key', 'alias/ci', '--state', state])).stdout, `${arn} disabled\n`);
    assert.equal((await run(['list-keys', '--state', state])).stdout, `${arn}\tdisabled\talias/ci\tCI\n`);
    // a restart reads the state: the key is still disabled
    const kms = new LocalKms({ accounts: [], stateFile: state });
    assert.deepEqual(kms.listKeys(), [{ arn, enabled: false, description: 'CI', aliases: ['alias/ci'] }]);
    assert.equal((await run(['enable-key', arn!, '--state', state])).stdout, `${arn} enabled\n`);
    assert.equal((await fs.stat(state)).mode & 0o777, 0o600);
  });

  it('serves credentials made for this installation, kept 0600, not constants from the source', async () => {
    const state = path.join(dir, 'kms', 'state.json');
    const child = spawn(process.execPath, [LOCAL_KMS, '--port', '0', '--state', state, '--aws-dir', path.join(dir, 'aws')], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d) => {
          out += d;
          if (out.includes('use it with:')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      assert.match(out, /for demos and tests only/);
      const access = JSON.parse(await fs.readFile(path.join(dir, 'kms', 'access.json'), 'utf8'));
      assert.notEqual(access.accessKeyId, 'AKIALOCALKMSDEMO0001');
      assert.ok(access.secretAccessKey.length >= 32);
      assert.equal((await fs.stat(path.join(dir, 'kms', 'access.json'))).mode & 0o777, 0o600);
      assert.equal((await fs.stat(path.join(dir, 'aws', 'credentials'))).mode & 0o777, 0o600);
      assert.match(await fs.readFile(path.join(dir, 'aws', 'credentials'), 'utf8'), new RegExp(`aws_access_key_id = ${access.accessKeyId}`));
    } finally {
      child.kill();
    }
  });

  it('an admin call needs the token in a header (a text/plain POST from a page is refused), and only loopback names are served', async () => {
    const kms = new LocalKms({ accounts: [], adminToken: 'the-token' });
    const url = await kms.start(0);
    try {
      const key = kms.createKey('k');
      const csrf = await fetch(`${url}/__admin/enable`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ keyId: key, enabled: false }) });
      assert.equal(csrf.status, 403);
      assert.equal(kms.listKeys()[0].enabled, true);
      const wrong = await fetch(`${url}/__admin/log`, { method: 'POST', headers: { 'x-local-kms-admin': 'guess' } });
      assert.equal(wrong.status, 403);
      const ok = await fetch(`${url}/__admin/enable`, { method: 'POST', headers: { 'x-local-kms-admin': 'the-token' }, body: JSON.stringify({ keyId: key, enabled: false }) });
      assert.equal(ok.status, 200);
      assert.equal(kms.listKeys()[0].enabled, false);
      // DNS rebinding: a page on another name that resolves to 127.0.0.1
      const rebound = await new Promise<number>((resolve) => {
        const http = require('node:http') as typeof import('node:http');
        http.request(`${url}/__admin/log`, { method: 'POST', headers: { host: 'attacker.example:80', 'x-local-kms-admin': 'the-token' } }, (r) => resolve(r.statusCode ?? 0)).end();
      });
      assert.equal(rebound, 421);
      const off = new LocalKms({ accounts: [] });
      const offUrl = await off.start(0);
      assert.equal((await fetch(`${offUrl}/__admin/log`, { method: 'POST' })).status, 403, 'no token: the admin API is off');
      await off.stop();
    } finally {
      await kms.stop();
    }
  });
});
