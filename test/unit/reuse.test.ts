import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReuseMap } from '../../src/core/reuse';

describe('ReuseMap: tokens by entry name and plaintext, for the next save', () => {
  it('answers as a map keyed by name and value would, the later record of a pair winning, records added after a look-up included', () => {
    const record = fc.tuple(fc.constantFrom('A', 'B', 'A_B', ''), fc.constantFrom('', 'x', 'y', 'A', 'x\0y'), fc.string({ maxLength: 6 }));
    fc.assert(
      fc.property(fc.array(record, { maxLength: 30 }), fc.array(record, { maxLength: 10 }), (first, later) => {
        const reuse = new ReuseMap();
        const reference = new Map<string, string>();
        const check = () => {
          for (const name of ['A', 'B', 'A_B', '', 'C']) for (const value of ['', 'x', 'y', 'A', 'x\0y', 'z']) assert.equal(reuse.get(name, value), reference.get(`${name}\0${value}`), `${name}=${value}`);
        };
        for (const [name, value, token] of first) (reuse.add(name, value, token), reference.set(`${name}\0${value}`, token));
        check();
        for (const [name, value, token] of later) (reuse.add(name, value, token), reference.set(`${name}\0${value}`, token));
        check();
        assert.equal(reuse.size, first.length + later.length);
      }),
      { numRuns: 300 },
    );
  });

  it('gives a token\'s value only under the name it was recorded with (a token moved to another entry is decrypted, and refused)', () => {
    const reuse = new ReuseMap();
    reuse.add('A', 'alpha', 'tA');
    reuse.add('B', 'bravo', 'tB');
    assert.equal(reuse.valueOf('tA', 'A'), 'alpha');
    assert.equal(reuse.valueOf('tA', 'B'), undefined);
    assert.equal(reuse.valueOf('tC', 'A'), undefined);
    reuse.add('C', 'charlie', 'tC'); // after a look-up
    assert.equal(reuse.valueOf('tC', 'C'), 'charlie');
  });

  it('concat keeps every record in order, the last map winning a pair both hold (the merge driver: ours over theirs)', () => {
    const theirs = new ReuseMap();
    theirs.add('A', '1', 'theirs-A');
    theirs.add('B', '2', 'theirs-B');
    const ours = new ReuseMap();
    ours.add('A', '1', 'ours-A');
    const both = ReuseMap.concat(theirs, ours);
    assert.equal(both.get('A', '1'), 'ours-A');
    assert.equal(both.get('B', '2'), 'theirs-B');
    assert.deepEqual([...both], [['A', '1', 'theirs-A'], ['B', '2', 'theirs-B'], ['A', '1', 'ours-A']]);
  });
});
