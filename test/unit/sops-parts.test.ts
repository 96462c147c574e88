import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sopsStoreOfText } from '../../src/core/sops/detect';
import { emitMetadata, flatten } from '../../src/core/sops/emit';
import { committedRegex, goRfc3339, readMetadata, shouldEncrypt, stanzaGroups } from '../../src/core/sops/metadata';
import { unflatten } from '../../src/core/sops/stores/dotenv';
import { aadOf, canonical, decryptValue, encryptValue, formatFloat } from '../../src/core/sops/value';
import { Branch, decryptAll, encryptAll, Node, visits } from '../../src/core/sops/tree';
import { openableStore, sopsProblem } from '../../src/core/sops/files';
import { openSops, readsBackWith, sealSops, SopsOpened, sopsTime, splice, STORES } from '../../src/core/sops/document';

const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/11111111-2222-3333-4444-555555555555';
const meta = (extra: Record<string, unknown> = {}) => ({ kms: [{ arn: KEY_ARN, enc: 'AQID', created_at: 't' }], lastmodified: '2026-01-01T00:00:00Z', mac: 'ENC[x]', version: '3.13.2', ...extra });
const formatError = (what: RegExp) => (e: Error & { code?: string }) => e.code === 'FORMAT' && what.test(e.message);

/** The pure parts of the SOPS store (issue 22), value by value, as sops.go and aes/cipher.go define them. */
describe('SOPS parts: values, metadata, rules, flattening, detection', () => {
  describe('values (value.ts)', () => {
    const key = randomBytes(32);

    it('the additional data is the path joined by ":" with a trailing ":"; the top level is ":"', () => {
      assert.equal(aadOf([]), ':');
      assert.equal(aadOf(['a']), 'a:');
      assert.equal(aadOf(['a', 'b c']), 'a:b c:');
    });

    it('a value encrypts and decrypts at its path, with a 32-byte IV and a 16-byte tag; another path or key does not open it', () => {
      const enc = encryptValue({ type: 'str', text: 'héllo' }, key, 'a:');
      const m = /^ENC\[AES256_GCM,data:(.*),iv:(.*),tag:(.*),type:str\]$/.exec(enc)!;
      assert.equal(Buffer.from(m[2], 'base64').length, 32);
      assert.equal(Buffer.from(m[3], 'base64').length, 16);
      assert.deepEqual(decryptValue(enc, key, 'a:', 'w'), { type: 'str', text: 'héllo' });
      assert.throws(() => decryptValue(enc, key, 'b:', 'w'), (e: Error & { code?: string }) => e.code === 'TAMPERED' && /w: a value does not verify/.test(e.message));
      assert.throws(() => decryptValue(enc, randomBytes(32), 'a:', 'w'), { code: 'TAMPERED' });
    });

    it('an unchanged value reuses the IV it was read with (the same ciphertext); a changed one gets a new IV', () => {
      const stash = new Map<string, Buffer>();
      const enc = encryptValue({ type: 'str', text: 'v' }, key, 'a:');
      decryptValue(enc, key, 'a:', 'w', stash);
      assert.equal(encryptValue({ type: 'str', text: 'v' }, key, 'a:', stash), enc);
      assert.notEqual(encryptValue({ type: 'str', text: 'v2' }, key, 'a:', stash), enc);
      assert.notEqual(encryptValue({ type: 'str', text: 'v' }, key, 'b:', stash).split(',iv:')[1], enc.split(',iv:')[1]);
      assert.notEqual(encryptValue({ type: 'int', text: 'v' }, key, 'a:', stash), enc, 'the type is part of what is reused');
    });

    it('an empty string, comment or bytes value is stored as it is (sops leaves it unencrypted); other types are encrypted', () => {
      for (const type of ['str', 'comment', 'bytes'] as const) assert.equal(encryptValue({ type, text: '' }, key, 'a:'), '');
      assert.match(encryptValue({ type: 'int', text: '0' }, key, 'a:'), /type:int\]$/);
    });

    it('malformed values are refused, naming where', () => {
      const ok = encryptValue({ type: 'str', text: 'v' }, key, 'a:');
      const cases: [string, RegExp][] = [
        ['ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==]', /not a SOPS encrypted value/],
        ['nope', /not a SOPS encrypted value/],
        [ok.replace(/tag:[^,]*/, 'tag:AAAA'), /a malformed encrypted value/],
        [ok.replace(/iv:[^,]*/, 'iv:!!'), /not a SOPS encrypted value|malformed/],
        [ok.replace('type:str', 'type:date'), /an unknown value type "date"/],
        [ok.replace(/data:[^,]*/, 'data:A'), /a malformed encrypted value/],
      ];
      for (const [text, what] of cases) assert.throws(() => decryptValue(text, key, 'a:', 'place'), (e: Error & { code?: string }) => e.code === 'TAMPERED' && e.message.startsWith('place: ') && what.test(e.message), text);
    });

    it('plaintext that is not UTF-8 is refused', () => {
      const enc = encryptValue({ type: 'str', text: 'x' }, key, 'a:');
      // forge a value whose plaintext is the byte 0xff under the same key
      const { createCipheriv } = require('node:crypto') as typeof import('node:crypto');
      const iv = randomBytes(32);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(Buffer.from('a:'));
      const data = Buffer.concat([c.update(Buffer.from([0xff])), c.final()]);
      const bad = `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${c.getAuthTag().toString('base64')},type:str]`;
      void enc;
      assert.throws(() => decryptValue(bad, key, 'a:', 'w'), /not valid UTF-8/);
    });

    it('typed values read back as sops reads them: ints in decimal (64 bits), floats as Go writes them, bools True/False', () => {
      assert.equal(canonical('int', '+007', 'w'), '7');
      assert.equal(canonical('int', '-12', 'w'), '-12');
      assert.equal(canonical('int', '9223372036854775807', 'w'), '9223372036854775807');
      assert.throws(() => canonical('int', '9223372036854775808', 'w'), /out of range/);
      assert.throws(() => canonical('int', '-9223372036854775809', 'w'), /out of range/);
      assert.equal(canonical('int', '-9223372036854775808', 'w'), '-9223372036854775808');
      assert.throws(() => canonical('int', '1.5', 'w'), /not a number/);
      assert.equal(canonical('float', '1e3', 'w'), '1000');
      assert.equal(canonical('float', '0.5', 'w'), '0.5');
      assert.throws(() => canonical('float', ' ', 'w'), /not a number/);
      assert.throws(() => canonical('float', 'x', 'w'), /not a number/);
      for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(canonical('bool', t, 'w'), 'True');
      for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(canonical('bool', f, 'w'), 'False');
      assert.throws(() => canonical('bool', 'yes', 'w'), /not a bool/);
      assert.equal(canonical('str', ' x ', 'w'), ' x ');
    });

    it('floats are written as Go\'s FormatFloat(x, \'f\', -1) writes them: never an exponent', () => {
      assert.equal(formatFloat(1e21), '1000000000000000000000');
      assert.equal(formatFloat(1.5e21), '1500000000000000000000');
      assert.equal(formatFloat(1.5e-7), '0.00000015');
      assert.equal(formatFloat(-2.5e-7), '-0.00000025');
      assert.equal(formatFloat(1.23e22), '12300000000000000000000');
      assert.equal(formatFloat(-2.5), '-2.5');
      assert.equal(formatFloat(100), '100');
      assert.equal(formatFloat(Infinity), '+Inf');
      assert.equal(formatFloat(-Infinity), '-Inf');
      assert.equal(formatFloat(NaN), 'NaN');
      assert.equal(formatFloat(-0), '-0');
      assert.equal(formatFloat(1e-7), '0.0000001');
      assert.equal(formatFloat(1.2345e-10), '0.00000000012345');
      assert.equal(formatFloat(-1e21), '-1000000000000000000000');
    });
  });

  describe('metadata (metadata.ts)', () => {
    it('lastmodified as Go formats it for the MAC: whole seconds, a zero offset as Z', () => {
      assert.equal(goRfc3339('2026-01-01T10:00:00.123456Z', 'w'), '2026-01-01T10:00:00Z');
      assert.equal(goRfc3339('2026-01-01T10:00:00+00:00', 'w'), '2026-01-01T10:00:00Z');
      assert.equal(goRfc3339('2026-01-01T10:00:00-00:00', 'w'), '2026-01-01T10:00:00Z');
      assert.equal(goRfc3339('2026-01-01T10:00:00+02:00', 'w'), '2026-01-01T10:00:00+02:00');
      for (const bad of ['2026-01-01', '2026-01-01 10:00:00Z', '2026-13-45T10:00:00Z', 'x']) assert.throws(() => goRfc3339(bad, 'w'), formatError(/lastmodified is not an RFC 3339 time/), bad);
    });

    it('committed patterns: empty means none; (?i) as a flag; too long, not a string, or not a pattern are refused', () => {
      for (const none of [undefined, null, '']) assert.equal(committedRegex(none, 'w', 'f'), undefined);
      const re = committedRegex('(?i)^SECRET$', 'w', 'f')!;
      assert.ok(re.test('secret') && re.flags.includes('i'));
      assert.ok(committedRegex('^a.b$', 'w', 'f')!.test('axb'));
      assert.throws(() => committedRegex(5, 'w', 'f'), formatError(/f is not a pattern of at most 200 characters/));
      assert.throws(() => committedRegex('a'.repeat(201), 'w', 'f'), formatError(/at most 200/));
      assert.equal(committedRegex('a'.repeat(200), 'w', 'f')!.source, 'a'.repeat(200));
      assert.throws(() => committedRegex('(', 'w', 'f'), formatError(/is not a regular expression/));
      for (const slow of ['(a+)+', '(a|b)*', '(a*)*', 'x\\1', '(?=a)', '(?!a)', '(?<=a)', 'a*b*c*', 'a+b+c+', 'a{2,}b{2,}c{2,}']) {
        assert.throws(() => committedRegex(slow, 'w', 'f'), /exponential time/, slow);
      }
      for (const fine of ['^(data|stringData)$', '.*_secret$', '[*+]{3}', '\\*\\+\\*', 'a*b+', '^x{2}$']) assert.ok(committedRegex(fine, 'w', 'f'), fine);
    });

    it('reads KMS entries strictly, and counts the recipients it cannot use', () => {
      const m = readMetadata(meta({ pgp: [{}, {}], age: [{}], gcp_kms: [{}], azure_kv: [{}], hc_vault: [{}] }), 'w');
      assert.equal(m.others, 6);
      assert.deepEqual(m.kms.map((k) => [k.arn, k.wrapped.toString('hex'), k.context, k.profile, k.role]), [[KEY_ARN, '010203', {}, undefined, undefined]]);
      const full = readMetadata(meta({ kms: [{ arn: KEY_ARN, enc: 'AQID', context: { a: 'b' }, role: 'r', aws_profile: 'p' }] }), 'w');
      assert.deepEqual([full.kms[0].context, full.kms[0].role, full.kms[0].profile], [{ a: 'b' }, 'r', 'p']);
      assert.equal(readMetadata(meta({ kms: null }), 'w').kms.length, 0);
      assert.equal(readMetadata(meta({ version: 3.1 }), 'w').version, '3.1');
      assert.equal(readMetadata(meta({ version: undefined }), 'w').version, '');
      const refusals: [unknown, RegExp][] = [
        [null, /the sops metadata is not a map/],
        [[], /the sops metadata is not a map/],
        [meta({ kms: {} }), /kms is not a list/],
        [meta({ kms: ['x'] }), /kms entry 1 is not a map/],
        [meta({ kms: [{ enc: 'AQID' }] }), /kms entry 1: arn is missing or not a string/],
        [meta({ kms: [{ arn: 'arn:aws:s3:::bucket', enc: 'AQID' }] }), /arn is not a KMS key or alias ARN/],
        [meta({ kms: [{ arn: KEY_ARN, enc: '' }] }), /enc is not a KMS ciphertext blob/],
        [meta({ kms: [{ arn: KEY_ARN, enc: '!!' }] }), /enc is not a KMS ciphertext blob/],
        [meta({ kms: [{ arn: KEY_ARN, enc: 'AQID', context: 'x' }] }), /context is not a map/],
        [meta({ kms: [{ arn: KEY_ARN, enc: 'AQID', context: { a: 1 } }] }), /context a is missing or not a string/],
        [meta({ kms: [{ arn: KEY_ARN, enc: 'AQID', role: 5 }] }), /role is missing or not a string/],
        [meta({ key_groups: 'x', kms: undefined }), /key_groups is not a list/],
        [meta({ key_groups: [{}] }), /both key_groups and top-level keys/],
        [meta({ key_groups: ['x'], kms: undefined }), /a key group is not a map/],
        [meta({ unencrypted_suffix: '_u', encrypted_regex: 'x' }), /more than one of/],
        [meta({ mac_only_encrypted: 'yes' }), /mac_only_encrypted is not true or false/],
        [meta({ lastmodified: 5 }), /lastmodified is missing or not a string/],
        [meta({ mac: undefined }), /mac is missing or not a string/],
      ];
      for (const [m2, what] of refusals) assert.throws(() => readMetadata(m2, 'w'), formatError(what), String(what));
      assert.throws(() => readMetadata(meta({ kms: undefined, key_groups: [{}, {}] }), 'w'), (e: Error & { code?: string }) => e.code === 'USAGE' && /split between 2 key groups/.test(e.message));
    });

    it('absent, null and empty fields are no value; the bounds of an entry are exact', () => {
      const e = readMetadata(meta({ kms: [{ arn: KEY_ARN, enc: 'AQID', role: null, aws_profile: '', context: null }] }), 'w').kms[0];
      assert.deepEqual([e.role, e.profile, e.context], [undefined, undefined, {}]);
      assert.equal(readMetadata(meta({ key_groups: null }), 'w').kms.length, 1);
      assert.equal(readMetadata(meta({ mac_only_encrypted: null }), 'w').rules.macOnlyEncrypted, false);
      for (const empty of [null, '']) assert.ok(readMetadata(meta({ unencrypted_suffix: empty, encrypted_regex: '^a$' }), 'w').rules.encryptedRegex);
      const blob = (n: number) => Buffer.alloc(n, 1).toString('base64');
      assert.equal(readMetadata(meta({ kms: [{ arn: KEY_ARN, enc: blob(6144) }] }), 'w').kms[0].wrapped.length, 6144);
      assert.throws(() => readMetadata(meta({ kms: [{ arn: KEY_ARN, enc: blob(6145) }] }), 'w'), /enc is not a KMS ciphertext blob/);
      for (const arn of [`x${KEY_ARN}`, `${KEY_ARN} `, KEY_ARN.replace('arn:aws:', 'arn:aws1:'), KEY_ARN.replace(':key/', ':key/ ')]) {
        assert.throws(() => readMetadata(meta({ kms: [{ arn, enc: 'AQID' }] }), 'w'), /arn is not a KMS key or alias ARN/, arn);
      }
      assert.ok(readMetadata(meta({ kms: [{ arn: KEY_ARN.replace('arn:aws:', 'arn:aws-cn:'), enc: 'AQID' }] }), 'w'));
      const rules = readMetadata(meta({ unencrypted_comment_regex: 'clear' }), 'w').rules;
      assert.equal(shouldEncrypt(rules, ['a'], [['x'], ['keep clear', 'y']], false), false, 'any comment of any level that matches');
    });

    it('one key group is read like top-level keys; an empty key_groups list is none', () => {
      const m = readMetadata(meta({ kms: undefined, key_groups: [{ kms: [{ arn: KEY_ARN, enc: 'AQID' }], pgp: [{}] }] }), 'w');
      assert.deepEqual([m.kms.length, m.others], [1, 1]);
      assert.equal(readMetadata(meta({ key_groups: [] }), 'w').kms.length, 1);
    });

    it('the default rule is _unencrypted only when no rule is given; mac_only_encrypted is read', () => {
      assert.equal(readMetadata(meta(), 'w').rules.unencryptedSuffix, '_unencrypted');
      assert.equal(readMetadata(meta({ encrypted_regex: '^a$' }), 'w').rules.unencryptedSuffix, undefined);
      assert.equal(readMetadata(meta({ encrypted_comment_regex: 'x' }), 'w').rules.unencryptedSuffix, undefined);
      assert.equal(readMetadata(meta({ unencrypted_suffix: '_plain' }), 'w').rules.unencryptedSuffix, '_plain');
      assert.equal(readMetadata(meta({ encrypted_suffix: '_enc' }), 'w').rules.encryptedSuffix, '_enc');
      assert.equal(readMetadata(meta({ mac_only_encrypted: true }), 'w').rules.macOnlyEncrypted, true);
      assert.equal(readMetadata(meta({ mac_only_encrypted: false }), 'w').rules.macOnlyEncrypted, false);
      assert.equal(readMetadata(meta(), 'w').lastModified, '2026-01-01T00:00:00Z');
    });

    it('which values are encrypted: each rule as sops.go shouldBeEncrypted', () => {
      const rules = (r: Record<string, unknown>) => readMetadata(meta(r), 'w').rules;
      const none: string[][] = [];
      assert.equal(shouldEncrypt(rules({}), ['a'], none, false), true);
      assert.equal(shouldEncrypt(rules({}), ['a_unencrypted', 'b'], none, false), false);
      assert.equal(shouldEncrypt(rules({ encrypted_suffix: '_enc' }), ['x', 'b_enc'], none, false), true);
      assert.equal(shouldEncrypt(rules({ encrypted_suffix: '_enc' }), ['x'], none, false), false);
      assert.equal(shouldEncrypt(rules({ unencrypted_regex: '^pub' }), ['public'], none, false), false);
      assert.equal(shouldEncrypt(rules({ unencrypted_regex: '^pub' }), ['secret'], none, false), true);
      assert.equal(shouldEncrypt(rules({ encrypted_regex: '^data$' }), ['data', 'x'], none, false), true);
      assert.equal(shouldEncrypt(rules({ encrypted_regex: '^data$' }), ['meta'], none, false), false);
      assert.equal(shouldEncrypt(rules({ unencrypted_comment_regex: 'clear' }), ['a'], [['keep clear']], false), false);
      assert.equal(shouldEncrypt(rules({ unencrypted_comment_regex: 'clear' }), ['a'], [['other']], false), true);
      const enc = rules({ encrypted_comment_regex: 'enc' });
      assert.equal(shouldEncrypt(enc, ['a'], [['enc']], false), true, 'a value after a matching comment');
      assert.equal(shouldEncrypt(enc, ['a'], [[]], false), false);
      assert.equal(shouldEncrypt(enc, [], [['enc']], true), false, 'the matching comment itself');
      assert.equal(shouldEncrypt(enc, [], [['enc', 'next']], true), true, 'a comment after it');
      assert.equal(shouldEncrypt(enc, [], [['enc'], ['x']], true), true, 'a comment one level below');
      // keys longer than 1,024 characters are not matched by committed patterns
      assert.equal(shouldEncrypt(rules({ encrypted_regex: 'a' }), ['a'.repeat(1025)], none, false), false);
      assert.equal(shouldEncrypt(rules({ encrypted_regex: 'a' }), ['a'.repeat(1024)], none, false), true);
    });

    it('stanzas are grouped by encryption context, an alias ARN kept as the label', () => {
      const alias = KEY_ARN.replace(/key\/.*/, 'alias/app');
      const groups = stanzaGroups([
        { arn: KEY_ARN, keyArn: KEY_ARN, wrapped: Buffer.from([1]), context: { b: '2', a: '1' } },
        { arn: alias, keyArn: KEY_ARN, wrapped: Buffer.from([2]), context: { a: '1', b: '2' } },
        { arn: KEY_ARN, keyArn: KEY_ARN, wrapped: Buffer.from([3]), context: {} },
      ]);
      assert.equal(groups.length, 2);
      assert.deepEqual(groups[0].stanzas.map((s) => [s.wrapped[0], s.alias]), [[1, undefined], [2, 'alias/app']]);
      assert.deepEqual(groups[1].context, {});
    });
  });

  describe('flattening and detection', () => {
    it('flatten and unflatten are inverse, as stores/flatten.go writes and reads dotenv and INI metadata', () => {
      const m = { kms: [{ arn: 'a', context: { k: 'v' } }, { arn: 'b' }], mac: 'm\nx', mac_only_encrypted: true, shamir_threshold: 2 };
      const flat = flatten(m);
      assert.deepEqual(flat, [['kms__list_0__map_arn', 'a'], ['kms__list_0__map_context__map_k', 'v'], ['kms__list_1__map_arn', 'b'], ['mac', 'm\\nx'], ['mac_only_encrypted', 'true'], ['shamir_threshold', '2']]);
      assert.deepEqual(unflatten(new Map(flat.map(([k, v]) => [k, v.replace(/\\n/g, '\n')]))), m);
    });

    it('metadata is emitted as sops writes it per store, with the spans of lastmodified and mac', () => {
      const m = { kms: [{ arn: KEY_ARN, created_at: '2026-01-01T00:00:00Z' }], lastmodified: '0001-01-01T00:00:00Z', mac: 'MAC', version: '3.13.2' };
      const yaml = emitMetadata(m, 'yaml');
      assert.equal(yaml.text, `sops:\n    kms:\n        - arn: ${KEY_ARN}\n          created_at: "2026-01-01T00:00:00Z"\n    lastmodified: "0001-01-01T00:00:00Z"\n    mac: MAC\n    version: 3.13.2\n`);
      assert.equal(yaml.text.slice(yaml.lastModified.start, yaml.lastModified.end), '"0001-01-01T00:00:00Z"');
      assert.equal(yaml.text.slice(yaml.mac.start, yaml.mac.end), 'MAC');
      const json = emitMetadata(m, 'json');
      assert.ok(json.text.startsWith(',\n\t"sops": {\n\t\t"kms": [\n'));
      assert.equal(json.text.slice(json.mac.start, json.mac.end), '"MAC"');
      const dotenv = emitMetadata(m, 'dotenv');
      assert.equal(dotenv.text, `sops_kms__list_0__map_arn=${KEY_ARN}\nsops_kms__list_0__map_created_at=2026-01-01T00:00:00Z\nsops_lastmodified=0001-01-01T00:00:00Z\nsops_mac=MAC\nsops_version=3.13.2\n`);
      const ini = emitMetadata(m, 'ini');
      assert.equal(ini.text, `\n[sops]\nkms__list_0__map_arn        = ${KEY_ARN}\nkms__list_0__map_created_at = 2026-01-01T00:00:00Z\nlastmodified                = 0001-01-01T00:00:00Z\nmac                         = MAC\nversion                     = 3.13.2\n`);
      assert.equal(ini.text.slice(ini.mac.start, ini.mac.end), 'MAC');
    });

    it('a SOPS file is known by its metadata, whatever its name; JSON of one data string is binary unless named .json', () => {
      assert.equal(sopsStoreOfText('A=1\nsops_mac=x\nsops_lastmodified=y\n', 'x'), 'dotenv');
      assert.equal(sopsStoreOfText('A=1\nsops_mac=x\n', 'x'), undefined);
      assert.equal(sopsStoreOfText('[a]\nb = 1\n[sops]\nmac = x\n', 'x'), 'ini');
      assert.equal(sopsStoreOfText('[sops]\n', 'x'), undefined);
      assert.equal(sopsStoreOfText('a: 1\nsops:\n    mac: x\n', 'x'), 'yaml');
      assert.equal(sopsStoreOfText('a: 1\nsops: # metadata\n  mac: x\n', 'x'), 'yaml');
      assert.equal(sopsStoreOfText('a: 1\nnot_sops:\n    mac: x\n', 'x'), undefined);
      const json = '{\n\t"data": "ENC[x]",\n\t"sops": {\n\t\t"mac": "m",\n\t\t"lastmodified": "t"\n\t}\n}';
      assert.equal(sopsStoreOfText(json, 'secret.bin'), 'binary');
      assert.equal(sopsStoreOfText(json, 'secret.JSON'), 'json');
      assert.equal(sopsStoreOfText(json.replace('"data"', '"other"'), 'secret.bin'), 'json');
      assert.equal(sopsStoreOfText(json.replace('"mac"', '"nac"'), 'secret.bin'), undefined);
      assert.equal(sopsStoreOfText('plain text', 'x'), undefined);
      // each mark where sops writes it: at the start of a line, the section and key alone on theirs
      assert.equal(sopsStoreOfText('A=1\nX_sops_mac=x\nsops_lastmodified=y\n', 'x'), undefined);
      assert.equal(sopsStoreOfText('A=1\nsops_mac=x\nX_sops_lastmodified=y\n', 'x'), undefined);
      assert.equal(sopsStoreOfText('[a]\nb = 1\nx[sops]\nmac = x\n', 'x'), undefined);
      assert.equal(sopsStoreOfText('[a]\nb = 1\n[sops]x\nmac = x\n', 'x'), undefined);
      assert.equal(sopsStoreOfText('[a]\nb = 1\n[sops]\t \r\nmac = x\n', 'x'), 'ini');
      assert.equal(sopsStoreOfText('[a]\nb = 1\n[sops]\nxmac = x\n', 'x'), undefined);
      assert.equal(sopsStoreOfText('[a]\nb = 1\n[sops]\nmac\t= x\n', 'x'), 'ini');
      assert.equal(sopsStoreOfText('a: 1\nsops: x\n    mac: x\n', 'x'), undefined);
      assert.equal(sopsStoreOfText('a: 1\nsops:\nxmac: x\n', 'x'), undefined);
      const spaced = '{ "sops" :  { "mac" : "m", "lastmodified" : "t" } }';
      assert.equal(sopsStoreOfText(spaced, 'a.json'), 'json');
      assert.equal(sopsStoreOfText(spaced.replace('"sops" :', '"sops" x:'), 'a.json'), undefined);
      assert.equal(sopsStoreOfText(spaced.replace('"mac" :', '"mac" x:'), 'a.json'), undefined);
      assert.equal(sopsStoreOfText(spaced.replace('"lastmodified" :', '"lastmodified" x:'), 'a.json'), undefined);
      assert.equal(sopsStoreOfText('{"sops":{"mac":"m","lastmodified":"t"}}', 'a.json'), 'json');
      const binary = '  {  "data" :  "x", "sops": {"mac": "m", "lastmodified": "t"}}';
      assert.equal(sopsStoreOfText(binary, 'secret'), 'binary');
      assert.equal(sopsStoreOfText(binary, 'a.json.bak'), 'binary', 'only a name ending in .json is JSON');
      assert.equal(sopsStoreOfText(`x${binary}`, 'secret'), 'json', 'the data member first, at the start');
      assert.equal(sopsStoreOfText(binary.replace('"data" :', '"data" x:'), 'secret'), 'json');
    });
  });
});

