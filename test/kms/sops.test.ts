import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { decrypt as sopsDecoder } from 'sops-decoder';
import { parse as parseYaml } from 'yaml';
import { openSops, readsBack, sealSops } from '../../src/core/sops/document';
import { openSopsFile, sopsUnwrap, sopsVariables, withSops } from '../../src/core/sops/files';
import { addSopsKey, encryptSopsFile, removeSopsKey, rotateSopsFile, setSopsValue } from '../../src/core/sops/recipients';
import { refusedAs } from '../support/errors';
import { mergeEncrypted } from '../../src/core/git/merge-driver';
import { openEnvFiles } from '../../src/core/run-env';
import { textconv } from '../../src/core/git/textconv';
import { kindOf } from '../../src/core/kind';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { decryptFile, loadEnvFiles } from '../../src/core/operations';
import { ADMIN, LOCAL_ACCOUNT_KEYS, NOBODY, READER, ROLE_ARN, sandboxPerSuite } from '../support/aws-sandbox';
import { fixture, kmsWrap, pgpDataKey, withKmsRecipient } from '../support/sops-fixtures';
import { referenceDecrypt } from '../support/sops-reference';

type Store = 'yaml' | 'json' | 'dotenv' | 'ini';

/**
 * SOPS files (issue 22): files the sops CLI wrote, read through the product's KMS seam (the local
 * KMS, the real SDK and provider chain), their MAC checked as sops checks it; saves that sops
 * readers accept, checked by two readers that are not the product's.
 */
