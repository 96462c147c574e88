import assert from 'node:assert/strict';
import { matchRule, parseRules } from '../../src/core/rules';

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

  it('refuses anything but the documented shape, bounded', () => {
    for (const bad of [
      'not json',
      '[]',
      '{"rules": {}}',
      '{"rules": [], "extra": 1}',
      '{"rules": [{"path": "/etc/passwd", "keys": ["k"]}]}',
      '{"rules": [{"path": "../x", "keys": ["k"]}]}',
      '{"rules": [{"path": ".env", "keys": []}]}',
      '{"rules": [{"path": ".env", "keys": [1]}]}',
      '{"rules": [{"path": ".env", "keys": ["k"], "context": {"a": 1}}]}',
      '{"rules": [{"path": ".env", "keys": ["k"], "endpoint": "http://evil"}]}',
      JSON.stringify({ rules: Array.from({ length: 201 }, () => ({ path: 'x', keys: ['k'] })) }),
    ]) {
      assert.throws(() => parseRules(bad, 'r.json'), /r\.json/, bad.slice(0, 60));
    }
  });
});
