import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromB64 } from '../../src/core/bytes';
import { findTokens, formatToken, isToken, parseToken, tokenBytes } from '../../src/core/formats/token';
import { refusedAs } from '../support/errors';

/** The token's own rules, apart from the layers that would also catch a broken one (issue 12). */
describe('tokens: ENC[kmsenv:v1:<base64url>]', () => {
  const bytes = (n: number) => Buffer.alloc(n, 0xab);

  it('the shortest token is an empty value (IV 12 + tag 16 = 28 bytes); one byte less is refused', () => {
    assert.deepEqual(parseToken(formatToken(bytes(28))), bytes(28));
    assert.equal(parseToken(formatToken(bytes(27))), null);
    assert.equal(parseToken(formatToken(bytes(0))), null);
    assert.throws(() => findTokens(`A=${formatToken(bytes(27))}\n`), refusedAs('FORMAT', 'line 1: text that starts like an encrypted value but is not a valid kms-envelope v1 token'));
  });

  it('a value is a token only with its exact prefix and closing bracket around canonical base64url', () => {
    const body = formatToken(bytes(30)).slice('ENC[kmsenv:v1:'.length, -1);
    assert.deepEqual(parseToken(`ENC[kmsenv:v1:${body}]`), bytes(30));
    for (const text of [
      `ENC[kmsenv:v2:${body}]`, // another version
      `xxxxxxxxxxxxxx${body}]`, // as long as the prefix, but not it
      `ENC[kmsenv:v1:${body}A`, // no closing bracket: the character in its place is base64url
      `ENC[kmsenv:v1:${body}]]`,
      ` ENC[kmsenv:v1:${body}]`,
      `ENC[kmsenv:v1:${body}=]`,
      `ENC[kmsenv:v1:${body.replace(/.$/, '+')}]`, // the standard alphabet's + is not base64url
    ]) assert.equal(parseToken(text), null, text);
  });

  it('finds tokens that touch each other, each with its bytes', () => {
    const a = formatToken(bytes(28));
    const b = formatToken(Buffer.alloc(30, 1));
    const text = `x ${a}${b}\n${a}`;
    const spans = findTokens(text);
    assert.deepEqual(
      spans.map((s) => text.slice(s.start, s.end)),
      [a, b, a],
    );
    assert.deepEqual(spans[1].sealed, Buffer.alloc(30, 1));
  });

  it('isToken, which checks without decoding (a large file\'s lexing), accepts exactly the texts whose strict decoding holds 28 bytes or more', () => {
    // near-tokens: a canonical body of 0-40 bytes, then perhaps cut, lengthened or given a foreign character
    const text = fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.nat(3), fc.constantFrom('', 'A', '=', '+', '_', 'AA', ']')).map(([b, cut, extra]) => {
      const body = Buffer.from(b).toString('base64url');
      return `ENC[kmsenv:v1:${body.slice(0, body.length - cut)}${extra}]`;
    });
    fc.assert(
      fc.property(text, (t) => {
        const strict = fromB64(t.slice('ENC[kmsenv:v1:'.length, -1), true);
        assert.equal(isToken(t), strict !== null && strict.length >= 28, t);
        if (isToken(t)) assert.deepEqual(tokenBytes(t), strict);
      }),
      { numRuns: 2000 },
    );
  });
});
