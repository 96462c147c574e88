import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Sandbox, startSandbox } from '../support/aws-sandbox';
import { runCli, runProgram } from '../support/cli';

describe('the key agent (kms-envelope agent): data keys reused across processes, in memory only, for this user only (against the local KMS)', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  let dir: string;
  let env: Record<string, string>;
  const cli = (args: string[], more: Record<string, string> = {}) => runCli(args, { cwd: dir, env: { ...env, ...more } });
  const folder = () => path.join(sb.env.HOME, '.cache', 'kms-envelope', 'agent');
  const socket = () => path.join(folder(), 'agent.sock');
  const decrypts = () => sb.kms.count('Decrypt');

  before(async () => {
    sb = await startSandbox();
    env = { ...sb.env, AWS_PROFILE: 'default', KMS_ENVELOPE_KEY: sb.keyArn };
  });
  after(() => sb.close());
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(sb.dir, 'agent-'));
    await fs.writeFile(path.join(dir, '.env'), 'DB_PASSWORD=correct-horse\nAPI_KEY=sk_live_123\n');
    assert.equal((await cli(['encrypt', '.env'])).code, 0);
    sb.kms.log.length = 0;
  });
  afterEach(async () => {
    await cli(['agent', 'stop']);
  });

  it('start, status, stop: a socket 0600 in a folder 0700, nothing else there; status exits 1 when it does not run', async () => {
    let st = await cli(['agent', 'status']);
    assert.deepEqual([st.code, st.stdout], [1, 'not running\n']);
    const started = await cli(['agent', 'start', '--max-age', '10', '--idle', '20']);
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stderr, /agent started \(pid \d+\): data keys are kept 10 min after KMS unwraps them, everything is wiped after 20 min without a request/);
    st = await cli(['agent', 'status']);
    assert.equal(st.code, 0);
    assert.match(st.stdout, /^running: pid \d+, 0 data key\(s\), kept 10 min each, stops after 20 min idle; since /);
    assert.equal((await fs.stat(folder())).mode & 0o777, 0o700);
    const sock = await fs.lstat(socket());
    assert.ok(sock.isSocket());
    assert.equal(sock.mode & 0o777, 0o600);
    assert.deepEqual(await fs.readdir(folder()), ['agent.sock']);
    assert.match((await cli(['agent', 'start'])).stderr, /the agent runs already \(pid \d+, 0 data key\(s\)\)/);
    assert.match((await cli(['agent', 'stop'])).stderr, /agent stopped: 0 data key\(s\) wiped/);
    assert.deepEqual([(await cli(['agent', 'status'])).code], [1]);
    await assert.rejects(fs.lstat(socket()), /ENOENT/, 'the socket is removed');
  });

  it('get, run, textconv and git log -p in new processes reuse the data key: one KMS Decrypt in all, where each would call KMS without the agent', async () => {
    for (const args of [['get', '.env', 'API_KEY'], ['textconv', '.env']]) assert.equal((await cli(args)).code, 0);
    assert.equal(decrypts(), 2, 'without the agent: one call per process');
    sb.kms.log.length = 0;
    assert.equal((await cli(['agent', 'start'])).code, 0);
    assert.equal((await cli(['get', '.env', 'API_KEY'])).stdout, 'sk_live_123\n');
    assert.equal(decrypts(), 1, 'the first unwrap goes to KMS');
    assert.equal((await cli(['get', '.env', 'DB_PASSWORD'])).stdout, 'correct-horse\n');
    assert.match((await cli(['textconv', '.env'])).stdout, /^DB_PASSWORD=correct-horse\n/m);
    const run = await cli(['run', '--', process.execPath, '-e', 'process.stdout.write(process.env.API_KEY)']);
    assert.equal(run.stdout, 'sk_live_123');
    assert.match((await cli(['agent', 'status'])).stdout, /1 data key\(s\)/);
    // git: five revisions of the file, shown decrypted by textconv, one process each
    const g = (...a: string[]) => execFileSync('git', a, { cwd: dir, env: { ...process.env, ...env, GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' }, encoding: 'utf8' });
    g('init', '-q');
    g('config', 'diff.kmsenv.textconv', `${process.execPath} ${path.join(__dirname, '../../dist/cli.js')} textconv`);
    await fs.writeFile(path.join(dir, '.gitattributes'), '.env diff=kmsenv\n');
    for (let i = 0; i < 5; i++) {
      assert.equal((await runCli(['set', '.env', `V${i}`], { cwd: dir, env, input: `value-${i}` })).code, 0);
      g('add', '.');
      g('commit', '-q', '-m', `v${i}`);
    }
    const log = g('log', '-p', '--', '.env');
    for (let i = 0; i < 5; i++) assert.match(log, new RegExp(`\\+V${i}=value-${i}`));
    assert.equal(decrypts(), 1, 'git log -p of five revisions: no further KMS call');
  });

  it('a command the agent answers never loads the AWS SDK (its code cache shows what loaded)', async () => {
    const runtime = await fs.mkdtemp(path.join(sb.dir, 'run-'));
    await fs.chmod(runtime, 0o700);
    const caches = [await fs.mkdtemp(path.join(sb.dir, 'cache-a-')), await fs.mkdtemp(path.join(sb.dir, 'cache-b-'))];
    const at = (cache: string) => ({ XDG_RUNTIME_DIR: runtime, XDG_CACHE_HOME: cache });
    assert.equal((await cli(['agent', 'start'], at(caches[0]))).code, 0);
    try {
      assert.equal((await cli(['get', '.env', 'API_KEY'], at(caches[0]))).stdout, 'sk_live_123\n'); // KMS: the SDK loads
      assert.match((await cli(['textconv', '.env'], at(caches[1]))).stdout, /API_KEY=sk_live_123/);
      const loaded = async (cache: string) => (await fs.readdir(path.join(cache, 'kms-envelope'))).map((f) => f.replace(/-.*/, '')).sort();
      assert.deepEqual(await loaded(caches[0]), ['cli', 'kms'], 'the first command: the commands and the SDK');
      assert.deepEqual(await loaded(caches[1]), ['cli'], 'answered by the agent: the commands only');
      assert.equal(decrypts(), 1);
    } finally {
      await cli(['agent', 'stop'], at(caches[0]));
    }
  });

  it('the preload (node -r kms-envelope/config) takes the held key too: no KMS call', async () => {
    assert.equal((await cli(['agent', 'start'])).code, 0);
    await cli(['get', '.env', 'API_KEY']);
    const r = await runProgram(process.execPath, ['-r', path.join(__dirname, '../../dist/config.js'), '-e', 'process.stdout.write(process.env.API_KEY)'], { cwd: dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
    assert.equal(r.stdout, 'sk_live_123', r.stderr);
    assert.equal(decrypts(), 1, 'only the first get called KMS');
  });

  it('a key is dropped after its max age, and everything on stop (Lock in VS Code does the same); then KMS is asked again', async () => {
    assert.equal((await cli(['agent', 'start', '--max-age', '0.02'])).code, 0); // 1.2 s
    await cli(['get', '.env', 'API_KEY']);
    await cli(['get', '.env', 'API_KEY']);
    assert.equal(decrypts(), 1);
    await new Promise((r) => setTimeout(r, 1500));
    await cli(['get', '.env', 'API_KEY']);
    assert.equal(decrypts(), 2, 'past its age, the key is unwrapped again');
    assert.match((await cli(['agent', 'stop'])).stderr, /agent stopped: 1 data key\(s\) wiped/);
    await cli(['get', '.env', 'API_KEY']);
    assert.equal(decrypts(), 3);
  });

  it('stops by itself after the idle time, wiping its keys and removing its socket', async () => {
    assert.equal((await cli(['agent', 'start', '--idle', '0.02'])).code, 0);
    await cli(['get', '.env', 'API_KEY']);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await cli(['agent', 'status'])).code, 1);
    await assert.rejects(fs.lstat(socket()), /ENOENT/);
  });

  it('the allow-list comes first: a held key of a file wrapped for a key outside it is never handed out', async () => {
    assert.equal((await cli(['agent', 'start'])).code, 0);
    await cli(['get', '.env', 'API_KEY']);
    const r = await cli(['get', '.env', 'API_KEY'], { KMS_ENVELOPE_KEY: sb.otherKeyArn });
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stdout, '');
  });

  it('a tampered file is refused though its data key is held', async () => {
    assert.equal((await cli(['agent', 'start'])).code, 0);
    await cli(['get', '.env', 'API_KEY']);
    const text = await fs.readFile(path.join(dir, '.env'), 'utf8');
    const i = text.indexOf('API_KEY=ENC[kmsenv:v1:') + 30;
    await fs.writeFile(path.join(dir, '.env'), text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1));
    const r = await cli(['get', '.env', 'API_KEY']);
    assert.equal(r.code, 3, r.stderr);
  });

  it('is not talked to when its folder is open to others, nor started there; KMS_ENVELOPE_AGENT=0 turns its use off', async () => {
    assert.equal((await cli(['agent', 'start'])).code, 0);
    await cli(['get', '.env', 'API_KEY']);
    assert.equal(decrypts(), 1);
    await cli(['get', '.env', 'API_KEY'], { KMS_ENVELOPE_AGENT: '0' });
    assert.equal(decrypts(), 2, 'not used when turned off');
    await fs.chmod(folder(), 0o755);
    try {
      await cli(['get', '.env', 'API_KEY']);
      assert.equal(decrypts(), 3, 'a folder others can open: its socket could be anyone\'s, so KMS is asked');
      const st = await cli(['agent', 'status']);
      assert.equal(st.code, 1);
      assert.match(st.stdout, /^not running \(its folder .* is not private: others can open it \(mode 755\)\)/);
      const start = await cli(['agent', 'start']);
      assert.equal(start.code, 2);
      assert.match(start.stderr, /the key agent's folder .* is not private: others can open it/);
    } finally {
      await fs.chmod(folder(), 0o700);
    }
  });
});
