import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { decrypt as sopsDecoder } from 'sops-decoder';
import { parse as parseYaml } from 'yaml';
import { ADMIN, READER, startSandbox, Sandbox } from '../support/aws-sandbox';
import { runCli, runProgram } from '../support/cli';
import { withEnv } from '../support/with-env';
import { fixture, kmsWrap, pgpDataKey, withKmsRecipient } from '../support/sops-fixtures';
import { referenceDecrypt } from '../support/sops-reference';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { sealSops } from '../../src/core/sops/document';
import { openSopsFile } from '../../src/core/sops/files';

/**
 * The CLI on SOPS files (issue 22): new files that follow the repository's .sops.yaml, re-keying,
 * set, run, and the pre-commit guard. Every file the product writes is read back by the reference
 * reader and sops-decoder, never by the product alone.
 */
describe('CLI on SOPS files (dist/cli.js against the local KMS)', function () {
  this.timeout(60_000);
  let sb: Sandbox;
  let cwd: string;
  const cli = (args: string[], env: Record<string, string> = {}, input?: string) =>
    runCli(args, { cwd, env: { ...sb.env, AWS_PROFILE: 'default', KMS_ENVELOPE_KEY: sb.keyArn, KMS_ENVELOPE_ALLOWED_KEYS: 'arn:aws:kms:*:000000000000:key/*', ...env }, input });
  const read = (f: string) => fs.readFile(path.join(cwd, f), 'utf8');
  const write = (f: string, text: string) => fs.mkdir(path.dirname(path.join(cwd, f)), { recursive: true }).then(() => fs.writeFile(path.join(cwd, f), text));
  const reference = (text: string, store: 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary') => withEnv(sb.env, () => referenceDecrypt(text, store));

  before(async () => {
    sb = await startSandbox();
  });
  after(() => sb.close());
  beforeEach(async () => {
    cwd = await fs.mkdtemp(path.join(sb.dir, 'cwd-'));
    await fs.mkdir(path.join(cwd, '.git'));
  });

  it('encrypt --format sops follows .sops.yaml: the first matching path_regex chooses the keys and encrypted_regex; other readers decrypt the result', async () => {
    await write('.sops.yaml', `creation_rules:\n  - path_regex: ^k8s/.*\\.yaml$\n    kms: ${sb.otherKeyArn}\n    encrypted_regex: ^(data|stringData)$\n  - path_regex: .*\n    kms: ${sb.keyArn}\n`);
    const secret = 'apiVersion: v1\nkind: Secret\nmetadata:\n    name: db # the database\nstringData:\n    password: yaml-sops-secret\n    port: 5432\n';
    await write('k8s/secret.yaml', secret);
    const r = await cli(['encrypt', '--format', 'sops', 'k8s/secret.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /keys and rules from .*\.sops\.yaml/);
    const text = await read('k8s/secret.yaml');
    assert.doesNotMatch(text, /yaml-sops-secret/);
    assert.match(text, /^kind: Secret$/m, 'keys outside encrypted_regex stay in clear');
    assert.match(text, /^ {4}encrypted_regex: \^\(data\|stringData\)\$$/m);
    assert.ok(text.includes(`arn: ${sb.otherKeyArn}`), 'the rule\'s key');
    const ref = await reference(text, 'yaml');
    assert.deepEqual(ref.values, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: 'yaml-sops-secret', port: 5432n } });
    await withEnv(sb.env, async () => assert.deepEqual(await sopsDecoder(parseYaml(text)), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, stringData: { password: 'yaml-sops-secret', port: 5432 } }));
    // and the product reads back the same layout
    assert.equal((await cli(['decrypt', '--stdout', 'k8s/secret.yaml'])).stdout, secret);

    // the catch-all rule for a .env, a .json and any other file (binary, as sops stores it)
    await write('app.env', 'TOKEN=env-sops-secret\nMODE=prod\n');
    await write('config.json', '{\n  "token": "json-sops-secret",\n  "n": 1.5,\n  "on": true\n}\n');
    await write('id_rsa', '-----BEGIN KEY-----\nbinary-sops-secret\n-----END KEY-----\n');
    for (const f of ['app.env', 'config.json', 'id_rsa']) assert.equal((await cli(['encrypt', '--format', 'sops', f])).code, 0);
    assert.deepEqual((await reference(await read('app.env'), 'dotenv')).values, { TOKEN: 'env-sops-secret', MODE: 'prod' });
    assert.deepEqual((await reference(await read('config.json'), 'json')).values, { token: 'json-sops-secret', n: 1.5, on: true });
    assert.deepEqual((await reference(await read('id_rsa'), 'binary')).values, { data: '-----BEGIN KEY-----\nbinary-sops-secret\n-----END KEY-----\n' });
    await withEnv(sb.env, async () => assert.deepEqual(await sopsDecoder(JSON.parse(await read('config.json'))), { token: 'json-sops-secret', n: 1.5, on: true }));
    // no sops-written binary file with a public key exists to test against: sops-decoder reads ours
    await withEnv(sb.env, async () => assert.deepEqual(await sopsDecoder(JSON.parse(await read('id_rsa'))), { data: '-----BEGIN KEY-----\nbinary-sops-secret\n-----END KEY-----\n' }));
    for (const f of ['app.env', 'config.json', 'id_rsa']) assert.ok((await read(f)).includes(`arn: ${sb.keyArn}`) || (await read(f)).includes(`"arn": "${sb.keyArn}"`) || (await read(f)).includes(`sops_kms__list_0__map_arn=${sb.keyArn}`), f);
    assert.equal((await cli(['decrypt', '--stdout', 'id_rsa'])).stdout, '-----BEGIN KEY-----\nbinary-sops-secret\n-----END KEY-----\n');
    await write('db.ini', '; database\n[db]\nhost = db.internal\npassword = ini-sops-secret\n\n[cache]\nurl = redis://x\n');
    assert.equal((await cli(['encrypt', '--format', 'sops', 'db.ini'])).code, 0);
    const ini = await read('db.ini');
    assert.doesNotMatch(ini, /ini-sops-secret|db\.internal|database/);
    assert.match(ini, /^\[sops\]$/m);
    assert.deepEqual((await reference(ini, 'ini')).values, { db: { host: 'db.internal', password: 'ini-sops-secret' }, cache: { url: 'redis://x' } });
    assert.equal((await cli(['decrypt', '--stdout', 'db.ini'])).stdout, '; database\n[db]\nhost = db.internal\npassword = ini-sops-secret\n\n[cache]\nurl = redis://x\n');
  });

  it('a .sops.yaml key outside the allow-list is not used (the user\'s key is), and a pattern that could backtrack without bound is refused', async () => {
    await write('.sops.yaml', `creation_rules:\n  - kms: arn:aws:kms:us-east-1:999999999999:key/11111111-1111-1111-1111-111111111111\n`);
    await write('a.env', 'A=1\n');
    const r = await cli(['encrypt', '--format', 'sops', 'a.env']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /names keys for a\.env that are not allowed, not used: arn:aws:kms:us-east-1:999999999999/);
    assert.ok((await read('a.env')).includes(`sops_kms__list_0__map_arn=${sb.keyArn}`));
    await write('.sops.yaml', 'creation_rules:\n  - path_regex: (a+)+$\n');
    await write('b.env', 'B=1\n');
    const slow = await cli(['encrypt', '--format', 'sops', 'b.env']);
    assert.equal(slow.code, 3);
    assert.match(slow.stderr, /can take exponential time/);
    assert.equal(await read('b.env'), 'B=1\n', 'untouched');
  });

  it('rewrap --add-key keeps values, MAC and the PGP recipient; rotate and --remove-key make a new data key; the PGP file is refused a rotation', async () => {
    const original = fixture('format.enc.yaml');
    const dataKey = pgpDataKey(original, 'yaml');
    await write('s.yaml', withKmsRecipient(original, 'yaml', sb.keyArn, await withEnv(sb.env, () => kmsWrap(dataKey, sb.keyArn))));
    const before = await read('s.yaml');
    const add = await cli(['rewrap', 's.yaml', '--add-key', 'alias/other']);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stderr, new RegExp(`added ${sb.otherKeyArn}`));
    const added = await read('s.yaml');
    assert.equal(/^foo: .*$/m.exec(added)![0], /^foo: .*$/m.exec(before)![0], 'the value keeps its ciphertext');
    assert.equal(/mac: .*$/m.exec(added)![0], /mac: .*$/m.exec(before)![0], 'and the MAC');
    assert.deepEqual(pgpDataKey(added, 'yaml'), dataKey, 'the PGP recipient still opens it');
    // the new key alone opens it
    assert.equal((await cli(['decrypt', '--stdout', 's.yaml'], { KMS_ENVELOPE_ALLOWED_KEYS: sb.otherKeyArn })).stdout, 'foo: bar\n');
    const rotate = await cli(['rotate', 's.yaml']);
    assert.equal(rotate.code, 2);
    assert.match(rotate.stderr, /also encrypted for 1 PGP.*sops rotate/s);

    await write('k.env', 'K=kept-value\n');
    assert.equal((await cli(['encrypt', '--format', 'sops', 'k.env'])).code, 0);
    assert.equal((await cli(['rewrap', 'k.env', '--add-key', 'alias/other'])).code, 0);
    const two = await reference(await read('k.env'), 'dotenv');
    const removed = await cli(['rewrap', 'k.env', '--remove-key', 'alias/other']);
    assert.equal(removed.code, 0, removed.stderr);
    const after = await read('k.env');
    assert.ok(!after.includes(sb.otherKeyArn), 'the removed key is gone');
    const one = await reference(after, 'dotenv');
    assert.deepEqual(one.values, { K: 'kept-value' });
    assert.notDeepEqual(one.dataKey, two.dataKey, 'a new data key');
    assert.equal((await cli(['rotate', 'k.env'])).code, 0);
    assert.notDeepEqual((await reference(await read('k.env'), 'dotenv')).dataKey, one.dataKey);
  });

  it('set changes one variable of a SOPS .env (the others keep their ciphertext); run and get give the values as sops exec-env does', async () => {
    await write('s.env', 'A=first\nB=second\n');
    assert.equal((await cli(['encrypt', '--format', 'sops', 's.env'])).code, 0);
    const before = await read('s.env');
    const set = await cli(['set', 's.env', 'B'], {}, 'changed\n');
    assert.equal(set.code, 0, set.stderr);
    const after = await read('s.env');
    assert.equal(/^A=.*$/m.exec(after)![0], /^A=.*$/m.exec(before)![0]);
    assert.notEqual(/^B=.*$/m.exec(after)![0], /^B=.*$/m.exec(before)![0]);
    assert.deepEqual((await reference(after, 'dotenv')).values, { A: 'first', B: 'changed' });
    assert.equal((await cli(['get', 's.env', 'B'])).stdout, 'changed\n');
    const run = await cli(['run', '-f', 's.env', '--', process.execPath, '-e', 'process.stdout.write(process.env.A + "," + process.env.B)']);
    assert.equal(run.stdout, 'first,changed');
  });

  it('a SOPS entry\'s aws_profile is used only with --sops-profiles or KMS_ENVELOPE_SOPS_PROFILES=1 (not =0)', async () => {
    await write('p.env', 'A=1\n');
    assert.equal((await cli(['encrypt', '--format', 'sops', 'p.env'])).code, 0);
    await write('p.env', (await read('p.env')).replace('sops_kms__list_0__map_aws_profile=', 'sops_kms__list_0__map_aws_profile=reader'));
    const who = async (args: string[], env: Record<string, string> = {}) => {
      sb.kms.log.length = 0;
      const r = await cli([...args, 'get', 'p.env', 'A'], env);
      assert.equal(r.stdout, '1\n', r.stderr);
      return sb.kms.log.filter((e) => e.action === 'Decrypt').map((e) => e.accessKeyId);
    };
    assert.deepEqual(await who([]), [ADMIN.accessKeyId]);
    assert.deepEqual(await who([], { KMS_ENVELOPE_SOPS_PROFILES: '0' }), [ADMIN.accessKeyId]);
    assert.deepEqual(await who(['--sops-profiles']), [READER.accessKeyId]);
    assert.deepEqual(await who([], { KMS_ENVELOPE_SOPS_PROFILES: '1' }), [READER.accessKeyId]);
  });

  it('the pre-commit guard takes SOPS files for encrypted, and flags a value left in clear in one', async () => {
    await write('prod.env', 'SECRET=guard-sops-secret\nNAME_unencrypted=visible\n');
    assert.equal((await cli(['encrypt', '--format', 'sops', 'prod.env'])).code, 0);
    const ok = await cli(['check', 'prod.env']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    await write('prod.env', (await read('prod.env')).replace(/^SECRET=.*$/m, 'SECRET=typed-in-clear'));
    const bad = await cli(['check', 'prod.env']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stdout + bad.stderr, /1 value in clear where it should be encrypted \(SECRET\)/);
    assert.doesNotMatch(bad.stdout + bad.stderr, /typed-in-clear/);
  });

  it('in git: setup gives tracked SOPS files the driver; git diff shows them decrypted; git merge merges them value by value into a file sops readers accept', async () => {
    const env = { ...sb.env, AWS_PROFILE: 'default', KMS_ENVELOPE_KEY: sb.keyArn, KMS_ENVELOPE_ALLOWED_KEYS: 'arn:aws:kms:*:000000000000:key/*', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.invalid', HOME: sb.env.HOME };
    const git = async (...args: string[]) => {
      const r = await runProgram('git', args, { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
      assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    await fs.rm(path.join(cwd, '.git'), { recursive: true });
    await git('init', '-q', '-b', 'main');
    await write('deploy/secrets.yaml', 'db:\n    password: merge-base\n    user: app\nport: 5432\n');
    assert.equal((await cli(['encrypt', '--format', 'sops', 'deploy/secrets.yaml'])).code, 0);
    assert.equal((await cli(['git', 'setup'])).code, 0);
    assert.match(await read('.gitattributes'), /^\/deploy\/secrets\.yaml diff=kms-envelope merge=kms-envelope -text$/m);
    await git('add', '-A');
    await git('commit', '-q', '-m', 'sops file');
    // a change on a branch, another on main: each through the product's SOPS set-up, as an editor save would
    const editTo = async (from: string, to: string) => {
      await withEnv(sb.env, async () => {
        const o = await openSopsFile(path.join(cwd, 'deploy/secrets.yaml'), new KmsKeyProvider({ allowedKeys: ['arn:aws:kms:*:000000000000:key/*'] }));
        await fs.writeFile(path.join(cwd, 'deploy/secrets.yaml'), sealSops(o, o.plaintext.replace(from, to), 'secrets.yaml'));
        o.key.fill(0);
      });
    };
    await git('checkout', '-q', '-b', 'feature');
    await editTo('user: app', 'user: feature-user');
    await git('commit', '-qam', 'feature');
    await git('checkout', '-q', 'main');
    await editTo('merge-base', 'main-password');
    const diff = await git('diff');
    assert.match(diff, /^-    password: merge-base$/m);
    assert.match(diff, /^\+    password: main-password$/m);
    await git('commit', '-qam', 'main');
    await git('merge', '-q', '--no-edit', 'feature');
    const merged = await read('deploy/secrets.yaml');
    assert.deepEqual((await reference(merged, 'yaml')).values, { db: { password: 'main-password', user: 'feature-user' }, port: 5432n });
    assert.equal((await cli(['check', 'deploy/secrets.yaml'])).code, 0);
  });
});
