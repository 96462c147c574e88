import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'dotenv';
import { setVariable } from '../../src/core/formats/dotenv-set';
import { KmsEnvelopeError } from '../../src/core/errors';
import { dotenvText } from '../support/arbitraries';
import { refusedAs } from '../support/errors';

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
          else if (/a \\n or \\r/.test(e.message)) assert.ok(v.includes("'") && v.includes('`') && /\\[nr]/.test(v), e.message);
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

  it('writes a value bare when it is safe, else in the first quotes it does not hold: single, backtick, double', () => {
    const written: [string, string][] = [
      ['abc', 'K=abc\n'],
      ['', 'K=\n'],
      ['a=b$c', 'K=a=b$c\n'],
      ['a b', "K='a b'\n"],
      [' lead', "K=' lead'\n"],
      ['a#b', "K='a#b'\n"],
      ['tab\tx', "K='tab\tx'\n"],
      ['a\\nb', "K='a\\nb'\n"],
      ['say "hi"', `K='say "hi"'\n`],
      ["it's", 'K=`it\'s`\n'],
      ["it's `x`", 'K="it\'s `x`"\n'],
    ];
    for (const [value, text] of written) assert.equal(setVariable('', 'K', value), text, JSON.stringify(value));
  });

  it('refuses, each for its reason: a bad name, a value no quotes can hold, one dotenv would read back otherwise, a file whose other lines would change', () => {
    const refusals: [string, string, string, string][] = [
      ['', 'a b', 'x', '"a b" is not a variable name (letters, digits, _ . -)'],
      ['', 'K=', 'x', '"K=" is not a variable name (letters, digits, _ . -)'],
      ['', 'K', `it's \`x\` "y"`, 'the value holds all three quote characters, which a .env cannot express'],
      ['', 'K', "it's `x` \\n", "the value holds ' and ` and a \\n or \\r, which a .env cannot express"],
      ['', 'K', "it's `x` \\r", "the value holds ' and ` and a \\n or \\r, which a .env cannot express"],
      ['', 'K', 'a\rb', 'this value cannot be written so that dotenv reads it back unchanged'],
      // the new line's quote closes the one left open above it, and the rest of the line is a comment
      ['W=0\nX="a\n', 'C', 'b="#', 'setting C here would change how other lines are read (an unclosed quote?)'],
    ];
    for (const [text, name, value, message] of refusals) assert.throws(() => setVariable(text, name, value), refusedAs('USAGE', message), JSON.stringify([text, name, value]));
    assert.throws(() => setVariable('W=0\nX="a\n', 'C', 'b="#'), (e: Error & { hint?: string }) => e.hint === 'Fix the file\'s syntax first (Open Decrypted).');
  });

  it('appends with the file\'s line ending, after a line break of its own if the last line has none', () => {
    assert.equal(setVariable('A=1\r\nB=2', 'C', 'x'), 'A=1\r\nB=2\r\nC=x\r\n');
    assert.equal(setVariable('A=1\r\n', 'C', 'x'), 'A=1\r\nC=x\r\n');
    assert.equal(setVariable('A=1\nB=2', 'C', 'x'), 'A=1\nB=2\nC=x\n');
    assert.equal(setVariable('A=1\n', 'C', 'x'), 'A=1\nC=x\n');
    assert.equal(setVariable('', 'C', 'x'), 'C=x\n');
    assert.equal(setVariable('A=1\nA=2\n', 'A', 'x'), 'A=1\nA=x\n', 'the last assignment, the one dotenv reads');
  });

  it('replaces the value in place (comments and layout kept) or appends a line', () => {
    assert.equal(setVariable('# db\nA=1 # one\nB=2\n', 'A', 'x y'), "# db\nA='x y' # one\nB=2\n");
    assert.equal(setVariable('A=1', 'C', 'multi\nline'), "A=1\nC='multi\nline'\n");
  });
});
