import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'dotenv';
import { conflictMarkerLines, mergeDotenv } from '../../src/core/formats/dotenv-merge';
import { dotenvText } from '../support/arbitraries';

const L = { ours: 'ours', theirs: 'theirs' };
const NAMES = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'];

/** A `.env` from name → value, with a comment above each variable. */
const render = (vars: Record<string, string>): string => Object.entries(vars).map(([k, v]) => `# ${k.toLowerCase()}\n${k}=${v}\n`).join('');

/** One side's edit: for each name it touches, a new value, or null to remove it. */
const edit = fc.dictionary(fc.constantFrom(...NAMES), fc.option(fc.stringMatching(/^[a-z0-9]{1,6}$/), { nil: null }), { maxKeys: 4 });
const apply = (vars: Record<string, string>, e: Record<string, string | null>): Record<string, string> => {
  const out = { ...vars };
  for (const [k, v] of Object.entries(e)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
};

describe('merging .env texts variable by variable', () => {
  it('property: edits of different variables on each side (changes, additions, removals) merge without conflict into both sides\' values', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...NAMES), fc.stringMatching(/^[a-z0-9]{1,6}$/), { minKeys: 1 }), edit, edit, (base, ea, eb) => {
        for (const k of Object.keys(eb)) if (k in ea) delete eb[k]; // different variables
        const merged = mergeDotenv(render(base), render(apply(base, ea)), render(apply(base, eb)), L);
        assert.deepEqual(merged.conflicts, []);
        assert.deepEqual(parse(merged.text), apply(apply(base, ea), eb));
      }),
      { numRuns: 2000, seed: 8 },
    );
  });

  it('property: when one side did not change, the result is the other side, byte for byte', () => {
    fc.assert(
      fc.property(dotenvText(), dotenvText(), (base, changed) => {
        assert.deepEqual(mergeDotenv(base, changed, base, L), { text: changed, conflicts: [] });
        assert.deepEqual(mergeDotenv(base, base, changed, L), { text: changed, conflicts: [] });
      }),
      { numRuns: 1000, seed: 9 },
    );
  });

  it('two additions at the end of the file are both kept, ours first', () => {
    assert.equal(mergeDotenv('A=1\n', 'A=1\nX=ours\n', 'A=1\nY=theirs\n', L).text, 'A=1\nX=ours\nY=theirs\n');
  });

  it('the same variable changed differently is a conflict with git\'s markers around both lines, in CRLF for a CRLF file', () => {
    const m = mergeDotenv('A=1\r\nB=2\r\n', 'A=ours\r\nB=2\r\n', 'A=theirs\r\nB=2\r\n', { ...L, markerSize: 9 });
    assert.deepEqual(m.conflicts, ['A']);
    assert.equal(m.text, '<<<<<<<<< ours\r\nA=ours\r\n=========\r\nA=theirs\r\n>>>>>>>>> theirs\r\nB=2\r\n');
  });

  it('a variable changed on one side and removed on the other is a conflict, where the changing side had it', () => {
    const m = mergeDotenv('A=1\nB=2\nC=3\n', 'A=1\nB=changed\nC=3\n', 'A=1\nC=3\n', L);
    assert.deepEqual(m.conflicts, ['B']);
    assert.equal(m.text, 'A=1\n<<<<<<< ours\nB=changed\n=======\n>>>>>>> theirs\nC=3\n');
  });

  it('a conflict goes back where the changing side had it: first in the file, several in a row, after the others', () => {
    // changed in ours, removed in theirs
    let m = mergeDotenv('A=1\nB=2\nC=3\nD=4\n', 'A=a\nB=b\nC=3\nD=4\n', 'C=3\nD=4\n', L);
    assert.deepEqual(m.conflicts, ['A', 'B']);
    assert.equal(m.text, '<<<<<<< ours\nA=a\n=======\n>>>>>>> theirs\n<<<<<<< ours\nB=b\n=======\n>>>>>>> theirs\nC=3\nD=4\n');
    // removed in ours, changed in theirs: ours' side of the markers is empty
    m = mergeDotenv('A=1\nB=2\nC=3\n', 'A=1\n', 'A=1\nB=2\nC=c\n', L);
    assert.deepEqual(m.conflicts, ['C']);
    assert.equal(m.text, 'A=1\n<<<<<<< ours\n=======\nC=c\n>>>>>>> theirs\n');
  });

  it('a conflict on a last line without a line break still gets its markers on lines of their own', () => {
    let m = mergeDotenv('A=1\nB=2', 'A=1\nB=ours', 'A=1\nB=theirs', L);
    assert.equal(m.text, 'A=1\n<<<<<<< ours\nB=ours\n=======\nB=theirs\n>>>>>>> theirs\n');
    // the line before the conflict has no line break of its own: theirs removed B, and with it A's line break
    m = mergeDotenv('A=1\nB=2\n', 'A=1\nB=ours\n', 'A=1', L);
    assert.equal(m.text, 'A=1\n<<<<<<< ours\nB=ours\n=======\n>>>>>>> theirs\n');
  });

  it('lines both sides added in the same place are all kept, repeated ones as often as a side has them', () => {
    const m = mergeDotenv('A=1\n', '# x\n# x\nA=1\n', '# x\n# y\nA=1\n', L);
    assert.deepEqual(m.conflicts, []);
    assert.equal(m.text, '# x\n# x\n# y\nA=1\n');
    // the other way round: ours' one '# x' takes one of theirs' two, the second stays
    assert.equal(mergeDotenv('A=1\n', '# x\nA=1\n', '# x\n# x\n# y\nA=1\n', L).text, '# x\n# x\n# y\nA=1\n');
  });

  it('the same change on both sides is one line; a variable removed on both sides is gone', () => {
    assert.equal(mergeDotenv('A=1\nB=2\n', 'A=9\n', 'A=9\n', L).text, 'A=9\n');
  });

  it('conflict markers are found by line, of any size git writes, and only at a line\'s start', () => {
    assert.deepEqual(conflictMarkerLines('A=1\n<<<<<<< ours\nA=2\n=======\nA=3\n>>>>>>> theirs\n'), [2, 4, 6]);
    assert.deepEqual(conflictMarkerLines('<<<<<<<<< ours\r\n=========\r\n>>>>>>>>> theirs\r\n======\n'), [1, 2, 3]);
    assert.deepEqual(conflictMarkerLines('A="<<<<<<< not at line start"\n'), []);
    assert.deepEqual(conflictMarkerLines('<<<<<<<\n>>>>>>>\n=======\n'), [1, 2, 3], 'markers without labels');
    assert.deepEqual(conflictMarkerLines('<<<<<<<x\n>>>>>>>x\n=======x\nx=======\n======= ours\n'), [], 'only a space or the line end after the marker');
  });
});
