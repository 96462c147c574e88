import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Sandbox, startSandbox } from '../support/aws-sandbox';
import { runCli } from '../support/cli';

/**
 * The CLI's V8 code cache for its commands and the SDK bundle (src/code-cache.ts): made once,
 * used after, kept where only the user can write, and never trusted when someone else could have
 * planted it. The checks are made on the SDK's cache; the commands' goes through the same code.
 */
describe('CLI code cache (dist/cli-main.js and dist/kms-runtime.js through V8 cached data)', function () {
  let sb: Sandbox;
  let cwd: string;
  let cacheHome: string;
  const SECRET = 'code-cache-secret-QUEBEC';
  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { cwd, env: { ...sb.env, AWS_PROFILE: 'default', KMS_ENVELOPE_KEY: sb.keyArn, XDG_CACHE_HOME: cacheHome, ...env } });
  const cacheDir = () => path.join(cacheHome, 'kms-envelope');
  const caches = async (bundle = '') => (await fs.readdir(cacheDir()).catch(() => [] as string[])).filter((n) => n.startsWith(bundle) && n.endsWith('.v8')).sort();
  const get = async () => {
    const r = await cli(['get', '.env', 'TOKEN']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${SECRET}\n`);
  };

  before(async () => {
    sb = await startSandbox();
  });
  after(() => sb.close());
  beforeEach(async () => {
    cwd = await fs.mkdtemp(path.join(sb.dir, 'cwd-'));
    cacheHome = await fs.mkdtemp(path.join(sb.dir, 'cache-'));
    await fs.writeFile(path.join(cwd, '.env'), `TOKEN=${SECRET}\n`);
    const enc = await cli(['encrypt', '.env'], { KMS_ENVELOPE_CODE_CACHE: '0' });
    assert.equal(enc.code, 0, enc.stderr);
    assert.deepEqual(await caches(), [], 'KMS_ENVELOPE_CODE_CACHE=0 makes no cache');
  });

  it('is made by the first KMS command (0600 in a 0700 folder, no secret in it) and used as is by the next', async () => {
    await get();
    const all = await caches();
    assert.equal(all.length, 2, all.join());
    assert.match(all[0], /^cli-main-[0-9a-f]{32}\.v8$/);
    const name = all[1];
    assert.match(name, /^kms-runtime-[0-9a-f]{32}\.v8$/);
    const file = path.join(cacheDir(), name);
    const st = await fs.stat(file);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal((await fs.stat(cacheDir())).mode & 0o777, 0o700);
    const bytes = await fs.readFile(file);
    assert.ok(bytes.length > 50_000, 'the cache holds the bundle compiled');
    assert.ok(!bytes.includes(SECRET), 'no value of the run is in the cache');
    await get();
    const again = await fs.stat(file);
    assert.equal(again.ino, st.ino, 'a cache V8 accepts is not written again');
    assert.equal(again.mtimeMs, st.mtimeMs);
  });

  it('a cache V8 refuses (garbage, or another build) is replaced, and the command works as without it', async () => {
    await get();
    const [name] = await caches('kms-runtime');
    await fs.writeFile(path.join(cacheDir(), name), Buffer.alloc(4096, 7), { mode: 0o600 });
    await get();
    const bytes = await fs.readFile(path.join(cacheDir(), name));
    assert.ok(!bytes.equals(Buffer.alloc(4096, 7)), 'the refused cache was made again');
    await fs.writeFile(path.join(cacheDir(), 'kms-runtime-00000000000000000000000000000000.v8'), 'an older version');
    await fs.rm(path.join(cacheDir(), name));
    await get();
    assert.deepEqual(await caches('kms-runtime'), [name], 'making a new cache removes those of other versions');
    assert.equal((await caches('cli-main')).length, 1, 'and only those of the same bundle');
  });

  it('a cache anyone else can write, or a symlink, is never loaded; the symlink target is left alone', async () => {
    await get();
    const [name] = await caches('kms-runtime');
    const file = path.join(cacheDir(), name);
    const good = await fs.readFile(file);
    // group-writable: someone else could have put it there (the cache is rewritten, from source)
    await fs.chmod(file, 0o664);
    const before = (await fs.stat(file)).ino;
    await get();
    assert.notEqual((await fs.stat(file)).ino, before, 'a group-writable cache is not used: a new one replaces it');
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    // a symlink to a valid cache elsewhere: not followed, replaced by a file of our own
    const elsewhere = path.join(sb.dir, 'planted.v8');
    await fs.writeFile(elsewhere, good);
    await fs.rm(file);
    await fs.symlink(elsewhere, file);
    await get();
    assert.ok((await fs.lstat(file)).isFile(), 'the symlink was replaced by a file');
    assert.deepEqual(await fs.readFile(elsewhere), good, 'the symlink target is untouched');
  });

  it('a cache folder that cannot be written changes nothing: the command succeeds and leaves no file', async () => {
    await fs.writeFile(path.join(cacheHome, 'kms-envelope'), 'not a folder');
    await get();
    assert.equal(await fs.readFile(path.join(cacheHome, 'kms-envelope'), 'utf8'), 'not a folder');
  });
});
