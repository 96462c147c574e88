import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'dotenv';
import { setVariable } from '../../src/core/formats/dotenv-set';
import { KmsEnvelopeError } from '../../src/core/errors';
import { dotenvText } from '../support/arbitraries';

describe('setting a .env variable', () => {
  it('property: dotenv.parse reads back exactly the value set, and every other variable is unchanged', () => {
    let written = 0;
    const refused: string[] = [];
    const value = fc.string({ unit: fc.constantFrom(...Array.from("ab #='\"`\\\n\r\té😀$")), maxLength: 16 });
    fc.assert(
      fc.property(dotenvText(), fc.constantFrom('NEW', 'A', 'API_KEY'), value, (text, name, v) => {
        let out: string;
        try {
          out = setVariable(text, name, v);
        } catch (e) {
          // a value dotenv cannot express, or a file whose other lines it would change: each for its reason
          assert.ok(e instanceof KmsEnvelopeError && e.code === 'USAGE', String(e));
          if (/all three quote characters/.test(e.message)) assert.ok(['"', "'", '`'].every((q) => v.includes(q)), e.message);
          else assert.match(e.message, /reads it back unchanged|would change how other lines are read/);
          refused.push(e.message.replace(/"[^"]*"/g, '…'));
          return;
        }
        const before = parse(text);
        const after = parse(out);
        assert.equal(after[name], v);
        for (const k of Object.keys(before)) if (k !== name) assert.equal(after[k], before[k], k);
        written++;
      }),
      { numRuns: 3000, seed: 11 },
    );
    // refusals: values holding all three quote characters or a CR (which dotenv cannot express), or an unclosed quote nearby
    assert.ok(written > 1800, `only ${written} of 3000 values could be set`);
    assert.equal(written + refused.length, 3000, 'every run either set the value or refused it for a named reason');
  });

  it('replaces the value in place (comments and layout kept) or appends a line', () => {
    assert.equal(setVariable('# db\nA=1 # one\nB=2\n', 'A', 'x y'), "# db\nA='x y' # one\nB=2\n");
    assert.equal(setVariable('A=1', 'C', 'multi\nline'), "A=1\nC='multi\nline'\n");
  });
});
