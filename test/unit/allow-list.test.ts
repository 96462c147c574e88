/** The allow-list on its own (issue 12): what a pattern matches, and what it must not. */
import assert from 'node:assert/strict';
import { accountOf, aliasOf, isAllowed, parseAllowList } from '../../src/core/kms/allow-list';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/0a1b2c3d-1111-2222-3333-444455556666';
const OTHER_ACCOUNT = KEY.replace('111122223333', '444455556666');

describe('allow-list', () => {
  it('an exact ARN allows that key only', () => {
    assert.ok(isAllowed(KEY, [KEY]));
    assert.ok(!isAllowed(OTHER_ACCOUNT, [KEY]));
    assert.ok(!isAllowed(KEY, []), 'an empty list allows nothing');
  });

  it('"*" matches any run of characters, and nothing else in a pattern is special', () => {
    const account = 'arn:aws:kms:*:111122223333:key/*';
    assert.ok(isAllowed(KEY, [account]));
    assert.ok(isAllowed(KEY.replace('us-east-1', 'eu-west-1'), [account]));
    assert.ok(!isAllowed(OTHER_ACCOUNT, [account]), 'another account is refused');
    assert.ok(!isAllowed(`x${KEY}`, [account]), 'anchored at the start');
    assert.ok(!isAllowed(`${KEY}x`, [KEY.replace('0a1b2c3d', '*')]), 'anchored at the end');
    assert.ok(isAllowed(KEY, [KEY.replace('0a1b2c3d', '*')]));
    assert.ok(!isAllowed('arn:aws:kms:us-east-1:111122223333:alias/x', ['arn:aws:kms:*:111122223333:key/*']));
    // "." and other regular-expression characters are literal
    assert.ok(!isAllowed('arn:aws:kmsXus-east-1:111122223333:key/k', ['arn:aws:kms.us-east-1:*']));
    assert.ok(isAllowed('arn:aws:kms.us-east-1:1:key/(k)', ['arn:aws:kms.us-east-1:*:key/(k)']));
    assert.ok(!isAllowed('arn:aws:kms:us-east-1:1:key/kk', ['arn:aws:kms:us-east-1:*:key/k+']));
  });

  it('parses a list separated by commas, spaces or newlines, dropping empty items', () => {
    assert.deepEqual(parseAllowList(` ${KEY}, arn:aws:kms:*:111122223333:key/*\n\t${OTHER_ACCOUNT},,`), [KEY, 'arn:aws:kms:*:111122223333:key/*', OTHER_ACCOUNT]);
    assert.deepEqual(parseAllowList(undefined), []);
    assert.deepEqual(parseAllowList(' , '), []);
  });

  it('the account of a key or alias ARN; nothing for anything else', () => {
    assert.equal(accountOf(KEY), '111122223333');
    assert.equal(accountOf('arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/app'), '111122223333');
    assert.equal(accountOf('0a1b2c3d-1111-2222-3333-444455556666'), undefined);
  });

  it('the alias a reference names: alias/x as is, an alias ARN without its prefix, nothing for a key', () => {
    assert.equal(aliasOf('alias/app'), 'alias/app');
    assert.equal(aliasOf('arn:aws:kms:us-east-1:111122223333:alias/app/prod'), 'alias/app/prod');
    assert.equal(aliasOf(KEY), undefined);
  });
});
