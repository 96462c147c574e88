import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KmsEnvelopeError } from '../../src/core/errors';
import { MAX_ENTRIES, recordAdded, recordRetired, removedFrom, sealable, stateDir } from '../../src/core/retired';
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

  const recordPath = () => path.join(dir, 'state', 'kms-envelope', 'retired.json');
  const damaged = () => refusedAs('CONFIG', `${recordPath()} is damaged`);

  it('a record of another version, or with any entry not whole, is damaged; one that cannot be read is an error too', async () => {
    await recordRetired(file(), Buffer.alloc(32, 1), [R]);
    const good = JSON.parse(await fs.readFile(recordPath(), 'utf8'));
    const entry = good.retired[0];
    const variants = [
      { ...good, version: 2 },
      { ...good, retired: {} },
      ...['commitment', 'at', 'file'].map((k) => ({ ...good, retired: [{ ...entry, [k]: 7 }] })),
      { ...good, retired: [{ ...entry, removed: 'x' }] },
      { ...good, retired: [{ ...entry, removed: [R, 7] }] },
      { ...good, retired: [entry, null] },
    ];
    for (const v of variants) {
      await fs.writeFile(recordPath(), JSON.stringify(v));
      await assert.rejects(sealable(file(), keyOf(2, V), all), damaged(), JSON.stringify(v).slice(0, 120));
    }
    await assert.rejects(sealable(file(), keyOf(2, V), all), (e: KmsEnvelopeError) => e.hint === 'It lists the data keys you retired; restore it from a backup, or remove it to start a new record (rollbacks of earlier rotations are then no longer detected).');
    await fs.rm(recordPath());
    await fs.mkdir(recordPath());
    // a record that cannot be read (here a folder) is no empty record either
    await assert.rejects(sealable(file(), keyOf(2, V), all));
    await assert.rejects(removedFrom(file()));
  });

  it('the record is written 0600 (also over one left 0644), ends with a line break, and keeps the newest entries only', async () => {
    await recordRetired(file(), Buffer.alloc(32, 1), [R]);
    await fs.chmod(recordPath(), 0o644);
    const many = { version: 1, retired: Array.from({ length: MAX_ENTRIES }, (_, i) => ({ commitment: `c${i}`, at: '2026-01-01T00:00:00.000Z', file: '/x', removed: [] })) };
    await fs.writeFile(recordPath(), JSON.stringify(many));
    await recordRetired(file(), Buffer.alloc(32, 9), [R]);
    const text = await fs.readFile(recordPath(), 'utf8');
    assert.ok(text.endsWith('}\n'));
    assert.equal((await fs.stat(recordPath())).mode & 0o777, 0o600);
    const kept = JSON.parse(text).retired;
    assert.equal(kept.length, MAX_ENTRIES);
    assert.equal(kept[0].commitment, 'c1', 'the oldest is dropped');
    assert.equal(kept.at(-1).commitment, Buffer.alloc(32, 9).toString('base64'));
  });

  it('adding a key back ends only that key\'s removal, from that file only', async () => {
    const other = path.join(dir, 'other.env');
    await recordRetired(file(), Buffer.alloc(32, 1), [R, V]);
    await recordRetired(other, Buffer.alloc(32, 2), [R]);
    await recordAdded(file(), R);
    assert.deepEqual(await removedFrom(file()), [V]);
    assert.deepEqual(await removedFrom(other), [R]);
  });

  it('the messages name every key removed, and say what to do in the CLI\'s words and in the editor\'s', async () => {
    await recordRetired(file(), Buffer.alloc(32, 1), [R, V]);
    await assert.rejects(sealable(file(), keyOf(1, V), all), (e: KmsEnvelopeError) => {
      assert.match(e.message, new RegExp(`when you removed ${R}, ${V}: it is an older version of the file`));
      assert.equal(e.hint, 'Nothing was written. Rotate the file first (kms-envelope rotate .env, or KMS Envelope: Rotate Data Key): its new data key is wrapped only for keys you allow and did not remove; then write again. Review who committed the older version.');
      assert.equal(e.editorHint, 'Nothing was written. Rotate the file first (KMS Envelope: Rotate Data Key, in the explorer menu): its new data key is wrapped only for keys you allow and did not remove; then save again. Review who committed the older version.');
      return true;
    });
    await assert.rejects(sealable(file(), keyOf(3, V, R), { allows: async (k: string) => k === V }), (e: KmsEnvelopeError) => {
      assert.match(e.hint ?? '', / Or allow the key \(--allowed-keys, KMS_ENVELOPE_ALLOWED_KEYS, or the user setting kmsEnvelope.allowedKeys\) if you trust it\.$/);
      assert.match(e.editorHint ?? '', /then save again\. Or allow the key \(the user setting kmsEnvelope.allowedKeys\) if you trust it\.$/);
      return true;
    });
    await assert.rejects(sealable(file(), keyOf(4, V, R), all), (e: KmsEnvelopeError) => e.editorHint?.startsWith('Nothing was written. Rotate the file first (KMS Envelope') === true);
  });
});
