import assert from 'node:assert/strict';
import { formatError, isKmsEnvelopeError, KmsEnvelopeError, tamperError } from '../../src/core/errors';

describe('errors: one type with a code, a message and a hint, recognised across bundles', () => {
  it('a KmsEnvelopeError is named so, carries its code, hint and profile, and is an Error', () => {
    const e = new KmsEnvelopeError('SSO_EXPIRED', 'the session expired', 'Run aws sso login.', 'dev');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'KmsEnvelopeError');
    assert.equal(String(e), 'KmsEnvelopeError: the session expired');
    assert.deepEqual([e.code, e.message, e.hint, e.profile], ['SSO_EXPIRED', 'the session expired', 'Run aws sso login.', 'dev']);
  });

  it("isKmsEnvelopeError accepts this bundle's errors and another bundle's copy of the class (by name and a string code)", () => {
    assert.equal(isKmsEnvelopeError(new KmsEnvelopeError('CONFIG', 'x')), true);
    // what an error thrown by the lazily loaded SDK bundle looks like here: another class, same shape
    class OtherCopy extends Error {
      override readonly name = 'KmsEnvelopeError';
      constructor(readonly code: string) {
        super('from the other bundle');
      }
    }
    assert.equal(isKmsEnvelopeError(new OtherCopy('ACCESS_DENIED')), true);
    assert.equal(isKmsEnvelopeError({ name: 'KmsEnvelopeError', code: 'FORMAT' }), true);
  });

  it('isKmsEnvelopeError refuses everything else: other errors, a wrong name, a code that is not a string, null and primitives', () => {
    for (const e of [
      new Error('plain'),
      Object.assign(new Error('x'), { code: 'ENOENT' }),
      { name: 'KmsEnvelopeError' },
      { name: 'KmsEnvelopeError', code: 7 },
      { name: 'Error', code: 'FORMAT' },
      { name: '', code: 'FORMAT' },
      null,
      undefined,
      'KmsEnvelopeError',
      42,
    ]) {
      assert.equal(isKmsEnvelopeError(e), false, `accepted ${JSON.stringify(e)}`);
    }
  });

  it('formatError and tamperError say where, what and what to do', () => {
    const f = formatError('line 3', 'unknown field');
    assert.deepEqual([f.code, f.message, f.hint], ['FORMAT', 'line 3: unknown field', 'The file is not a valid kms-envelope v1 file; restore it from version control.']);
    const t = tamperError('the header');
    assert.deepEqual(
      [t.code, t.message, t.hint],
      ['TAMPERED', 'the header failed authentication: the file was modified outside kms-envelope or is corrupt', 'Nothing was decrypted. Restore the file from version control and compare the change.'],
    );
  });
});