describe('SOPS tree walk (tree.ts): paths, comment levels, decryption', () => {
  const leaf = (text: string, type: 'str' | 'int' = 'str') => ({ kind: 'leaf' as const, value: { type, text }, start: 0, end: 0 });
  const comment = (text: string) => ({ kind: 'comment' as const, text, start: 0, end: 0 });
  const pair = (key: string, value: Node) => ({ kind: 'pair' as const, key, value });
  const rules = (r: Record<string, unknown> = {}) => readMetadata(meta(r), 'w').rules;

  it('a value\'s path has its keys, its place (`at`) list indices too; several documents are numbered, one is not', () => {
    const root: Branch = { kind: 'branch', items: [pair('l', { kind: 'list', items: [leaf('x'), { kind: 'branch', items: [pair('k', leaf('y'))] }] })] };
    assert.deepEqual(visits([root], rules()).map((v) => [v.path, v.at]), [[['l'], ['l', 0]], [['l', 'k'], ['l', 1, 'k']]]);
    assert.deepEqual(visits([root, root], rules()).map((v) => v.at[0]), [0, 0, 1, 1]);
  });

  it('comment levels: a comment counts for the values after it at its level, until the next value, in maps and in lists', () => {
    const enc = rules({ encrypted_comment_regex: 'enc' });
    const inList: Branch = { kind: 'branch', items: [pair('l', { kind: 'list', items: [comment('enc'), leaf('A'), leaf('B')] })] };
    assert.deepEqual(visits([inList], enc).map((v) => [v.node.kind, v.encrypted]), [['comment', false], ['leaf', true], ['leaf', false]]);
    const inMap: Branch = { kind: 'branch', items: [comment('enc'), comment('then'), pair('a', leaf('A')), pair('b', leaf('B'))] };
    assert.deepEqual(visits([inMap], enc).map((v) => v.encrypted), [false, true, true, false]);
    const clear = rules({ unencrypted_comment_regex: 'clear' });
    const cl: Branch = { kind: 'branch', items: [pair('l', { kind: 'list', items: [comment('clear'), leaf('A'), leaf('B')] })] };
    assert.deepEqual(visits([cl], clear).filter((v) => v.node.kind === 'leaf').map((v) => v.encrypted), [false, true]);
    // no comment, no match: a rule on comments encrypts nothing (and nothing is made up at a level)
    const plain: Branch = { kind: 'branch', items: [pair('a', leaf('A')), pair('l', { kind: 'list', items: [leaf('B')] })] };
    assert.deepEqual(visits([plain], rules({ encrypted_comment_regex: '.' })).map((v) => v.encrypted), [false, false]);
    assert.deepEqual(visits([plain], rules({ unencrypted_comment_regex: '.' })).map((v) => v.encrypted), [true, true]);
  });

  it('an encrypted comment decrypts under its container\'s path or a level above it; one that does not is kept', () => {
    const key = randomBytes(32);
    const top = encryptValue({ type: 'comment', text: ' top' }, key, ':');
    const root: Branch = { kind: 'branch', items: [pair('a', { kind: 'branch', items: [comment(top), comment('ENC[junk]'), pair('b', leaf(encryptValue({ type: 'int', text: '5' }, key, 'a:b:')))] })] };
    const out = decryptAll([root], rules(), key, new Map(), 'f');
    assert.deepEqual(out.map((d) => [d.plain, d.aad]), [[{ type: 'comment', text: ' top' }, ':'], [{ type: 'comment', text: 'ENC[junk]' }, undefined], [{ type: 'int', text: '5' }, undefined]]);
    // a value that should be encrypted and holds a number in clear is refused, with its path
    const bad: Branch = { kind: 'branch', items: [pair('a', { kind: 'branch', items: [pair('b', leaf('5', 'int'))] })] };
    assert.throws(() => decryptAll([bad], rules(), key, new Map(), 'f'), (e: Error & { code?: string }) => e.code === 'TAMPERED' && e.message === 'f: a.b: a value that should be encrypted is in clear');
    // a clear empty string at an encrypted path is read as it is (sops stores it so)
    const empty: Branch = { kind: 'branch', items: [pair('e', leaf(''))] };
    assert.deepEqual(decryptAll([empty], rules(), key, new Map(), 'f').map((d) => d.plain), [{ type: 'str', text: '' }]);
  });

  it('sealing encrypts comments under the address the caller gives, values under their path', () => {
    const key = randomBytes(32);
    const root: Branch = { kind: 'branch', items: [pair('a', { kind: 'branch', items: [comment(' c'), pair('b', leaf('v'))] })] };
    const plain = visits([root], rules()).map((visit) => ({ visit, plain: visit.node.kind === 'comment' ? { type: 'comment' as const, text: visit.node.text } : (visit.node as { value: { type: 'str'; text: string } }).value }));
    const sealed = encryptAll(plain, key, new Map(), () => 'chosen:');
    assert.deepEqual(decryptValue(sealed[0].enc, key, 'chosen:', 'w'), { type: 'comment', text: ' c' });
    assert.deepEqual(decryptValue(sealed[1].enc, key, 'a:b:', 'w'), { type: 'str', text: 'v' });
  });
});

