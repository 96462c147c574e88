import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CHUNK_BYTES, SALT_BYTES, TAG_BYTES } from '../../src/core/cipher';
import { KmsEnvelopeError } from '../../src/core/errors';
import { openFileStream, sealFileStream } from '../../src/core/whole-file';
import { testKey, unwrapTo } from '../support/fixtures';

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

/** Feeds a buffer in uneven pieces, as a file stream might. */
async function* pieces(buf: Buffer, size = 7001): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

const seal = (plain: Buffer) => collect(sealFileStream(pieces(plain), testKey()));
const open = async (sealed: Buffer) => collect((await openFileStream(pieces(sealed, 4093), unwrapTo())).plaintext);

async function refused(sealed: Buffer, what: RegExp): Promise<void> {
  await assert.rejects(open(sealed), (e: unknown) => e instanceof KmsEnvelopeError && what.test(e.message));
}

describe('whole-file store', () => {
  for (const size of [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 17]) {
    it(`round-trips ${size} bytes through 64 KiB chunks`, async () => {
      const plain = randomBytes(size);
      const sealed = await seal(plain);
      assert.ok(sealed.toString('latin1').startsWith('# kms-envelope v1 file\n'));
      assert.deepEqual(await open(sealed), plain);
    });
  }

  it('detects a flipped payload byte, a truncation, a dropped or swapped chunk, and trailing data', async () => {
    const plain = randomBytes(3 * CHUNK_BYTES + 100);
    const sealed = await seal(plain);
    const payload = sealed.indexOf('\n# mac ') + 1 + sealed.subarray(sealed.indexOf('\n# mac ') + 1).indexOf('\n') + 1;
    const chunk = (i: number) => payload + SALT_BYTES + i * (CHUNK_BYTES + TAG_BYTES);
    const flipped = Buffer.from(sealed);
    flipped[chunk(1) + 5] ^= 1;
    await refused(flipped, /payload chunk 1/);
    await refused(sealed.subarray(0, chunk(3)), /truncated/);
    await refused(Buffer.concat([sealed.subarray(0, chunk(1)), sealed.subarray(chunk(2))]), /payload chunk 1/);
    await refused(Buffer.concat([sealed.subarray(0, chunk(1)), sealed.subarray(chunk(2), chunk(3)), sealed.subarray(chunk(1), chunk(2)), sealed.subarray(chunk(3))]), /payload chunk 1/);
    await refused(Buffer.concat([sealed, Buffer.from('x')]), /payload/);
    await refused(sealed.subarray(0, payload + 3), /salt|truncated/);
  });
});
