/**
 * A repository's .sops.yaml, rule by rule (core/sops/creation-rules.ts): which rule applies to a
 * new file, the keys and encryption fields it gives, and every shape of committed config that is
 * refused (the file is a claim of whoever committed it).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findCreationRule, matchCreationRule } from '../../src/core/sops/creation-rules';
import { refusedAs } from '../support/errors';

const A = 'arn:aws:kms:eu-west-1:111122223333:key/aaaaaaaa-0000-0000-0000-000000000001';
const B = 'arn:aws:kms:eu-west-1:111122223333:key/bbbbbbbb-0000-0000-0000-000000000002';
const match = (config: unknown, rel = 'secrets/app.yaml') => matchCreationRule(config, rel, '/repo/.sops.yaml');

describe('SOPS creation rules (.sops.yaml)', () => {
  it('takes the first rule whose path_regex matches the path relative to the config; a rule without one matches every path', () => {
    const config = { creation_rules: [{ path_regex: '^prod/', kms: A }, { path_regex: '\\.yaml$', kms: B }, { kms: A }] };
    assert.deepEqual(match(config, 'prod/app.yaml')?.kms, [{ arn: A }]);
    assert.deepEqual(match(config, 'dev/app.yaml')?.kms, [{ arn: B }]);
    assert.deepEqual(match(config, 'dev/app.json')?.kms, [{ arn: A }]);
    assert.equal(match({ creation_rules: [{ path_regex: '^prod/', kms: A }] }, 'dev/app.yaml'), undefined);
  });

  it('reads kms as a comma-separated string (a "+role" suffix dropped, blanks and empty items left out) or as a list of ARNs or {arn, context} entries', () => {
    assert.deepEqual(match({ creation_rules: [{ kms: ` ${A}+arn:aws:iam::111122223333:role/x , ${B},` }] })?.kms, [{ arn: A }, { arn: B }]);
    assert.deepEqual(match({ creation_rules: [{ kms: [A, { arn: B, context: { team: 'ops', n: 7 } }, { arn: '' }] }] })?.kms, [{ arn: A }, { arn: B, context: { team: 'ops', n: '7' } }]);
    assert.deepEqual(match({ creation_rules: [{ kms: [{ arn: B, context: ['not', 'a', 'map'] }] }] })?.kms, [{ arn: B }]);
    for (const none of [undefined, null, '']) assert.deepEqual(match({ creation_rules: [{ kms: none }] })?.kms, [], String(none));
  });

  it('adds the KMS keys of one key group to the rule\'s, and names the recipients of other kinds it cannot add', () => {
    const rule = match({ creation_rules: [{ kms: A, pgp: 'FINGERPRINT', key_groups: [{ kms: [B], age: ['age1xyz'] }, 'not a group'] }] });
    assert.deepEqual(rule?.kms, [{ arn: A }, { arn: B }]);
    assert.deepEqual(rule?.others, ['pgp', 'age']);
    assert.equal(rule?.config, '/repo/.sops.yaml');
    assert.deepEqual(match({ creation_rules: [{ kms: A }] })?.others, []);
  });

  it('keeps the encryption fields sops writes into the metadata, with their types checked; empty and false ones are left out', () => {
    const rule = match({ creation_rules: [{ kms: A, encrypted_regex: '^(data|stringData)$', unencrypted_suffix: '', mac_only_encrypted: true, encrypted_comment_regex: null, unencrypted_regex: false }] });
    assert.deepEqual(rule?.crypt, { encrypted_regex: '^(data|stringData)$', mac_only_encrypted: true });
    assert.deepEqual(match({ creation_rules: [{ kms: A }] })?.crypt, {});
  });

  describe('refuses a committed config that is not what sops reads, naming the rule', () => {
    const refusals: [string, unknown, string, string][] = [
      ['a config that is not a map', ['x'], 'FORMAT', '/repo/.sops.yaml: not a map'],
      ['creation_rules that is not a list', { creation_rules: 'x' }, 'FORMAT', '/repo/.sops.yaml: creation_rules is not a list'],
      ['a rule that is not a map', { creation_rules: [{ path_regex: 'nothing-matches-this', kms: A }, 'x'] }, 'FORMAT', '/repo/.sops.yaml: creation rule 2 is not a map'],
      ['kms that is neither a list nor a string', { creation_rules: [{ kms: 7 }] }, 'FORMAT', '/repo/.sops.yaml: kms is not a list or a comma-separated string'],
      ['a kms entry without an arn', { creation_rules: [{ kms: [{ context: {} }] }] }, 'FORMAT', '/repo/.sops.yaml: a kms entry without arn'],
      ['a kms entry that is a list', { creation_rules: [{ kms: [[A]] }] }, 'FORMAT', '/repo/.sops.yaml: a kms entry without arn'],
      ['a key split between key groups (Shamir)', { creation_rules: [{ key_groups: [{ kms: [A] }, { kms: [B] }] }] }, 'USAGE', '/repo/.sops.yaml: creation rule 1 splits the data key between key groups (Shamir)'],
      ['mac_only_encrypted that is not true', { creation_rules: [{ kms: A, mac_only_encrypted: 'yes' }] }, 'FORMAT', '/repo/.sops.yaml: creation rule 1: mac_only_encrypted has the wrong type'],
      ['a suffix that is not a string', { creation_rules: [{ path_regex: '^nope', kms: A }, { kms: A, unencrypted_suffix: 3 }] }, 'FORMAT', '/repo/.sops.yaml: creation rule 2: unencrypted_suffix has the wrong type'],
    ];
    for (const [what, config, code, message] of refusals) {
      it(what, () => assert.throws(() => match(config), refusedAs(code, message)));
    }

    it('a pattern that could backtrack without bound, in path_regex or an encryption field', () => {
      assert.throws(() => match({ creation_rules: [{ path_regex: '(a+)+$', kms: A }] }), (e: Error) => /creation rule 1: path_regex/.test(e.message));
      assert.throws(() => match({ creation_rules: [{ kms: A, encrypted_regex: '(a*)*b' }] }), (e: Error) => /creation rule 1: encrypted_regex/.test(e.message));
    });

    it('no creation_rules at all is no rule', () => {
      assert.equal(match({}), undefined);
      assert.equal(match({ creation_rules: null }), undefined);
    });
  });

  describe('finding the config', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'kms-envelope-sops-rules-'));
      mkdirSync(path.join(dir, '.git'));
      mkdirSync(path.join(dir, 'deploy/prod'), { recursive: true });
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('uses the nearest .sops.yaml above the file, matching the path relative to that config\'s folder', async () => {
      writeFileSync(path.join(dir, '.sops.yaml'), `creation_rules:\n  - kms: ${A}\n`);
      writeFileSync(path.join(dir, 'deploy/.sops.yaml'), `creation_rules:\n  - path_regex: ^prod/secrets\\.yaml$\n    kms: ${B}\n`);
      assert.deepEqual((await findCreationRule(path.join(dir, 'deploy/prod/secrets.yaml')))?.kms, [{ arn: B }]);
      assert.equal((await findCreationRule(path.join(dir, 'deploy/prod/secrets.yaml')))?.config, path.join(dir, 'deploy/.sops.yaml'));
      assert.equal(await findCreationRule(path.join(dir, 'deploy/prod/other.yaml')), undefined, 'the nearest config decides, not one further up');
    });

    it('no .sops.yaml up to the repository root is no rule', async () => {
      assert.equal(await findCreationRule(path.join(dir, 'deploy/prod/secrets.yaml')), undefined);
    });

    it('a .sops.yaml that is not YAML, or uses aliases, is refused', async () => {
      writeFileSync(path.join(dir, '.sops.yaml'), 'creation_rules: [\n');
      await assert.rejects(findCreationRule(path.join(dir, 'deploy/prod/secrets.yaml')), refusedAs('FORMAT', `${path.join(dir, '.sops.yaml')}: not valid YAML`));
      writeFileSync(path.join(dir, '.sops.yaml'), `a: &k ${A}\ncreation_rules:\n  - kms: *k\n`);
      await assert.rejects(findCreationRule(path.join(dir, 'deploy/prod/secrets.yaml')), refusedAs('FORMAT', `${path.join(dir, '.sops.yaml')}: not valid YAML`));
    });
  });
});
