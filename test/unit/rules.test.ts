import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KmsEnvelopeError } from '../../src/core/errors';
import { findRule, matchRule, parseRules } from '../../src/core/rules';
import { refusedAs } from '../support/errors';

describe('rules file (.kms-envelope.json)', () => {
  const rules = parseRules(
    JSON.stringify({
      rules: [
        { path: '.env.production', keys: ['arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'], context: { env: 'production' } },
        { path: 'services/*/.env.staging', keys: ['alias/staging'] },
        { path: 'deploy/**/*.env', keys: ['alias/deploy'] },
      ],
    }),
    'r.json',
  );

  it('matches the first rule: a bare name in any folder, * within one folder, ** across folders', () => {
    assert.equal(matchRule(rules, '.env.production')?.context?.env, 'production');
    assert.equal(matchRule(rules, 'apps/web/.env.production')?.context?.env, 'production');
    assert.deepEqual(matchRule(rules, 'services/api/.env.staging')?.keys, ['alias/staging']);
    assert.equal(matchRule(rules, 'services/api/v2/.env.staging'), undefined);
    assert.deepEqual(matchRule(rules, 'deploy/eu/west/prod.env')?.keys, ['alias/deploy']);
    assert.deepEqual(matchRule(rules, 'deploy/prod.env')?.keys, ['alias/deploy']);
    assert.equal(matchRule(rules, '.env'), undefined);
  });

  const HINT = 'Fix the rules file: { "rules": [ { "path": "<glob>", "keys": ["<key ARN or alias>"], "context": { … } } ] }.';
  const rule = (r: object) => JSON.stringify({ rules: [{ path: '.env', keys: ['k'] }, r] });
  const refusals: [string, string, string][] = [
    ['not JSON', 'not json', 'not JSON'],
    ['null', 'null', 'expected an object with "rules": [ … ]'],
    ['an array', '[]', 'expected an object with "rules": [ … ]'],
    ['a string', '"rules"', 'expected an object with "rules": [ … ]'],
    ['rules not a list', '{"rules": {}}', 'expected an object with "rules": [ … ]'],
    ['no rules', '{}', 'expected an object with "rules": [ … ]'],
    ['another field beside rules', '{"rules": [], "extra": 1}', 'expected an object with "rules": [ … ]'],
    ['201 rules', JSON.stringify({ rules: Array.from({ length: 201 }, () => ({ path: 'x', keys: ['k'] })) }), 'more than 200 rules'],
    ['a rule that is not an object', rule([]).replace('[]', '"x"'), 'rule 2: expected "path", "keys" and optionally "context"'],
    ['a rule that is a number', rule([]).replace('[]', '5'), 'rule 2: expected "path", "keys" and optionally "context"'],
    ['a null rule', JSON.stringify({ rules: [{ path: '.env', keys: ['k'] }, null] }), 'rule 2: expected "path", "keys" and optionally "context"'],
    ['an unknown field', rule({ path: '.env', keys: ['k'], endpoint: 'http://evil' }), 'rule 2: expected "path", "keys" and optionally "context"'],
    ['no path', rule({ keys: ['k'] }), 'rule 2: "path" must be a relative glob'],
    ['an empty path', rule({ path: '', keys: ['k'] }), 'rule 2: "path" must be a relative glob'],
    ['an absolute path', rule({ path: '/etc/passwd', keys: ['k'] }), 'rule 2: "path" must be a relative glob'],
    ['a path out of the folder', rule({ path: 'a/../../x', keys: ['k'] }), 'rule 2: "path" must be a relative glob'],
    ['keys not a list', rule({ path: '.env', keys: 'k' }), 'rule 2: "keys" must list 1 to 16 KMS keys'],
    ['no keys', rule({ path: '.env', keys: [] }), 'rule 2: "keys" must list 1 to 16 KMS keys'],
    ['17 keys', rule({ path: '.env', keys: Array.from({ length: 17 }, (_, i) => `k${i}`) }), 'rule 2: "keys" must list 1 to 16 KMS keys'],
    ['a key that is not a string', rule({ path: '.env', keys: ['k', 1] }), 'rule 2: "keys" must list 1 to 16 KMS keys'],
    ['a blank key after a good one', rule({ path: '.env', keys: ['k', ' '] }), 'rule 2: "keys" must list 1 to 16 KMS keys'],
    ['a context that is a list', rule({ path: '.env', keys: ['k'], context: ['a'] }), 'rule 2: "context" must map names to strings'],
    ['a null context', rule({ path: '.env', keys: ['k'], context: null }), 'rule 2: "context" must map names to strings'],
    ['a context that is a string', rule({ path: '.env', keys: ['k'], context: 'env' }), 'rule 2: "context" must map names to strings'],
    ['a context value that is not a string', rule({ path: '.env', keys: ['k'], context: { a: 'x', b: 1 } }), 'rule 2: "context" must map names to strings'],
  ];
  for (const [what, text, message] of refusals) {
    it(`refuses ${what}: "${message}"`, () => assert.throws(() => parseRules(text, 'r.json'), refusedAs('FORMAT', `r.json: ${message}`)));
  }

  it('each refusal carries the hint with the expected shape', () => {
    assert.throws(() => parseRules('{}', 'r.json'), (e: unknown) => e instanceof KmsEnvelopeError && e.hint === HINT);
  });

  it('accepts each limit’s last value: 200 rules, 16 keys, an empty context, a path with ".." inside a name', () => {
    assert.equal(parseRules(JSON.stringify({ rules: Array.from({ length: 200 }, () => ({ path: 'x', keys: ['k'] })) }), 'r.json').length, 200);
    const [r] = parseRules(JSON.stringify({ rules: [{ path: 'a..b/.env', keys: Array.from({ length: 16 }, (_, i) => `k${i}`), context: {} }] }), 'r.json');
    assert.equal(r.keys.length, 16);
    assert.deepEqual(r.context, {});
    assert.deepEqual(parseRules('{"rules": []}', 'r.json'), []);
    assert.ok(!('context' in parseRules(rule({ path: '.env', keys: ['k'] }), 'r.json')[1]), 'no context: none added');
  });
});

