/**
 * The fixed-seed share of the reliability evidence that `npm run fuzz` runs in full and
 * writes to docs/RELIABILITY.md: fuzzing, the tamper matrix, the KMS fault matrix, kills.
 */
import assert from 'node:assert/strict';
import { Sandbox, startSandbox } from '../support/aws-sandbox';
import { faultMatrix, rowPasses } from './faults';
import { fuzzDecoders } from './fuzz';
import { killTest } from './kill';
import { tamperMatrix } from './tamper';

describe('reliability (fixed-seed share of npm run fuzz)', function () {
  this.timeout(180_000);
  let sb: Sandbox;
  before(async () => (sb = await startSandbox()));
  after(() => sb.close());

  it('fuzz: 4,000 generated and mutated inputs through every decoder give only typed errors or the encrypted values', async () => {
    const r = await fuzzDecoders(4000);
    assert.deepEqual(r.findings, []);
    assert.equal(r.inputs, 4000);
    assert.ok(r.slowestMs < 2000, `slowest input took ${r.slowestMs} ms`);
  });

  it('tamper matrix: every 5th byte changed, every line deleted, duplicated, swapped: each refused with the place named, none accepted', async () => {
    const rows = await tamperMatrix(5);
    assert.equal(rows.length, 3);
    for (const row of rows) {
      assert.deepEqual(row.failures, [], row.sample);
      assert.ok(row.cases > 50, `${row.sample}: ${row.cases} cases`);
      assert.equal(row.harmless, 0, `${row.sample}: a changed file was accepted`);
      assert.equal(row.refusedNamed, row.cases);
    }
  });

  it('KMS fault matrix: every failing operation leaves the file byte-identical, says what to do, stops within bounds; saves need no KMS', async () => {
    const rows = await faultMatrix(sb);
    assert.equal(rows.length, 48);
    assert.deepEqual(rows.filter((r) => !rowPasses(r)).map((r) => `${r.fault} / ${r.op}: ${r.outcome}`), []);
  });

  it('SIGKILL during encrypt, rotate, decrypt and whole-file writes: always the old or the new complete file; encrypt and rotate leave no plaintext temporary file, decrypt only an owner-only one', async () => {
    const r = await killTest(30, sb);
    assert.deepEqual(r.failures, []);
    assert.equal(r.survived, r.kills);
    // the kills must land while a temporary file is being written, or this proves nothing about atomicity
    assert.ok(r.midWrite > 0, `${r.midWrite} of ${r.kills} kills landed mid-write`);
    assert.equal(r.plaintextTemps, 0);
    assert.equal(r.exposedTemps, 0);
    assert.equal(r.cleaned, r.leftoverTemps, 'leftovers of killed writers are removed by the next write');
  });
});
