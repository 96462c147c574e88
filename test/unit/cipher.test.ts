/** The symmetric layer on its own (issue 12): sizes at their edges, and the stream's truncation rules. */
import assert from 'node:assert/strict';
import { CHUNK_BYTES, deriveKeys, IV_BYTES, openStream, openValue, SALT_BYTES, sealStream, sealValue, TAG_BYTES } from '../../src/core/cipher';
import { seededRandom } from '../support/fixtures';

const key = Buffer.alloc(32, 3);
const salt = Buffer.alloc(SALT_BYTES, 5);
const dek = Buffer.alloc(32, 9);
async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}
const opened = (sealed: Buffer) => collect(openStream(dek, salt, [sealed][Symbol.iterator]() as unknown as AsyncIterable<Uint8Array>, (what) => new Error(what)));

describe('cipher', () => {
  it('derives keys only from a 32-byte data key', () => {
    assert.throws(() => deriveKeys(Buffer.alloc(31)), { name: 'RangeError', message: 'a data key is 32 bytes' });
    assert.throws(() => deriveKeys(Buffer.alloc(33)), RangeError);
    const k = deriveKeys(dek);
    assert.equal(new Set([k.value, k.mac, k.commitment].map((b) => b.toString('hex'))).size, 3, 'three independent keys');
  });

  it('an empty value seals to exactly iv + tag (28 bytes) and opens; anything shorter is refused without an exception', () => {
    const sealed = sealValue(key, '', 'EMPTY', seededRandom('empty'));
    assert.equal(sealed.length, IV_BYTES + TAG_BYTES);
    assert.equal(openValue(key, sealed, 'EMPTY'), '');
    for (const n of [0, 2, 3, 15, 27]) assert.equal(openValue(key, sealed.subarray(0, n), 'EMPTY'), null, `${n} bytes`);
  });

  it('a stream cut inside its final chunk’s tag is reported as truncated, through the caller’s error', async () => {
    const sealed = await collect(sealStream(dek, salt, [Buffer.from('hello')]));
    assert.equal((await opened(sealed)).toString(), 'hello');
    for (const n of [1, 5, 6, TAG_BYTES - 1]) {
      await assert.rejects(opened(sealed.subarray(0, n)), { message: 'payload chunk 0 (file truncated)' }, `${n} bytes`);
    }
    await assert.rejects(opened(Buffer.alloc(0)), { message: 'payload (file truncated: no final chunk)' });
  });

  it('a final chunk of full size is refused: one plaintext has one encoding', async () => {
    const full = await collect(sealStream(dek, salt, [Buffer.alloc(CHUNK_BYTES, 1)]));
    assert.equal(full.length, CHUNK_BYTES + TAG_BYTES + TAG_BYTES, 'a full chunk, then an empty final one');
    await assert.rejects(opened(full.subarray(0, CHUNK_BYTES + TAG_BYTES)), { message: 'payload chunk 0 (a full final chunk: truncated, or not written by kms-envelope)' });
  });
});
