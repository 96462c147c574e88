import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromB64 } from '../../src/core/bytes';

/** The definition that fromB64's fast checks must agree with: re-encoding gives the same text. */
const canonical = (t: string, url: boolean): Buffer | null => {
  if (!(url ? /^[A-Za-z0-9_-]*$/ : /^[A-Za-z0-9+/]*={0,2}$/).test(t)) return null;
  const b = Buffer.from(t, url ? 'base64url' : 'base64');
  return (url ? b.toString('base64url') : b.toString('base64')) === t ? b : null;
};

describe('strict base64', () => {
  it('accepts exactly the canonical encodings (property, against re-encoding)', () => {
    const alphabet = Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_=');
    const text = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).chain((b) => fc.constantFrom(Buffer.from(b).toString('base64'), Buffer.from(b).toString('base64url'))),
      fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 24 }),
    );
    fc.assert(
      fc.property(text, fc.boolean(), (t, url) => {
        assert.deepEqual(fromB64(t, url), canonical(t, url));
      }),
      { numRuns: 20_000, seed: 3 },
    );
  });
});