describe('SOPS files: read as sops reads them, written so sops reads them (local KMS)', function () {
  this.timeout(30_000);
  const box = sandboxPerSuite('sops-');
  const at = box.at;
  const kms = () => new KmsKeyProvider({ allowedKeys: [LOCAL_ACCOUNT_KEYS] });

  const SAMPLES: { file: string; store: Store; plaintext: string }[] = [
    { file: 'format.enc.yaml', store: 'yaml', plaintext: 'foo: bar\n' },
    { file: 'format.enc.json', store: 'json', plaintext: '{\n\t"foo": "bar"\n}\n' },
    { file: 'format.enc.env', store: 'dotenv', plaintext: 'foo = bar\n' },
    { file: 'comments.enc.yaml', store: 'yaml', plaintext: '# first comment in file\nlorem: ipsum\n# this-is-a-comment\ndolor: sit\n' },
    { file: 'format.enc.ini', store: 'ini', plaintext: '[foo]\nbar = baz\n' },
    { file: 'format-2.enc.ini', store: 'ini', plaintext: '[foo]\nbar = baz\n' },
  ];

  /** A fixture the sops CLI wrote, with a local KMS recipient added (values and MAC untouched). */
  async function readable(file: string, store: Store, context?: Record<string, string>): Promise<{ text: string; dataKey: Buffer }> {
    const original = fixture(file);
    const dataKey = pgpDataKey(original, store);
    return { text: withKmsRecipient(original, store, box.sb.keyArn, await kmsWrap(dataKey, box.sb.keyArn, context), context), dataKey };
  }

  it('the data keys of the fixtures are the test vectors docs/SOPS.md gives', () => {
    const vectors: Record<string, string> = {
      'format.enc.yaml': 'af5e68dd342b72c6a0475f81a50da4fde898f4b7742c92cbcf1668211411f4e4',
      'format.enc.json': '9f6aeda6383502c38f7dae6fbbb8cb6890582adb0335effa8952fe590d7a9596',
      'format.enc.env': '322d9a97997823fb2bf42f55a6c26100cbaf0520cf88bb7ebee1cf47dd6d318d',
      'comments.enc.yaml': '61bec946f5783fd4cea3d1b1ce407fce2b6e81fc301cc539c422015e27f6d1be',
      'format.enc.ini': 'ce46fd76883106d55913ff2207e160bbeac65a71d6e1cf84c510614bed6f8ccd',
      'format-2.enc.ini': '200b251d35608cb3451d26d95d0f6c4580575d8f61d908b6d224fc488c65263f',
    };
    for (const s of SAMPLES) assert.equal(pgpDataKey(fixture(s.file), s.store).toString('hex'), vectors[s.file], s.file);
  });

  for (const s of SAMPLES) {
    it(`${s.file} (written by sops ${s.file.startsWith('comments') ? '3.6.1' : s.file === 'format.enc.ini' ? '3.13.2' : '3.13.1'}) opens decrypted, its MAC verified, with one KMS call`, async () => {
      const { text } = await readable(s.file, s.store);
      const name = s.file.replace('.enc', '');
      await fs.writeFile(at(name), text);
      assert.equal(await kindOf(at(name)), 'sops');
      box.sb.kms.log.length = 0;
      const opened = await openSopsFile(at(name), kms());
      assert.equal(opened.plaintext, s.plaintext);
      assert.equal(box.sb.kms.count('Decrypt'), 1);
      // unchanged, the file comes back byte for byte
      assert.equal(sealSops(opened, opened.plaintext, name), text);
      opened.key.fill(0);
    });
  }

  it('a save changes only the edited value, the MAC and lastmodified; sops readers (the reference reader, sops-decoder) accept it; the PGP recipient still opens it', async () => {
    for (const s of SAMPLES.filter((x) => !x.file.startsWith('comments'))) {
      const { text, dataKey } = await readable(s.file, s.store);
      const opened = await openSops(text, s.store, s.file, sopsUnwrap(kms(), s.file));
      const edited = s.store === 'ini' ? opened.plaintext.replace('baz', 'changed value') : opened.plaintext.replace('bar', 'changed value');
      const sealed = sealSops(opened, edited, s.file, new Date('2026-12-07T10:00:00Z'));
      await readsBack(opened, sealed, edited, s.file);
      const before = text.split('\n');
      const after = sealed.split('\n');
      assert.equal(after.length, before.length);
      const changed = after.map((l, i) => (l === before[i] ? '' : l.replace(/ENC\[.*\]/, 'ENC').trim())).filter(Boolean);
      const expected = {
        yaml: ['foo: ENC', 'lastmodified: "2026-12-07T10:00:00Z"', 'mac: ENC'],
        json: ['"foo": "ENC",', '"lastmodified": "2026-12-07T10:00:00Z",', '"mac": "ENC",'],
        dotenv: ['foo =ENC', 'sops_lastmodified=2026-12-07T10:00:00Z', 'sops_mac=ENC'],
        ini: ['bar = ENC', 'lastmodified                = 2026-12-07T10:00:00Z', 'mac                         = ENC'],
      }[s.store];
      assert.deepEqual(changed, expected, s.file);
      const ref = await referenceDecrypt(sealed, s.store);
      assert.deepEqual(ref.values, s.store === 'dotenv' ? { 'foo ': ' changed value' } : s.store === 'ini' ? { foo: { bar: 'changed value' } } : { foo: 'changed value' });
      if (s.store === 'yaml' || s.store === 'json') {
        const tree = s.store === 'json' ? JSON.parse(sealed) : parseYaml(sealed);
        assert.deepEqual(await sopsDecoder(tree), { foo: 'changed value' });
      }
      // the data key is the one the sops test PGP key unwraps: its holder reads the new version too
      assert.deepEqual(pgpDataKey(sealed, s.store), dataKey);
      assert.deepEqual(ref.dataKey, dataKey);
      opened.key.fill(0);
    }
  });

  it('comments that sops encrypted are shown decrypted and sealed again with the additional data sops reads them with', async () => {
    const { text } = await readable('comments.enc.yaml', 'yaml');
    const opened = await openSops(text, 'yaml', 'c.yaml', sopsUnwrap(kms(), 'c.yaml'));
    const edited = opened.plaintext.replace('# this-is-a-comment', '# a new comment').replace('lorem: ipsum', 'lorem: ipsum\nnested:\n  # inside\n  deep: value');
    const sealed = sealSops(opened, edited, 'c.yaml');
    assert.doesNotMatch(sealed, /new comment|inside|deep: value/);
    assert.match(sealed, /^#ENC\[AES256_GCM,data:IYA\+b4ORDq8u9CBQolipWD4HRqoZyA==,/m, 'the unchanged comment keeps its ciphertext');
    const again = await openSops(sealed, 'yaml', 'c.yaml', async () => Buffer.from(opened.key));
    assert.equal(again.plaintext, edited);
    // each comment under the path sops gives it: its container's keys
    const aads = again.decrypted.filter((d) => d.visit.node.kind === 'comment').map((d) => [d.plain!.text, d.aad]);
    assert.deepEqual(aads, [[' first comment in file', ':'], [' inside', 'nested:'], [' a new comment', ':']]);
    assert.deepEqual((await referenceDecrypt(sealed, 'yaml')).values, { lorem: 'ipsum', nested: { deep: 'value' }, dolor: 'sit' });
    opened.key.fill(0);
    again.key.fill(0);
  });

  it('a new YAML file keeps its layout: quotes, flow lists, comments and nesting come back as written (a block scalar comes back double-quoted, the same value)', async () => {
    const plain = '# settings\ndb:\n  host: "db.internal"   # the primary\n  user: \'admin\'\n  password: hunter2\n  ports: [5432, 5433]\nfeatures:\n  - name: beta\n    enabled: true\nratio: 0.5\nnothing: null\nempty: ""\nnote: |\n  multi\n  line\n';
    await fs.writeFile(at('new.yaml'), plain);
    await encryptSopsFile(at('new.yaml'), kms(), { keys: [box.sb.keyArn] });
    const text = await fs.readFile(at('new.yaml'), 'utf8');
    for (const secret of ['db.internal', 'admin', 'hunter2', '5432', 'beta', 'the primary', 'settings', 'multi']) assert.ok(!text.includes(secret), secret);
    assert.match(text, /^ {2}host: "ENC\[.*type:str\]" {3}#ENC\[.*type:comment\]$/m, 'quotes and the line comment\'s place kept');
    assert.match(text, /^ {2}ports: \["ENC\[.*type:int\]", "ENC\[.*type:int\]"\]$/m);
    assert.match(text, /^nothing: null$/m);
    assert.match(text, /^empty: ""$/m);
    const opened = await openSopsFile(at('new.yaml'), kms());
    assert.equal(opened.plaintext, plain.replace('note: |\n  multi\n  line\n', 'note: "multi\\nline\\n"\n'));
    opened.key.fill(0);
    const ref = await referenceDecrypt(text, 'yaml');
    assert.deepEqual(ref.values, { db: { host: 'db.internal', user: 'admin', password: 'hunter2', ports: [5432n, 5433n] }, features: [{ name: 'beta', enabled: true }], ratio: 0.5, nothing: null, empty: '', note: 'multi\nline\n' });
    assert.deepEqual(await sopsDecoder(parseYaml(text)), { db: { host: 'db.internal', user: 'admin', password: 'hunter2', ports: [5432, 5433] }, features: [{ name: 'beta', enabled: true }], ratio: 0.5, nothing: null, empty: '', note: 'multi\nline\n' });
  });

  it('each of sops\'s rules chooses the values it encrypts, as sops does; the reference reader (and its MAC) agrees, mac_only_encrypted included', async () => {
    const plain = 'name: visible\npassword: hidden-value\ntoken_unencrypted: plain-token\ndb:\n    user_enc: enc-user\n    host: db.internal\n';
    const cases: [Record<string, string | boolean>, string[]][] = [
      [{ unencrypted_suffix: '_unencrypted' }, ['token_unencrypted']],
      [{ encrypted_suffix: '_enc' }, ['name', 'password', 'token_unencrypted', 'host']],
      [{ unencrypted_regex: '^(name|host)$' }, ['name', 'host']],
      [{ encrypted_regex: '^(password|db)$' }, ['name', 'token_unencrypted']],
      [{ encrypted_regex: '^password$', mac_only_encrypted: true }, ['name', 'token_unencrypted', 'user_enc', 'host']],
    ];
    for (const [crypt, clear] of cases) {
      await fs.writeFile(at('rules.yaml'), plain);
      await encryptSopsFile(at('rules.yaml'), kms(), { keys: [box.sb.keyArn], crypt });
      const text = await fs.readFile(at('rules.yaml'), 'utf8');
      const inClear = [...text.matchAll(/^ *(\w+): (?!ENC\[)(\S+)$/gm)].map((m) => m[1]).filter((k) => !['lastmodified', 'version', 'arn', 'aws_profile', 'created_at', 'enc', 'unencrypted_suffix', 'encrypted_suffix', 'unencrypted_regex', 'encrypted_regex', 'mac_only_encrypted'].includes(k));
      assert.deepEqual(inClear.sort(), [...clear].sort(), JSON.stringify(crypt));
      assert.deepEqual((await referenceDecrypt(text, 'yaml')).values, { name: 'visible', password: 'hidden-value', token_unencrypted: 'plain-token', db: { user_enc: 'enc-user', host: 'db.internal' } }, JSON.stringify(crypt));
      await fs.rm(at('rules.yaml'));
    }
  });

  it('encrypted_comment_regex encrypts only what follows a matching comment (the comment itself stays clear), as sops.go does', async () => {
    await fs.writeFile(at('c.yaml'), 'name: visible\n# sops:enc\npassword: hidden-value\nhost: db.internal\n');
    await encryptSopsFile(at('c.yaml'), kms(), { keys: [box.sb.keyArn], crypt: { encrypted_comment_regex: 'sops:enc' } });
    const text = await fs.readFile(at('c.yaml'), 'utf8');
    assert.match(text, /^name: visible$/m);
    assert.match(text, /^# sops:enc$/m);
    assert.match(text, /^password: ENC\[/m);
    assert.match(text, /^host: db\.internal$/m);
    const opened = await openSopsFile(at('c.yaml'), kms());
    assert.equal(opened.plaintext, 'name: visible\n# sops:enc\npassword: hidden-value\nhost: db.internal\n');
    opened.key.fill(0);
  });

  it('tampering is refused as sops refuses it: a value changed, moved to another key, removed, or in clear where it should be encrypted; the MAC or lastmodified changed', async () => {
    const { text } = await readable('format.enc.yaml', 'yaml');
    const opened = await openSops(text, 'yaml', 'f.yaml', sopsUnwrap(kms(), 'f.yaml'));
    const sealed = sealSops(opened, 'foo: bar\nother: value\nkeep_unencrypted: clear\n', 'f.yaml');
    opened.key.fill(0);
    const open = (t: string) => openSops(t, 'yaml', 'f.yaml', sopsUnwrap(kms(), 'f.yaml'));
    await open(sealed).then((o) => o.key.fill(0));
    const foo = /^foo: (ENC\[.*\])$/m.exec(sealed)![1];
    const other = /^other: (ENC\[.*\])$/m.exec(sealed)![1];
    const flip = (enc: string) => enc.replace(/data:(.)/, (_m, c: string) => `data:${c === 'A' ? 'B' : 'A'}`);
    const cases: [string, string, RegExp][] = [
      ['a changed byte', sealed.replace(foo, flip(foo)), /does not verify/],
      ['a value moved to another key', sealed.replace(foo, '@').replace(other, foo).replace('@', other), /does not verify/],
      ['a value removed', sealed.replace(/^other: .*\n/m, ''), /MAC does not match/],
      ['a value in clear where it should be encrypted', sealed.replace(foo, 'bar'), /not a SOPS encrypted value/],
      ['an unencrypted value changed', sealed.replace('keep_unencrypted: clear', 'keep_unencrypted: other'), /MAC does not match/],
      ['a value added', sealed.replace('keep_unencrypted: clear', 'keep_unencrypted: clear\nadded_unencrypted: x'), /MAC does not match/],
      ['lastmodified changed', sealed.replace(/lastmodified: "[^"]+"/, 'lastmodified: "2020-01-01T00:00:00Z"'), /MAC does not verify/],
      ['the MAC emptied', sealed.replace(/mac: .*$/m, 'mac: ""'), /has no MAC/],
    ];
    for (const [what, t, message] of cases) await assert.rejects(open(t), (e: Error) => message.test(e.message) && (e as { code?: string }).code !== undefined, what);
  });

  it('a KMS recipient outside the allow-list is never asked; a file for PGP only says so', async () => {
    const { text } = await readable('format.enc.yaml', 'yaml');
    box.sb.kms.log.length = 0;
    const strict = new KmsKeyProvider({ allowedKeys: [box.sb.otherKeyArn] });
    await assert.rejects(openSops(text, 'yaml', 'f.yaml', sopsUnwrap(strict, 'f.yaml')), { code: 'KEY_NOT_ALLOWED' });
    assert.equal(box.sb.kms.count('Decrypt'), 0);
    await assert.rejects(openSops(fixture('format.enc.yaml'), 'yaml', 'f.yaml', sopsUnwrap(kms(), 'f.yaml')), /no AWS KMS key among its recipients \(only 1 PGP/);
  });

  it('an entry\'s aws_profile chooses the profile only when the user allows files to (fileProfiles); never otherwise', async () => {
    const { text } = await readable('format.enc.yaml', 'yaml');
    const naming = (profile: string) => text.replace('aws_profile: ""', `aws_profile: ${profile}`);
    const open = (t: string, svc: KmsKeyProvider) => openSops(t, 'yaml', 'f.yaml', sopsUnwrap(svc, 'f.yaml')).then((o) => (o.key.fill(0), o.plaintext));
    // the user's own profile (default: the ADMIN credentials) whatever the file says
    box.sb.kms.log.length = 0;
    assert.equal(await open(naming('nobody'), kms()), 'foo: bar\n');
    assert.deepEqual(box.sb.kms.log.map((e) => e.accessKeyId), [ADMIN.accessKeyId]);
    // allowed: the file's profile unwraps (reader), or fails as that profile (nobody may not decrypt)
    box.sb.kms.log.length = 0;
    const allowing = () => new KmsKeyProvider({ allowedKeys: [LOCAL_ACCOUNT_KEYS], fileProfiles: true });
    assert.equal(await open(naming('reader'), allowing()), 'foo: bar\n');
    assert.deepEqual(box.sb.kms.log.map((e) => e.accessKeyId), [READER.accessKeyId]);
    await assert.rejects(open(naming('nobody'), allowing()), { code: 'ACCESS_DENIED' });
    // and the allow-list still rules: a key outside it is not asked under any profile
    box.sb.kms.log.length = 0;
    await assert.rejects(open(naming('reader'), new KmsKeyProvider({ allowedKeys: [box.sb.otherKeyArn], fileProfiles: true })), { code: 'KEY_NOT_ALLOWED' });
    assert.equal(box.sb.kms.log.length, 0);
  });

  it('an entry\'s role is assumed (STS AssumeRole, with the entry\'s profile) only when the user allows files to choose; never otherwise', async () => {
    const { text } = await readable('format.enc.yaml', 'yaml');
    const withRole = (role: string) => text.replace('aws_profile: ""', `aws_profile: nobody\n          role: ${role}`);
    const open = (t: string, svc: KmsKeyProvider) => openSops(t, 'yaml', 'f.yaml', sopsUnwrap(svc, 'f.yaml')).then((o) => (o.key.fill(0), o.plaintext));
    box.sb.kms.log.length = 0;
    assert.equal(await open(withRole(ROLE_ARN), kms()), 'foo: bar\n');
    assert.deepEqual(box.sb.kms.log.map((e) => [e.action, e.accessKeyId]), [['Decrypt', ADMIN.accessKeyId]], 'the user\'s own credentials; no role assumed');
    box.sb.kms.log.length = 0;
    const allowing = new KmsKeyProvider({ allowedKeys: [LOCAL_ACCOUNT_KEYS], fileProfiles: true });
    assert.equal(await open(withRole(ROLE_ARN), allowing), 'foo: bar\n');
    const [assume, decrypt] = box.sb.kms.log;
    assert.deepEqual([assume.action, assume.accessKeyId], ['AssumeRole', NOBODY.accessKeyId], 'the role assumed with the entry\'s profile');
    assert.equal(decrypt.action, 'Decrypt');
    assert.match(decrypt.accessKeyId, /^ASIA/, 'the data key unwrapped under the role\'s session');
    allowing.destroy();
    // a role the profile may not assume: refused, nothing decrypted
    await assert.rejects(open(withRole('arn:aws:iam::000000000000:role/other'), new KmsKeyProvider({ allowedKeys: [LOCAL_ACCOUNT_KEYS], fileProfiles: true })));
  });

  it('the encryption context of a KMS entry is used as sops uses it', async () => {
    const { text } = await readable('format.enc.json', 'json', { team: 'payments' });
    const opened = await openSops(text, 'json', 'f.json', sopsUnwrap(kms(), 'f.json'));
    assert.equal(opened.plaintext, '{\n\t"foo": "bar"\n}\n');
    opened.key.fill(0);
    // the same blob under another context does not unwrap
    await assert.rejects(openSops(text.replace('"payments"', '"other"'), 'json', 'f.json', sopsUnwrap(kms(), 'f.json')), { code: 'INVALID_CIPHERTEXT' });
  });

  it('decrypt, get/run variables and textconv read SOPS files; a nested file is refused as an env file, as sops exec-env refuses it', async () => {
    const { text } = await readable('format.enc.env', 'dotenv');
    await fs.writeFile(at('sops.env'), text);
    const chunks: Buffer[] = [];
    const stream = new (await import('node:stream')).Writable({ write: (c, _e, cb) => (chunks.push(Buffer.from(c)), cb()) });
    await decryptFile(at('sops.env'), kms(), { kind: 'stream', stream });
    assert.equal(Buffer.concat(chunks).toString(), 'foo = bar\n');
    assert.deepEqual(await loadEnvFiles([at('sops.env')], kms()), { 'foo ': ' bar' });
    const conv = await textconv(at('sops.env'), kms());
    assert.match(conv.output.toString(), new RegExp(`^\\[kms-envelope\\] sops keys: ${box.sb.keyArn} \\(\\+1 non-KMS recipient\\)\\n\\[kms-envelope\\] data key: [A-Za-z0-9+/]{12}\\nfoo = bar\\n$`));

    const yaml = await readable('format.enc.yaml', 'yaml');
    const opened = await openSops(yaml.text, 'yaml', 'f.yaml', sopsUnwrap(kms(), 'f.yaml'));
    const nested = sealSops(opened, 'foo: bar\nport: 8080\nratio: 1.5\non: true\ndb:\n  password: x\n', 'f.yaml');
    const flat = sealSops(opened, 'foo: bar\nport: 8080\nratio: 1.5\non: true\n', 'f.yaml');
    opened.key.fill(0);
    await fs.writeFile(at('nested.yaml'), nested);
    await fs.writeFile(at('flat.yaml'), flat);
    await assert.rejects(loadEnvFiles([at('nested.yaml')], kms()), /db is a nested value/);
    assert.deepEqual(await loadEnvFiles([at('flat.yaml')], kms()), { foo: 'bar', port: '8080', ratio: '1.5', on: 'true' });
    assert.deepEqual(await withSops(await openSopsFile(at('flat.yaml'), kms()), (o) => sopsVariables(o, 'flat.yaml')), { foo: 'bar', port: '8080', ratio: '1.5', on: 'true' });
    // types kept: an int, a float and a bool are encrypted as such, and sops-decoder reads them back
    assert.deepEqual(await sopsDecoder(parseYaml(flat)), { foo: 'bar', port: 8080, ratio: 1.5, on: true });
    assert.match(flat, /^port: ENC\[AES256_GCM,[^\]]*type:int\]$/m);
  });

  it('a debug, task or terminal env file may be a SOPS file: its values go into the program\'s environment', async () => {
    await fs.writeFile(at('launch.env'), 'RUN_SECRET=from-sops\nMODE=debug\n');
    await encryptSopsFile(at('launch.env'), kms(), { keys: [box.sb.keyArn] });
    const opened = await openEnvFiles([at('launch.env')], kms());
    assert.deepEqual(opened, [{ file: at('launch.env'), kind: 'encrypted', values: { RUN_SECRET: 'from-sops', MODE: 'debug' } }]);
  });

  describe('a hostile committer (design §7) and SOPS files', () => {
    const open = (t: string, store: 'yaml' | 'json' | 'dotenv' = 'yaml') => openSops(t, store, 'h', sopsUnwrap(kms(), 'h')).then((o) => (o.key.fill(0), o.plaintext));

    it('a document nested past 100 levels, or past what a parser recurses through, is refused without a KMS call', async () => {
      box.sb.kms.log.length = 0;
      const deepJson = `{"a": ${'['.repeat(2_000_000)}${']'.repeat(2_000_000)}, "sops": {"mac": "", "lastmodified": "x"}}`;
      await assert.rejects(open(deepJson, 'json'), (e: Error & { code?: string }) => e.code === 'FORMAT' && /nested/.test(e.message));
      const json200 = `{"a": ${'['.repeat(200)}${']'.repeat(200)}, "sops": {"mac": "", "lastmodified": "x"}}`;
      await assert.rejects(open(json200, 'json'), /nested deeper than 100 levels/);
      const deepYaml = `a: ${'['.repeat(200)}${']'.repeat(200)}\nsops:\n    mac: x\n    lastmodified: x\n`;
      await assert.rejects(open(deepYaml), /nested (?:deeper|too deeply)/);
      assert.equal(box.sb.kms.log.length, 0);
    });

    it('rules that could run for long on text from the file are refused: repeated groups, backreferences, more than two * or +', async () => {
      const { text } = await readable('format.enc.yaml', 'yaml');
      for (const rule of ['(a+)+$', '(a|aa)*b', '\\\\w*\\\\w*\\\\w*x', '(x)\\\\1', '(?=a)b']) {
        const t = text.replace('unencrypted_suffix: _unencrypted', () => `encrypted_regex: '${rule}'`);
        await assert.rejects(open(t), (e: Error) => /can take exponential time/.test(e.message), rule);
      }
      // a plain rule of the kind sops users write is read
      assert.equal(await open(text.replace('unencrypted_suffix: _unencrypted', () => "encrypted_regex: '^(data|stringData|foo)$'")), 'foo: bar\n');
    });

    it('metadata changed to move a value in or out of encryption is refused (the values no longer verify)', async () => {
      const { text } = await readable('format.enc.yaml', 'yaml');
      const opened = await openSops(text, 'yaml', 'h', sopsUnwrap(kms(), 'h'));
      const sealed = sealSops(opened, 'foo: bar\nvisible_unencrypted: shown\n', 'h');
      opened.key.fill(0);
      // a clear value now counted as encrypted, and an encrypted one as clear
      await assert.rejects(open(sealed.replace('unencrypted_suffix: _unencrypted', 'unencrypted_suffix: _nothing')), { code: 'TAMPERED' });
      await assert.rejects(open(sealed.replace('unencrypted_suffix: _unencrypted', 'encrypted_suffix: _unencrypted')), { code: 'TAMPERED' });
      // and where only an encrypted value is counted clear, the MAC (over its ciphertext then) does not match
      await assert.rejects(open(sealed.replace('unencrypted_suffix: _unencrypted', () => "unencrypted_regex: '^(foo|visible_unencrypted)$'")), /MAC does not match/);
      await assert.rejects(open(sealed.replace('version: 3.13.1', 'version: 3.13.1\n    mac_only_encrypted: "yes"')), /mac_only_encrypted is not true or false/);
    });

    it('a kms entry naming an alias ARN is judged by the key it resolves to; an oversized blob is refused', async () => {
      const { text } = await readable('format.enc.yaml', 'yaml');
      const alias = box.sb.keyArn.replace(/key\/.*$/, 'alias/test');
      box.sb.kms.log.length = 0;
      assert.equal(await open(text.replace(`arn: ${box.sb.keyArn}`, `arn: ${alias}`)), 'foo: bar\n');
      assert.deepEqual(box.sb.kms.log.map((e) => e.action), ['DescribeKey', 'Decrypt']);
      await assert.rejects(openSops(text.replace(`arn: ${box.sb.keyArn}`, `arn: ${alias}`), 'yaml', 'h', sopsUnwrap(new KmsKeyProvider({ allowedKeys: [box.sb.otherKeyArn] }), 'h')), { code: 'KEY_NOT_ALLOWED' });
      await assert.rejects(open(text.replace(/^( {10}enc: )[A-Za-z0-9+/=]+$/m, (_m, lead: string) => `${lead}${'A'.repeat(9000)}`)), /enc is not a KMS ciphertext blob/);
    });

    it('a rollback to the version before a key was removed: nothing new is written under its data key (set, a merge), until it is rotated', async () => {
      await fs.writeFile(at('team.env'), 'A=1\n');
      await encryptSopsFile(at('team.env'), kms(), { keys: [box.sb.keyArn, box.sb.otherKeyArn] });
      const before = await fs.readFile(at('team.env'), 'utf8');
      await removeSopsKey(at('team.env'), kms(), box.sb.otherKeyArn);
      const after = await fs.readFile(at('team.env'), 'utf8');
      assert.ok(!after.includes(box.sb.otherKeyArn));
      // the removed key's holder commits the old version back
      await fs.writeFile(at('team.env'), before);
      await assert.rejects(setSopsValue(at('team.env'), kms(), 'A', '2'), (e: Error & { code?: string }) => e.code === 'KEY_NOT_ALLOWED' && /retired/.test(e.message));
      assert.equal(await fs.readFile(at('team.env'), 'utf8'), before, 'untouched');
      // a rotation leaves the removed key out again, and writes work again
      await rotateSopsFile(at('team.env'), kms());
      const rotated = await fs.readFile(at('team.env'), 'utf8');
      assert.ok(!rotated.includes(box.sb.otherKeyArn), 'the removed key stays removed');
      await setSopsValue(at('team.env'), kms(), 'A', '2');
      assert.deepEqual((await referenceDecrypt(await fs.readFile(at('team.env'), 'utf8'), 'dotenv')).values, { A: '2' });
    });

    it('a KMS entry outside the allow-list: nothing new is written for it', async () => {
      await fs.writeFile(at('wide.env'), 'A=1\n');
      await encryptSopsFile(at('wide.env'), kms(), { keys: [box.sb.keyArn, box.sb.otherKeyArn] });
      const narrow = new KmsKeyProvider({ allowedKeys: [box.sb.keyArn] });
      await assert.rejects(setSopsValue(at('wide.env'), narrow, 'A', '2'), (e: Error & { code?: string }) => e.code === 'KEY_NOT_ALLOWED' && e.message.includes(box.sb.otherKeyArn));
    });

    it('encrypt --format sops never follows a symlink, and never wraps a file that is already encrypted', async () => {
      await fs.writeFile(at('real.yaml'), 'a: 1\n');
      await fs.rm(at('link.yaml'), { force: true });
      await fs.symlink(at('real.yaml'), at('link.yaml'));
      await assert.rejects(encryptSopsFile(at('link.yaml'), kms(), { keys: [box.sb.keyArn] }), /is a symlink/);
      assert.equal(await fs.readFile(at('real.yaml'), 'utf8'), 'a: 1\n');
      await encryptSopsFile(at('real.yaml'), kms(), { keys: [box.sb.keyArn] });
      const once = await fs.readFile(at('real.yaml'), 'utf8');
      await assert.rejects(encryptSopsFile(at('real.yaml'), kms(), { keys: [box.sb.keyArn] }), { code: 'ALREADY_ENCRYPTED' });
      assert.equal(await fs.readFile(at('real.yaml'), 'utf8'), once);
    });
  });

  describe('who can open a SOPS file: rotate, add and remove keys, set', () => {
    const entries = async (file: string) => withSops(await openSopsFile(at(file), kms()), (o) => o.metadata.kms.map((k) => k.arn));

    it('a rotation wraps the new data key only for allowed keys; a key outside the allow-list is named and left out, and the file still opens', async () => {
      await fs.writeFile(at('rot.yaml'), 'a: 1\n');
      await encryptSopsFile(at('rot.yaml'), kms(), { keys: [box.sb.keyArn, box.sb.otherKeyArn] });
      const narrow = new KmsKeyProvider({ allowedKeys: [box.sb.keyArn] });
      const result = await rotateSopsFile(at('rot.yaml'), narrow);
      assert.deepEqual(result, { refused: [box.sb.otherKeyArn], arns: [box.sb.keyArn] });
      assert.deepEqual(await entries('rot.yaml'), [box.sb.keyArn]);
      assert.deepEqual((await referenceDecrypt(await fs.readFile(at('rot.yaml'), 'utf8'), 'yaml')).values, { a: 1n });
      await assert.rejects(rotateSopsFile(at('rot.yaml'), new KmsKeyProvider({ allowedKeys: [box.sb.otherKeyArn] })), (e: Error & { code?: string }) => e.code === 'KEY_NOT_ALLOWED');
    });

    it('a rotation is refused for a file that PGP (or age, …) can also open: only sops can wrap for those', async () => {
      const { text } = await readable('format.enc.yaml', 'yaml');
      await fs.writeFile(at('pgp.yaml'), text);
      await assert.rejects(rotateSopsFile(at('pgp.yaml'), kms()), refusedAs('USAGE', `${at('pgp.yaml')} is also encrypted for 1 PGP, age, GCP, Azure or Vault key, which kms-envelope cannot wrap a new data key for`));
      assert.equal(await fs.readFile(at('pgp.yaml'), 'utf8'), text);
    });

    it('adding a key the file already has, removing one it has not, or removing its last key is refused, the file unchanged', async () => {
      await fs.writeFile(at('keys.env'), 'A=1\n');
      await encryptSopsFile(at('keys.env'), kms(), { keys: [box.sb.keyArn] });
      const before = await fs.readFile(at('keys.env'), 'utf8');
      await assert.rejects(addSopsKey(at('keys.env'), kms(), 'alias/test'), refusedAs('USAGE', `the file is already wrapped for ${box.sb.keyArn}`));
      await assert.rejects(removeSopsKey(at('keys.env'), kms(), box.sb.otherKeyArn), refusedAs('USAGE', `the file has no KMS entry for ${box.sb.otherKeyArn}`));
      await assert.rejects(removeSopsKey(at('keys.env'), kms(), 'alias/test'), refusedAs('USAGE', 'cannot remove the last KMS key: nobody could decrypt the file with kms-envelope'));
      assert.equal(await fs.readFile(at('keys.env'), 'utf8'), before);
      // an alias names the key it resolves to: added once, then removed by its alias
      assert.deepEqual(await addSopsKey(at('keys.env'), kms(), 'alias/other'), [box.sb.keyArn, box.sb.otherKeyArn]);
      assert.deepEqual((await removeSopsKey(at('keys.env'), kms(), 'alias/other')).arns, [box.sb.keyArn]);
      assert.deepEqual(await entries('keys.env'), [box.sb.keyArn]);
    });

    it('set replaces a variable in place or adds it at the end, and refuses other stores, odd names and line breaks', async () => {
      await fs.writeFile(at('set.env'), 'A=1\nB=2\n');
      await encryptSopsFile(at('set.env'), kms(), { keys: [box.sb.keyArn] });
      await setSopsValue(at('set.env'), kms(), 'A', 'one');
      await setSopsValue(at('set.env'), kms(), 'C_3', 'three');
      assert.equal((await openSopsFile(at('set.env'), kms())).plaintext, 'A=one\nB=2\nC_3=three\n');
      for (const [name, value] of [['3C', 'x'], ['C-D', 'x'], ['C', 'two\nlines']]) {
        await assert.rejects(setSopsValue(at('set.env'), kms(), name, value), refusedAs('USAGE', 'a SOPS dotenv variable is a name of letters, digits and _ with a one-line value'), `${name}=${value}`);
      }
      await fs.writeFile(at('set.yaml'), 'a: 1\n');
      await encryptSopsFile(at('set.yaml'), kms(), { keys: [box.sb.keyArn] });
      await assert.rejects(setSopsValue(at('set.yaml'), kms(), 'a', '2'), refusedAs('USAGE', `${at('set.yaml')} is a SOPS yaml file: set changes SOPS dotenv files`));
    });
  });

  describe('the merge driver on SOPS files', () => {
    const L = { ours: 'HEAD', theirs: 'feature' };
    /** A SOPS file with this YAML (a new data key each time unless `from` gives the file to edit). */
    async function sops(plain: string, name = 'm.yaml'): Promise<string> {
      await fs.writeFile(at(name), plain);
      await encryptSopsFile(at(name), kms(), { keys: [box.sb.keyArn] });
      return fs.readFile(at(name), 'utf8');
    }
    /** The file edited as the decrypted view saves it (same data key, unchanged values keep their bytes). */
    async function edit(text: string, change: (plain: string) => string): Promise<string> {
      const o = await openSops(text, 'yaml', 'e.yaml', sopsUnwrap(kms(), 'e.yaml'));
      try {
        return sealSops(o, change(o.plaintext), 'e.yaml');
      } finally {
        o.key.fill(0);
      }
    }
    async function merge(base: string, ours: string, theirs: string) {
      await fs.writeFile(at('base'), base);
      await fs.writeFile(at('ours'), ours);
      await fs.writeFile(at('theirs'), theirs);
      const outcome = await mergeEncrypted({ base: at('base'), ours: at('ours'), theirs: at('theirs'), path: 'secrets.yaml' }, kms(), L);
      return { outcome, text: await fs.readFile(at('ours'), 'utf8') };
    }

    it('values changed on different sides merge into a SOPS file every reader accepts, sealed under ours\' key; a value added on one side comes along', async () => {
      const base = await sops('a: one\nb: two\nlist:\n  - x\n  - y\n');
      const ours = await edit(base, (p) => p.replace('a: one', 'a: ONE'));
      const theirs = await edit(base, (p) => p.replace('  - y', '  - Y').replace('b: two', 'b: two\nc: three'));
      const { outcome, text } = await merge(base, ours, theirs);
      assert.deepEqual(outcome, { clean: true, conflicts: [], message: undefined });
      assert.deepEqual((await referenceDecrypt(text, 'yaml')).values, { a: 'ONE', b: 'two', list: ['x', 'Y'], c: 'three' });
      assert.equal(/^b: .*$/m.exec(text)![0], /^b: .*$/m.exec(base)![0], 'an unchanged value keeps its ciphertext');
      assert.equal((await referenceDecrypt(text, 'yaml')).dataKey.toString('hex'), (await referenceDecrypt(ours, 'yaml')).dataKey.toString('hex'));
    });

    it('one value changed differently on both sides, or changed on one and removed on the other: ours kept, the path named, never a value', async () => {
      const base = await sops('db:\n  password: base-value\nother: x\n');
      const ours = await edit(base, (p) => p.replace('base-value', 'ours-value'));
      const theirs = await edit(base, (p) => p.replace('base-value', 'theirs-value'));
      const r = await merge(base, ours, theirs);
      assert.deepEqual(r.outcome.conflicts, ['db.password']);
      assert.equal(r.outcome.clean, false);
      assert.equal(r.text, ours);
      assert.doesNotMatch(r.outcome.message ?? '', /value/);
      const removed = await edit(base, (p) => p.replace('other: x\n', ''));
      const changed = await edit(base, (p) => p.replace('other: x', 'other: y'));
      const r2 = await merge(base, changed, removed);
      assert.deepEqual(r2.outcome.conflicts, ['other']);
      assert.equal(r2.text, changed);
    });

    it('when only theirs made a new data key (a key removed), the result is sealed under theirs\' key', async () => {
      const base = await sops('a: one\nb: two\n', 'r.yaml');
      const ours = await edit(base, (p) => p.replace('a: one', 'a: ONE'));
      await fs.writeFile(at('r.yaml'), base);
      await rotateSopsFile(at('r.yaml'), kms());
      const theirs = await fs.readFile(at('r.yaml'), 'utf8');
      const { outcome, text } = await merge(base, ours, theirs);
      assert.equal(outcome.clean, true);
      assert.match(outcome.message ?? '', /sealed under theirs' key/);
      const read = await referenceDecrypt(text, 'yaml');
      assert.deepEqual(read.values, { a: 'ONE', b: 'two' });
      assert.deepEqual(read.dataKey, (await referenceDecrypt(theirs, 'yaml')).dataKey);
    });

    it('a side that is not a SOPS file while the others are is not merged in: ours kept', async () => {
      const base = await sops('a: one\n');
      const ours = await edit(base, (p) => p.replace('one', 'two'));
      const r = await merge(base, ours, 'a: forged\n');
      assert.equal(r.outcome.clean, false);
      assert.match(r.outcome.message ?? '', /theirs is not a SOPS file while another side is; kept ours/);
      assert.equal(r.text, ours);
    });
  });
});