describe('SOPS files without a key (files.ts): the guard, size, messages', () => {
  const sopsEnv = (lines: string) => `${lines}sops_kms__list_0__map_arn=${KEY_ARN}\nsops_kms__list_0__map_enc=AQID\nsops_lastmodified=2026-01-01T00:00:00Z\nsops_mac=ENC[x]\nsops_version=3.13.2\n`;

  it('the guard names the values in clear where the rules say encrypted (paths, never values), and passes encrypted or empty ones', () => {
    assert.equal(sopsProblem(sopsEnv('A=ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nB=\nC_unencrypted=shown\n'), 'x'), undefined);
    assert.equal(sopsProblem(sopsEnv('A=secret-1\n'), 'x'), 'a SOPS file with 1 value in clear where it should be encrypted (A)');
    assert.equal(sopsProblem(sopsEnv('A=s1\nB=s2\nC=s3\nD=s4\n'), 'x'), 'a SOPS file with 4 values in clear where it should be encrypted (A, B, C)');
    assert.match(sopsProblem(sopsEnv('A=1\n').replace('sops_lastmodified=2026-01-01T00:00:00Z', 'sops_lastmodified=yesterday'), 'x')!, /lastmodified is not an RFC 3339 time/);
    assert.equal(sopsProblem('just text', 'x'), undefined);
    // a value of another type in clear at an encrypted path (YAML) counts too
    assert.match(sopsProblem(`port: 5432\nsops:\n    kms:\n        - arn: ${KEY_ARN}\n          enc: AQID\n    lastmodified: "2026-01-01T00:00:00Z"\n    mac: x\n    version: 3.13.2\n`, 'a.yaml')!, /1 value in clear .*\(port\)/);
  });

  it('text stores are bounded at 8 MiB (binary at 64 MiB, read elsewhere); a text that is no SOPS file is none', () => {
    const big = sopsEnv(`A=${'x'.repeat(8 * 1024 * 1024)}\n`);
    assert.throws(() => openableStore(big, 'big.env'), (e: Error & { code?: string }) => e.code === 'USAGE' && e.message === 'big.env is larger than 8 MiB, the limit for SOPS text files');
    assert.equal(openableStore(sopsEnv('A=1\n'), 'a.env'), 'dotenv');
    const bin = `{"data": "${'x'.repeat(8 * 1024 * 1024)}", "sops": {"mac": "m", "lastmodified": "t"}}`;
    assert.equal(openableStore(bin, 'blob'), 'binary');
    assert.equal(openableStore('A=1\n', 'a.env'), undefined);
  });
});

