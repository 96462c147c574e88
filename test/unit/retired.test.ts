import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { recordAdded, recordRetired, removedFrom, sealable, stateDir } from '../../src/core/retired';
import { refusedAs } from '../support/errors';

/**
 * The user's record of retired data keys and removed keys (retired.ts), and the check every
 * writer makes before sealing new plaintext under a file's existing data key.
 */
describe('retired data keys and removed keys: what may be sealed under an existing data key', () => {
  const R = 'arn:aws:kms:us-east-1:111122223333:key/11111111-1111-1111-1111-111111111111';
  const V = 'arn:aws:kms:us-east-1:111122223333:key/22222222-2222-2222-2222-222222222222';
  const stanza = (keyArn: string) => ({ keyArn, wrapped: Buffer.alloc(8) }) as never;
  const keyOf = (commitment: number, ...arns: string[]) => ({ stanzas: arns.map(stanza), keys: { commitment: Buffer.alloc(32, commitment) } as never });
  const all = { allows: async () => true };
  let dir = '';
  let saved: string | undefined;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), 'retired-'));
    saved = process.env.XDG_STATE_HOME;
    process.env.XDG_STATE_HOME = path.join(dir, 'state');
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.XDG_STATE_HOME;
    else process.env.XDG_STATE_HOME = saved;
    await fs.rm(dir, { recursive: true, force: true });
  });
  const file = () => path.join(dir, '.env');

  it('with no record, a file of allowed keys may be written', async () => {
    await sealable(file(), keyOf(1, V, R), all);
    assert.equal(stateDir(), path.join(dir, 'state', 'kms-envelope'));
  });

  it('refuses a header that names a key outside the allow-list, naming it', async () => {
    await assert.rejects(sealable(file(), keyOf(1, V, R), { allows: async (k: string) => k === V }), refusedAs('KEY_NOT_ALLOWED', `.env is also wrapped for ${R}, which your allow-list does not accept: a value written now would be readable with that key`));
  });

  it('refuses a data key retired by a removal, whatever stanzas the header names now (its holder can re-sign one without R)', async () => {
    await recordRetired(file(), Buffer.alloc(32, 1), [R]);
    await assert.rejects(sealable(file(), keyOf(1, V), all), /uses a data key you retired on .* when you removed/);
    // under another name (a copy) too: the data key is what was retired
    await assert.rejects(sealable(path.join(dir, 'copy.env'), keyOf(1, V), all), /when you removed/);
    await sealable(file(), keyOf(2, V), all);
  });

  it('a data key retired by a plain rotation may still be written (an older branch: the same keys read it)', async () => {
    await recordRetired(file(), Buffer.alloc(32, 1), []);
    await sealable(file(), keyOf(1, V), all);
  });

  it('refuses a new data key wrapped again for a key the user removed from that file, until the user adds it back', async () => {
    await recordRetired(file(), Buffer.alloc(32, 1), [R]);
    assert.deepEqual(await removedFrom(file()), [R]);
    await assert.rejects(sealable(file(), keyOf(3, V, R), all), refusedAs('KEY_NOT_ALLOWED', `.env is wrapped again for ${R}, which you removed from it`));
    await sealable(path.join(dir, 'other.env'), keyOf(3, V, R), all); // another file: R was not removed from it
    await recordAdded(file(), R);
    assert.deepEqual(await removedFrom(file()), []);
    await sealable(file(), keyOf(3, V, R), all);
    await sealable(file(), keyOf(1, V), all); // the removal that retired data key 1 no longer stands
  });

  it('a damaged record is an error, not an empty record (that would forget every retirement)', async () => {
    await recordRetired(file(), Buffer.alloc(32, 1), [R]);
    await fs.writeFile(path.join(dir, 'state', 'kms-envelope', 'retired.json'), '{"version":1');
    await assert.rejects(sealable(file(), keyOf(2, V), all), refusedAs('CONFIG', `${path.join(dir, 'state', 'kms-envelope', 'retired.json')} is damaged`));
  });
});
