import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'dotenv';
import { setVariable } from '../../src/core/formats/dotenv-set';
import { KmsEnvelopeError } from '../../src/core/errors';
import { dotenvText } from '../support/arbitraries';

describe('setting a .env variable', () => {
  it('property: dotenv.parse reads back exactly the value set, and every other variable is unchanged', () => {
    let written = 0;
    const value = fc.string({ unit: fc.constantFrom(...Array.from("ab #='\"`\\\n\r\té😀$")), maxLength: 16 });
    fc.assert(
      fc.property(dotenvText(), fc.constantFrom('NEW', 'A', 'API_KEY'), value, (text, name, v) => {
        let out: string;
        try {
          out = setVariable(text, name, v);
        } catch (e) {
          assert.ok(e instanceof KmsEnvelopeError, String(e)); // a value dotenv cannot express
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
  });

  it('replaces the value in place (comments and layout kept) or appends a line', () => {
    assert.equal(setVariable('# db\nA=1 # one\nB=2\n', 'A', 'x y'), "# db\nA='x y' # one\nB=2\n");
    assert.equal(setVariable('A=1', 'C', 'multi\nline'), "A=1\nC='multi\nline'\n");
  });
});
