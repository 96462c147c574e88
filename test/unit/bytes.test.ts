import assert from 'node:assert/strict';
import fc from 'fast-check';
import { equalBytes, fromB64, lineOf } from '../../src/core/bytes';

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

  it('the last character of an unpadded group has its unused bits zero, whatever the alphabet', () => {
    for (const [t, url] of [['AA', true], ['AA==', false], ['AAA', true], ['AAA=', false]] as const) assert.ok(fromB64(t, url), t);
    for (const [t, url] of [['A-', true], ['A_', true], ['AA-', true], ['AA_', true], ['A+==', false], ['A/==', false], ['AA+=', false], ['AA/=', false], ['AB', true], ['AAB', true]] as const) assert.equal(fromB64(t, url), null, t);
  });
});

describe('equalBytes and lineOf', () => {
  it('byte strings of different lengths are unequal (not an error)', () => {
    assert.equal(equalBytes(Buffer.from('ab'), Buffer.from('abc')), false);
    assert.equal(equalBytes(Buffer.from('abc'), Buffer.from('abd')), false);
    assert.equal(equalBytes(Buffer.from('abc'), Buffer.from('abc')), true);
  });

  it('a line’s newline belongs to that line', () => {
    assert.equal(lineOf('a\nb\n', 0), 1);
    assert.equal(lineOf('a\nb\n', 1), 1, 'the first newline');
    assert.equal(lineOf('a\nb\n', 2), 2);
    assert.equal(lineOf('a\nb\n', 3), 2);
    assert.equal(lineOf('a\nb\n', 4), 3);
  });
});
