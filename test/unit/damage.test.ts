import assert from 'node:assert/strict';
import { damagedError, refuseDamaged, remnantsOf } from '../../src/core/damage';
import { refusedAs } from '../support/errors';

/** What is left of kms-envelope in a text without a valid header (core/damage.ts). */
describe('damaged is not plain: remnants of a header or of tokens', () => {
  const token = 'ENC[kmsenv:v1:EBESExQVFhcYGRob9RqfHTJ_znpLxs4RlIWowNU]';
  it('tokens count by default, and can be left out (documentation may show one)', () => {
    assert.equal(remnantsOf(`A=${token}\n`), 'encrypted values (ENC[kmsenv:…])');
    assert.equal(remnantsOf(`A=${token}\n`, { tokens: false }), null);
    assert.equal(remnantsOf('A=1\n'), null);
  });

  it('header lines in # or // comments, after a BOM, with LF or CRLF; ordinary comments are not', () => {
    const lines = [
      '# kms-envelope v1 dotenv',
      '// kms-envelope v1 text',
      '\uFEFF# kms-envelope v1 file',
      '# -> aws-kms arn:aws:kms:us-east-1:111122223333:key/x AAAA',
      '# context {"kms-envelope":"v1"}',
      `# commitment ${'Q'.repeat(43)}=\r`,
      `# mac ${'A'.repeat(43)}=`,
    ];
    for (const l of lines) assert.equal(remnantsOf(`X=1\n${l}\n`), 'kms-envelope header lines', l);
    assert.equal(remnantsOf(`${lines[0]}\nA=${token}\n`), 'encrypted values and header lines');
    for (const l of ['# mac address of the printer', '# context: staging', '# kms-envelope is our tool', '#kms-envelope v1 dotenv', `# mac ${'A'.repeat(20)}`]) assert.equal(remnantsOf(`${l}\n`), null, l);
  });

  it('the error says what the file holds and how to get it back, and refuseDamaged throws it only for remnants', () => {
    const e = damagedError('.env', 'encrypted values (ENC[kmsenv:…])');
    assert.equal(e.code, 'FORMAT');
    assert.equal(e.message, '.env is damaged: it holds encrypted values (ENC[kmsenv:…]) but no valid kms-envelope header');
    assert.equal(e.hint, 'Nothing was read or changed. Restore the header or the whole file from version control (git checkout -- .env, or git diff to see what changed); do not encrypt it again.');
    assert.throws(() => refuseDamaged('.env', `A=${token}\n`), refusedAs('FORMAT', e.message));
    assert.doesNotThrow(() => refuseDamaged('.env', `A=${token}\n`, { tokens: false }));
    assert.doesNotThrow(() => refuseDamaged('.env', 'A=1\n'));
  });
});
