import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'dotenv';
import { dotenvEntries, lookalikeLines } from '../../src/core/formats/dotenv';
import { dotenvText } from '../support/arbitraries';

/** What dotenv.parse does with a raw value (trim, unquote, expand \n in double quotes). */
function valueOf(raw: string): string {
  let v = raw.trim();
  const q = v[0];
  v = v.replace(/^(['"`])([\s\S]*)\1$/gm, '$2');
  if (q === '"') v = v.replace(/\\n/g, '\n').replace(/\\r/g, '\r');
  return v;
}

/** dotenv 17's own LINE expression (lib/main.js), the oracle: quadratic, so only for small texts. */
const LINE =
  /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/gm;

describe('dotenv lexer', () => {
  it('matches dotenv\'s own expression match for match (names and value spans), blank runs included', () => {
    const tricky = ['x\u2028B=2', 'x\u2029 B=2\n', '  \n\n\t\nA=1\n  \n', 'A\n\n=1', 'x y\nA=1', 'A=\n\n\nB=2', '\u00a0A=1\ufeff\nB=2'];
    fc.assert(
      fc.property(fc.oneof(dotenvText(), fc.constantFrom(...tricky)), (text) => {
        const folded = text.replace(/\r\n?/g, '\n');
        if (folded !== text) return; // offsets compare directly on LF text; CR folding is covered below
        const oracle = [...folded.matchAll(LINE)].map((m) => [m[1], (m[2] ?? '').trim() === '' ? '' : m[2].trimEnd()]);
        const mine = dotenvEntries(text).map((e) => [e.name, text.slice(e.start, e.end).replace(/^[ \t\v\f\u00a0\ufeff]+/, '')]);
        assert.deepEqual(mine, oracle.map(([n, v]) => [n, v.replace(/^\s+/, (lead) => (/[\n\u2028\u2029]/.test(lead) ? lead : '')).replace(/^[ \t\v\f\u00a0\ufeff]+/, '')]));
      }),
      { numRuns: 3000, seed: 43 },
    );
  });

  it('is linear in runs of blank and whitespace-only lines (80,000 of them, before any authentication)', () => {
    for (const filler of ['\n', ' \n', '\t \n']) {
      const text = `A=1\n${filler.repeat(80_000)}B=2\n${filler.repeat(80_000)}`;
      assert.deepEqual(dotenvEntries(text).map((e) => e.name), ['A', 'B']);
      assert.deepEqual(parse('A=1\n\n\nB=2'), { A: '1', B: '2' });
    }
  });

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

  it('finds the lines that look like assignments but are no entry, whose values would stay in clear', () => {
    assert.deepEqual(lookalikeLines('A=1\nÜBER=geheim\n# c=1\nB="x\ny=2"\nna me=3\nKEY\u00e9: v\n'), [2, 7]);
  });

  it('lookalikes: indented, exported, blanks around "=", on any line ending, right before an entry', () => {
    const cases: [string, number[]][] = [
      ['  ÜBER=x\n', [1]],
      ['export ÜBER=x\n', [1]],
      ['export  ÜBER=x\n', [1]],
      ['ÜBER = x\n', [1]],
      ['ÜBER= x\n', [1]],
      ['ÜBER: x\n', [1]],
      ['ÜBER=\n', []], // nothing to leave in clear
      ['ÜBER=x\nB=2\n', [1]],
      ['A=1\r\nÜBER=x\r\nB=2\r\n', [2]],
      ['A=1\rÜBER=x\rB=2\r', [2]],
      ['A=1\n\n\nÜBER=x', [4]],
      ['LONG_NAME=x\nB=1\n', []], // an entry's lines start at its name, however long (not at an offset past it)
      ['export LONG_NAME=x\n', []],
    ];
    for (const [text, lines] of cases) assert.deepEqual(lookalikeLines(text), lines, JSON.stringify(text));
  });

  it('spans the value as written: quotes in, blanks and comments out', () => {
    const text = 'A = "x # y"  # c\nexport B=plain  \nC=\nD: \'q\'\r\nE=`multi\nline`\n';
    const spans = dotenvEntries(text).map((e) => [e.name, text.slice(e.start, e.end)]);
    assert.deepEqual(spans, [['A', '"x # y"'], ['B', 'plain'], ['C', ''], ['D', "'q'"], ['E', '`multi\nline`']]);
  });

  it('leaves blanks before a value out unless they hold its line break, whatever the value holds', () => {
    const text = 'A= "x\ny"\nB=\n"z"\nC=  `p\nq`\n';
    const spans = dotenvEntries(text).map((e) => [e.name, text.slice(e.start, e.end)]);
    assert.deepEqual(spans, [['A', '"x\ny"'], ['B', '\n"z"'], ['C', '`p\nq`']]);
  });
});
