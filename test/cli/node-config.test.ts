import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Sandbox, startSandbox } from '../support/aws-sandbox';
import { runCli, runProgram } from '../support/cli';

const ROOT = path.join(__dirname, '../..');
const ENV = 'DB_PASSWORD="correct horse # battery"\nAPI_KEY=sk_live_123\nHOME_SET=from-file\nNODE_OPTIONS=--require=/tmp/evil.js\n';
/** A program that prints what it sees, to show what the preload gave it. */
const APP = `process.stdout.write(JSON.stringify({ db: process.env.DB_PASSWORD, api: process.env.API_KEY, home: process.env.HOME_SET, nodeOptions: process.env.NODE_OPTIONS ?? null }))`;

describe('Node preload: node -r kms-envelope/config and import "kms-envelope/config" (against the local KMS)', function () {
  let sb: Sandbox;
  let app: string;

  /** Runs `node ...args` in the app folder, as a user's start script would. */
  const node = (args: string[], env: Record<string, string> = {}) =>
    runProgram(process.execPath, args, { cwd: app, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...sb.env, AWS_PROFILE: 'default', KMS_ENVELOPE_KEY: sb.keyArn, ...env } });
  const encrypt = async (file: string, text: string) => {
    await fs.writeFile(path.join(app, file), text);
    const r = await runCli(['encrypt', file, '--key', sb.keyArn], { cwd: app, env: { ...sb.env, AWS_PROFILE: 'default' } });
    assert.equal(r.code, 0, r.stderr);
  };

  before(async () => {
    sb = await startSandbox();
  });
  after(() => sb.close());
  beforeEach(async () => {
    // an app that depends on kms-envelope, as installed by npm (a link to this package)
    app = await fs.mkdtemp(path.join(sb.dir, 'app-'));
    await fs.mkdir(path.join(app, 'node_modules'));
    await fs.symlink(ROOT, path.join(app, 'node_modules', 'kms-envelope'));
    await fs.writeFile(path.join(app, 'app.js'), APP);
    await encrypt('.env', ENV);
    sb.kms.log.length = 0;
  });

  it('-r reads a SOPS .env too: its values, as sops exec-env gives them, with one KMS call (issue 22)', async () => {
    await fs.writeFile(path.join(app, 'sops.env'), 'DB_PASSWORD=sops preload value\nAPI_KEY=sk_sops\n');
    const made = await runCli(['encrypt', '--format', 'sops', 'sops.env', '--key', sb.keyArn], { cwd: app, env: { ...sb.env, AWS_PROFILE: 'default' } });
    assert.equal(made.code, 0, made.stderr);
    sb.kms.log.length = 0;
    const r = await node(['-r', 'kms-envelope/config', 'app.js'], { KMS_ENVELOPE_CONFIG_PATH: 'sops.env' });
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout);
    assert.equal(seen.db, 'sops preload value');
    assert.equal(seen.api, 'sk_sops');
    assert.equal(sb.kms.count('Decrypt'), 1);
  });

  it('-r loads the decrypted values before the program runs, with one KMS call; variables already set win; loader variables are left out and named', async () => {
    const r = await node(['-r', 'kms-envelope/config', 'app.js'], { HOME_SET: 'from-parent' });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { db: 'correct horse # battery', api: 'sk_live_123', home: 'from-parent', nodeOptions: null });
    assert.match(r.stderr, /left out NODE_OPTIONS/);
    assert.ok(!r.stderr.includes('sk_live_123') && !r.stderr.includes('evil'), 'no value on stderr');
    assert.equal(sb.kms.count('Decrypt'), 1);
    assert.equal(sb.kms.count(), 1, 'one KMS call in all');
  });

  it('import "kms-envelope/config" in an ES module runs before the module body; OVERRIDE and ALLOW_ENV are the user\'s to give', async () => {
    await fs.writeFile(path.join(app, 'app.mjs'), `import 'kms-envelope/config';\n${APP}`);
    const r = await node(['app.mjs'], { HOME_SET: 'from-parent', KMS_ENVELOPE_CONFIG_OVERRIDE: 'true', KMS_ENVELOPE_CONFIG_ALLOW_ENV: 'NODE_OPTIONS' });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { db: 'correct horse # battery', api: 'sk_live_123', home: 'from-file', nodeOptions: '--require=/tmp/evil.js' });
  });

  it('KMS_ENVELOPE_CONFIG_PATH names the files, later ones winning, one KMS call per file', async () => {
    await encrypt('.env.local', 'API_KEY=local-override\n');
    const r = await node(['-r', 'kms-envelope/config', 'app.js'], { KMS_ENVELOPE_CONFIG_PATH: '.env, .env.local' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).api, 'local-override');
    assert.equal(JSON.parse(r.stdout).db, 'correct horse # battery');
    assert.equal(sb.kms.count('Decrypt'), 2);
  });

  it('a file without a kms-envelope header stops the program before its first line (NOT_ENCRYPTED), unless the user allows plaintext', async () => {
    // a committer replaces the encrypted file by a plain one: its values are not authenticated
    await fs.writeFile(path.join(app, '.env'), 'API_KEY=attacker-chosen\n');
    await fs.writeFile(path.join(app, 'app.js'), `require('fs').writeFileSync('ran', '1'); ${APP}`);
    const r = await node(['-r', 'kms-envelope/config', 'app.js']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^kms-envelope\/config: .*no kms-envelope header.*\(NOT_ENCRYPTED\)/);
    assert.equal(r.stdout, '');
    await assert.rejects(fs.access(path.join(app, 'ran')), 'the program did not run');
    assert.equal(sb.kms.count(), 0);

    const allowed = await node(['-r', 'kms-envelope/config', 'app.js'], { KMS_ENVELOPE_CONFIG_ALLOW_PLAINTEXT: 'true' });
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal(JSON.parse(allowed.stdout).api, 'attacker-chosen');
  });

  it('a tampered file, a key outside the allow-list and a missing file each stop the program with the error code', async () => {
    const text = await fs.readFile(path.join(app, '.env'), 'utf8');
    const token = /ENC\[kmsenv:v1:([A-Za-z0-9_-]+)\]/.exec(text)!;
    const flipped = token[1].slice(0, 20) + (token[1][20] === 'A' ? 'B' : 'A') + token[1].slice(21);
    await fs.writeFile(path.join(app, '.env'), text.replace(token[1], flipped));
    const tampered = await node(['-r', 'kms-envelope/config', 'app.js']);
    assert.equal(tampered.code, 1);
    assert.match(tampered.stderr, /\((TAMPERED|FORMAT)\)/);
    assert.equal(tampered.stdout, '');

    await fs.writeFile(path.join(app, '.env'), text);
    const otherAccount = await node(['-r', 'kms-envelope/config', 'app.js'], { KMS_ENVELOPE_KEY: '', KMS_ENVELOPE_ALLOWED_KEYS: 'arn:aws:kms:*:999999999999:key/*' });
    assert.equal(otherAccount.code, 1);
    assert.match(otherAccount.stderr, /\(KEY_NOT_ALLOWED\)/);

    const missing = await node(['-r', 'kms-envelope/config', 'app.js'], { KMS_ENVELOPE_CONFIG_PATH: '.env.nope' });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /\.env\.nope/);
  });

  it('the package exports the Node API and the preload with their types (a TypeScript consumer compiles under node16 resolution)', async () => {
    await fs.writeFile(path.join(app, 'use.ts'), `import { config, load, KmsEnvelopeError, type LoadOptions } from 'kms-envelope';\nimport 'kms-envelope/config';\nconst o: LoadOptions = { path: ['.env'], allowPlaintext: false };\nexport const run = async (): Promise<string | undefined> => { const v: Record<string, string> = await load(o); await config({ override: true }); return v.X ?? (new KmsEnvelopeError('USAGE', 'x')).code; };\n`);
    await fs.writeFile(path.join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true, types: [], skipLibCheck: false, typeRoots: [path.join(ROOT, 'node_modules/@types')] }, files: ['use.ts'] }));
    await fs.symlink(path.join(ROOT, 'node_modules', '@types'), path.join(app, 'node_modules', '@types'));
    const tsc = await promisify(execFile)(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.', '--types', 'node'], { cwd: app }).then(
      () => ({ code: 0, out: '' }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    assert.equal(tsc.code, 0, tsc.out);
  });
});
