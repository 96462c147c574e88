import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Sandbox, startSandbox } from '../support/aws-sandbox';
import { runCli } from '../support/cli';

const ROOT = path.join(__dirname, '../..');
const exec = promisify(execFile);
const pkg = JSON.parse(require('node:fs').readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

/** What a user needs and nothing else: the CLI, the Node API (CJS, ESM, types), the preload, the docs. */
const EXPECTED_FILES = ['CHANGELOG.md', 'LICENSE', 'README.md', 'package.json', 'dist/api.js', 'dist/api.mjs', 'dist/cli-main.js', 'dist/cli.js', 'dist/config-worker.js', 'dist/config.js', 'dist/kms-runtime.js', 'dist/sops-runtime.js'];

describe('the npm package (npm run release): packed, installed offline into an empty project, used from there (against the local KMS)', function () {
  this.timeout(120_000);
  let sb: Sandbox;
  let out: string;
  let tarball: string;
  let app: string;
  /** A command in the app folder, with a clean environment and an npm cache of its own (empty: nothing can come from it). */
  const inApp = (cmd: string, args: string[], env: Record<string, string> = {}) =>
    exec(cmd, args, {
      cwd: app,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: path.join(sb.dir, 'home'), npm_config_cache: path.join(out, 'npm-cache'), npm_config_offline: 'true', npm_config_update_notifier: 'false', ...env },
    });
  const aws = () => ({ ...sb.env, AWS_PROFILE: 'default', KMS_ENVELOPE_KEY: sb.keyArn });

  before(async () => {
    sb = await startSandbox();
    out = await fs.mkdtemp(path.join(sb.dir, 'release-'));
    // npm test has built dist/: the release script packs what is there
    const r = await exec(process.execPath, [path.join(ROOT, 'scripts/release.mjs'), '--npm-only', '--no-build', '--out', out], { cwd: ROOT });
    tarball = r.stdout.trim();
    app = await fs.mkdtemp(path.join(sb.dir, 'app-'));
    await fs.writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    await inApp('npm', ['install', '--no-audit', '--no-fund', tarball]);
    await fs.writeFile(path.join(app, '.env'), 'DB_PASSWORD="correct horse"\nAPI_KEY=sk_live_123\n');
    const enc = await runCli(['encrypt', '.env', '--key', sb.keyArn], { cwd: app, env: aws() });
    assert.equal(enc.code, 0, enc.stderr);
  });
  after(() => sb.close());

  it('holds only the CLI, the API, the preload, their types and the docs, within its size budget, named by its version', async () => {
    assert.equal(path.basename(tarball), `${pkg.name}-${pkg.version}.tgz`);
    const listed = (await exec('tar', ['tzf', tarball])).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    const types = listed.filter((f) => f.startsWith('dist/types/'));
    assert.ok(types.includes('dist/types/api.d.ts') && types.includes('dist/types/config.d.ts'), 'the declarations');
    assert.ok(types.every((f) => f.endsWith('.d.ts')), `only declarations under dist/types: ${types.join(', ')}`);
    assert.deepEqual(listed.filter((f) => !f.startsWith('dist/types/')).sort(), [...EXPECTED_FILES].sort());
    assert.ok((await fs.stat(tarball)).size < 700 * 1024, 'under 700 KB packed');
  });

  it('its manifest has no runtime dependencies and no install scripts; bugs and homepage come from the repository', async () => {
    const manifest = JSON.parse(await fs.readFile(path.join(app, 'node_modules/kms-envelope/package.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(manifest.dependencies ?? {}, {});
    assert.equal(manifest.scripts, undefined);
    assert.equal(manifest.contributes, undefined, 'not the extension manifest');
    const repo = (manifest.repository as { url: string }).url.replace(/\.git$/, '');
    assert.deepEqual(manifest.bugs, { url: `${repo}/issues` });
    assert.equal(manifest.homepage, `${repo}#readme`);
    assert.equal((manifest.engines as { node: string }).node, '>=20');
    assert.deepEqual(await fs.readdir(path.join(app, 'node_modules')).then((d) => d.filter((n) => !n.startsWith('.'))), ['kms-envelope'], 'nothing else installed');
  });

  it('npx kms-envelope prints the package\'s version, and decrypts and runs against the local KMS', async () => {
    assert.equal((await inApp('npx', ['kms-envelope', '--version'])).stdout.trim(), pkg.version);
    const dec = await inApp('npx', ['kms-envelope', 'get', '.env', 'DB_PASSWORD'], aws());
    assert.equal(dec.stdout, 'correct horse\n');
    const run = await inApp('npx', ['kms-envelope', 'run', '--', 'node', '-e', 'process.stdout.write(process.env.API_KEY)'], aws());
    assert.equal(run.stdout, 'sk_live_123');
  });

  it('node -r kms-envelope/config, require("kms-envelope") and import from "kms-envelope" work from the installed package', async () => {
    const show = 'process.stdout.write(String(process.env.DB_PASSWORD))';
    assert.equal((await inApp(process.execPath, ['-r', 'kms-envelope/config', '-e', show], aws())).stdout, 'correct horse');
    await fs.writeFile(path.join(app, 'cjs.cjs'), `require('kms-envelope').load().then((v) => process.stdout.write(v.API_KEY));`);
    assert.equal((await inApp(process.execPath, ['cjs.cjs'], aws())).stdout, 'sk_live_123');
    await fs.writeFile(path.join(app, 'esm.mjs'), `import { load, KmsEnvelopeError } from 'kms-envelope';\nconst v = await load();\nprocess.stdout.write(v.API_KEY + ' ' + typeof KmsEnvelopeError);`);
    assert.equal((await inApp(process.execPath, ['esm.mjs'], aws())).stdout, 'sk_live_123 function');
  });

  it('its types compile in a strict TypeScript project, for require and import alike', async () => {
    await fs.writeFile(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', skipLibCheck: false, types: ['node'], typeRoots: [path.join(ROOT, 'node_modules/@types')] }, files: ['use.mts', 'use.cts'] }),
    );
    await fs.writeFile(path.join(app, 'use.mts'), `import { config, load, type LoadOptions } from 'kms-envelope';\nconst o: LoadOptions = { path: '.env', keys: ['alias/app'] };\nconst v: Record<string, string> = await load(o);\nawait config({ override: true, allowEnv: ['PATH'] });\nexport { v };\n`);
    await fs.writeFile(path.join(app, 'use.cts'), `import kms = require('kms-envelope');\nexport const p: Promise<Record<string, string>> = kms.load();\n`);
    await inApp(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.']).catch((err: { stdout?: string }) => assert.fail(err.stdout));
    // and a wrong use is an error: the types say something
    await fs.writeFile(path.join(app, 'use.cts'), `import kms = require('kms-envelope');\nexport const p: number = kms.load();\n`);
    await assert.rejects(inApp(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.']));
  });

  it('the full release: the .tgz and the .vsix of one version side by side, with SHA256SUMS that match them', async () => {
    const dir = await fs.mkdtemp(path.join(sb.dir, 'full-'));
    const r = await exec(process.execPath, [path.join(ROOT, 'scripts/release.mjs'), '--no-build', '--out', dir], { cwd: ROOT });
    const names = [`${pkg.name}-${pkg.version}.tgz`, `${pkg.name}-${pkg.version}.vsix`];
    assert.deepEqual((await fs.readdir(dir)).filter((f) => f !== 'npm-cache').sort(), ['SHA256SUMS', ...names].sort());
    const sums = (await fs.readFile(path.join(dir, 'SHA256SUMS'), 'utf8')).trim().split('\n');
    assert.equal(sums.length, 2);
    for (const line of sums) {
      const [sum, name] = line.split(/\s+/);
      assert.ok(names.includes(name), name);
      assert.equal(createHash('sha256').update(await fs.readFile(path.join(dir, name))).digest('hex'), sum, `the sum of ${name}`);
    }
    for (const f of ['extension/dist/extension.js', 'extension/package.json', 'package/dist/cli.js']) assert.ok(r.stdout.includes(f.replace(/^package\//, '')), `the listing names ${f}`);
  });

  it('stops a release whose package.json, CHANGELOG.md and CLI do not state one version', async () => {
    // a copy of the project whose package.json says another version than what was built and logged
    const copy = await fs.mkdtemp(path.join(sb.dir, 'copy-'));
    for (const f of ['dist', 'node_modules', 'README.md', 'LICENSE', 'CHANGELOG.md', 'media']) await fs.symlink(path.join(ROOT, f), path.join(copy, f));
    await fs.mkdir(path.join(copy, 'scripts'));
    await fs.copyFile(path.join(ROOT, 'scripts/release.mjs'), path.join(copy, 'scripts/release.mjs'));
    await fs.writeFile(path.join(copy, 'package.json'), JSON.stringify({ ...JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')), version: '9.9.9' }));
    const err = await exec(process.execPath, ['scripts/release.mjs', '--npm-only', '--no-build', '--out', path.join(copy, 'out')], { cwd: copy }).then(
      () => assert.fail('the release went on'),
      (e: { stderr: string }) => e.stderr,
    );
    assert.match(err, new RegExp(`version 9\\.9\\.9 of package.json is not what CHANGELOG\\.md \\(first release heading\\) says \\(${pkg.version.replace(/\./g, '\\.')}\\), the CLI \\(kms-envelope --version\\) says \\(${pkg.version.replace(/\./g, '\\.')}\\)`));
  });
});