describe('findRule: the nearest rules file above a file, up to the repository root', () => {
  let root: string;
  const write = async (rel: string, text: string) => {
    await fs.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await fs.writeFile(path.join(root, rel), text);
  };
  const rulesOf = (...paths: string[]) => JSON.stringify({ rules: paths.map((p) => ({ path: p, keys: [`alias/${p.replace(/\W/g, '')}`] })) });
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(tmpdir(), 'kms-envelope-rules-'));
    await fs.mkdir(path.join(root, 'repo', '.git'), { recursive: true });
  });
  afterEach(() => fs.rm(root, { recursive: true, force: true }));

  it('uses the nearest rules file, its rule matched against the path relative to its folder', async () => {
    await write('repo/.kms-envelope.json', rulesOf('apps/web/.env.production'));
    await write('repo/apps/web/.env.production', '');
    const found = await findRule(path.join(root, 'repo/apps/web/.env.production'));
    assert.deepEqual(found, { file: path.join(root, 'repo/.kms-envelope.json'), rule: { path: 'apps/web/.env.production', keys: ['alias/appswebenvproduction'] } });
    await write('repo/apps/.kms-envelope.json', rulesOf('other'));
    assert.equal(await findRule(path.join(root, 'repo/apps/web/.env.production')), undefined, 'the nearest file decides, even without a matching rule');
  });

  it('stops at the repository root: a rules file above it does not apply', async () => {
    await write('.kms-envelope.json', rulesOf('**/.env'));
    await write('repo/a/.env', '');
    assert.equal(await findRule(path.join(root, 'repo/a/.env')), undefined);
    await fs.rm(path.join(root, 'repo', '.git'), { recursive: true });
    assert.equal((await findRule(path.join(root, 'repo/a/.env')))?.file, path.join(root, '.kms-envelope.json'), 'without .git it looks further up');
  });

  it('a .git file (a worktree or submodule) marks the root too', async () => {
    await fs.rm(path.join(root, 'repo', '.git'), { recursive: true });
    await write('repo/.git', 'gitdir: elsewhere\n');
    await write('.kms-envelope.json', rulesOf('**/.env'));
    assert.equal(await findRule(path.join(root, 'repo/a/.env')), undefined);
  });

  it('refuses a rules file that is a symlink or a folder, and one over 64 KB', async () => {
    await write('elsewhere.json', rulesOf('.env'));
    await fs.symlink(path.join(root, 'elsewhere.json'), path.join(root, 'repo/.kms-envelope.json'));
    const rulesFile = path.join(root, 'repo/.kms-envelope.json');
    await assert.rejects(findRule(path.join(root, 'repo/.env')), refusedAs('FORMAT', `${rulesFile}: not a regular file`));
    await fs.rm(rulesFile);
    await fs.mkdir(rulesFile);
    await assert.rejects(findRule(path.join(root, 'repo/.env')), refusedAs('FORMAT', `${rulesFile}: not a regular file`));
    await fs.rm(rulesFile, { recursive: true });
    await write('repo/.kms-envelope.json', JSON.stringify({ rules: [], pad: 'x'.repeat(64 * 1024) }));
    await assert.rejects(findRule(path.join(root, 'repo/.env')), refusedAs('FORMAT', `${rulesFile} is larger than 65536 bytes, the limit for this kind of file`));
  });

  it('looks up at most 32 folders', async () => {
    await fs.rm(path.join(root, 'repo', '.git'), { recursive: true });
    const deep = Array.from({ length: 32 }, (_, i) => `d${i}`).join('/');
    await write(`repo/${deep}/.env`, '');
    await write('repo/.kms-envelope.json', rulesOf('**/.env'));
    assert.equal(await findRule(path.join(root, `repo/${deep}/.env`)), undefined, '33 folders up: not looked at');
    const shallower = Array.from({ length: 31 }, (_, i) => `d${i}`).join('/');
    assert.ok(await findRule(path.join(root, `repo/${shallower}/.env`)), '32 folders up: found');
  });
});
