import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'dotenv';
import { dotenvEntries } from '../../src/core/formats/dotenv';
import { dotenvText } from '../support/arbitraries';

/** What dotenv.parse does with a raw value (trim, unquote, expand \n in double quotes). */
function valueOf(raw: string): string {
  let v = raw.trim();
  const q = v[0];
  v = v.replace(/^(['"`])([\s\S]*)\1$/gm, '$2');
  if (q === '"') v = v.replace(/\\n/g, '\n').replace(/\\r/g, '\r');
  return v;
}

describe('dotenv lexer', () => {
  it('finds exactly the variables dotenv.parse finds, with the same values', () => {
    fc.assert(
      fc.property(dotenvText(), (text) => {
        const mine: Record<string, string> = {};
        for (const e of dotenvEntries(text)) mine[e.name] = valueOf(text.slice(e.start, e.end).replace(/\r\n?/g, '\n'));
        assert.deepEqual(mine, parse(text));
      }),
      { numRuns: 2000, seed: 42 },
    );
  });

  it('spans the value as written: quotes in, blanks and comments out', () => {
    const text = 'A = "x # y"  # c\nexport B=plain  \nC=\nD: \'q\'\r\nE=`multi\nline`\n';
    const spans = dotenvEntries(text).map((e) => [e.name, text.slice(e.start, e.end)]);
    assert.deepEqual(spans, [['A', '"x # y"'], ['B', 'plain'], ['C', ''], ['D', "'q'"], ['E', '`multi\nline`']]);
  });
});