describe('SOPS documents in memory (document.ts): splicing, metadata in pieces, refusals, read-back', () => {
  const key = randomBytes(32);
  /** A SOPS file made here from a view (in the store `store`), with the key above. */
  const made = (view: string, store: 'yaml' | 'dotenv' | 'json') => {
    const placeholder = { kms: [{ arn: KEY_ARN, enc: 'AQID', created_at: '2026-01-01T00:00:00Z' }], lastmodified: '0001-01-01T00:00:00Z', mac: 'ENC[AES256_GCM,data:,iv:AAAA,tag:AAAA,type:str]', unencrypted_suffix: '_unencrypted', version: '3.13.2' };
    const emitted = emitMetadata(placeholder, store);
    const pseudo = { store: STORES[store], plaintext: '\0', metadata: readMetadata(placeholder, 'm'), key, roots: [], decrypted: [], source: { metadataText: emitted.text, lastModified: emitted.lastModified, mac: emitted.mac, stash: new Map(), commentAad: new Map(), text: '' } };
    return sealSops(pseudo as unknown as SopsOpened, view, 'm');
  };
  const open = (text: string, store: 'yaml' | 'dotenv' | 'json') => openSops(text, store, 'm', async () => Buffer.from(key));

  it('splice replaces spans in any order given, and refuses overlapping ones', () => {
    assert.equal(splice('abcdef', [{ start: 4, end: 5, text: 'E' }, { start: 0, end: 1, text: 'A' }]), 'AbcdEf');
    assert.equal(splice('abc', []), 'abc');
    assert.throws(() => splice('abcdef', [{ start: 0, end: 3, text: 'x' }, { start: 2, end: 4, text: 'y' }]), /overlapping edits/);
  });

  it('dotenv metadata in pieces (a value between sops_ lines) is read, and a save puts it back together at the end', async () => {
    const text = made('A=1\nB=2\n', 'dotenv');
    const lines = text.split('\n');
    // move B below the first metadata line: sops reads it so; the view and a save still work
    const scattered = [lines[0], lines.find((l) => l.startsWith('sops_kms'))!, lines[1], ...lines.slice(2).filter((l) => !l.startsWith('sops_kms__list_0__map_arn'))].join('\n');
    const o = await open(scattered, 'dotenv');
    assert.equal(o.plaintext, 'A=1\nB=2\n');
    const sealed = sealSops(o, 'A=1\nB=3\n', 'm');
    assert.equal((await open(sealed, 'dotenv')).plaintext, 'A=1\nB=3\n');
    assert.match(sealed, /^A=ENC.*\nB=ENC.*\nsops_kms/);
  });

  it('a view that names "sops" as a key is refused (it is SOPS\'s own); a file without metadata is not SOPS', async () => {
    const o = await open(made('{"a": 1}\n', 'json'), 'json');
    assert.throws(() => sealSops(o, '{"a": 1, "sops": {"lastmodified": "x", "mac": "y"}}\n', 'm'), (e: Error & { code?: string }) => e.code === 'USAGE' && e.message === 'm: "sops" is SOPS\'s own key and cannot be a key of the document');
    const y = await open(made('a: 1\n', 'yaml'), 'yaml');
    assert.throws(() => sealSops(y, 'a: 1\nsops: mine\n', 'm'), /the sops metadata is not a map/);
    await assert.rejects(open('a: 1\n', 'yaml'), (e: Error & { code?: string }) => e.code === 'NOT_ENCRYPTED' && e.message === 'm has no sops metadata');
  });

  it('read-back proves what is written: the same text, or the same values where a style differs; anything else is refused', async () => {
    const sealed = made('a: |\n  x\n', 'yaml');
    await readsBackWith(key, 'yaml', sealed, 'a: "x\\n"\n', 'm');
    await readsBackWith(key, 'yaml', sealed, 'a: |\n  x\n', 'm');
    await assert.rejects(readsBackWith(key, 'yaml', sealed, 'a: y\n', 'm'), /does not read back/);
    await assert.rejects(readsBackWith(key, 'yaml', sealed, 'b: "x\\n"\n', 'm'), /does not read back/);
    const bin = made('{"a": 1}\n', 'json');
    await assert.rejects(readsBackWith(key, 'json', bin, '{"a": 2}\n', 'm'), /does not read back/);
  });

  it('an unchanged view gives back the file as read; lastmodified is written in whole seconds', async () => {
    const text = made('a: 1\n', 'yaml');
    const o = await open(text, 'yaml');
    assert.equal(sealSops(o, o.plaintext, 'm'), text);
    const later = sealSops(o, 'a: 2\n', 'm', new Date('2026-12-07T10:11:12.345Z'));
    assert.match(later, /lastmodified: "2026-12-07T10:11:12Z"/);
    assert.equal(sopsTime(new Date('2026-12-07T10:11:12.999Z')), '2026-12-07T10:11:12Z');
  });
});
