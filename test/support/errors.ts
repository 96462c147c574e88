import assert from 'node:assert/strict';
import { KmsEnvelopeError } from '../../src/core/errors';

/** For assert.throws / rejects: the error is ours, with exactly this code and message (a mutant that changes either fails). */
export const refusedAs = (code: string, message: string) => (e: unknown) => {
  assert.ok(e instanceof KmsEnvelopeError, `not a KmsEnvelopeError: ${String(e)}`);
  assert.equal(e.code, code);
  assert.equal(e.message, message);
  return true;
};
