/**
 * One whole-file run in a fresh process, so that its peak memory (maxRSS) is its own:
 *   tsx whole-file-worker.ts <ours-encrypt|ours-decrypt|raw-encrypt|raw-decrypt> <in> <out>
 * Prints {"ms":…, "maxRssMb":…}.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, fsyncSync, openSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { CHUNK_BYTES, TAG_BYTES } from '../../src/core/cipher';
import { decryptFile, encryptContent } from '../../src/core/operations';
import { readPieces } from '../../src/core/io';
import { WHOLE_FILE_READ_BYTES } from '../../src/core/whole-file';
import { VECTOR_STANZA } from '../support/fixtures';
import { fixedKeyService } from '../support/key-services';

const [mode, input, output] = process.argv.slice(2);
/** KMS left out (one call per file, measured elsewhere): the data key of the test vectors. */
const svc = fixedKeyService();
const rawKey = Buffer.alloc(32, 7);

async function* rawSeal(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of source) {
    const iv = Buffer.alloc(12);
    iv.writeUInt32BE(n++, 8);
    const c = createCipheriv('aes-256-gcm', rawKey, iv);
    yield Buffer.concat([c.update(chunk), c.final(), c.getAuthTag()]);
  }
}
async function* rawOpen(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of source) {
    const iv = Buffer.alloc(12);
    iv.writeUInt32BE(n++, 8);
    const d = createDecipheriv('aes-256-gcm', rawKey, iv);
    d.setAuthTag(chunk.subarray(chunk.length - TAG_BYTES));
    yield Buffer.concat([d.update(chunk.subarray(0, chunk.length - TAG_BYTES)), d.final()]);
  }
}

/** The raw side writes as durably as the product's atomic write: fsync before it counts as done. */
async function rawPipeline(transform: (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>, readBytes: number): Promise<void> {
  const sink = createWriteStream(output);
  await pipeline(Readable.from(transform(createReadStream(input, { highWaterMark: readBytes }))), sink);
  const fd = openSync(output, 'r+');
  fsyncSync(fd);
  closeSync(fd);
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  // ours: what `kms-envelope encrypt` and `decrypt -o` run (atomic write included); raw: a plain
  // stream pipeline reading what its format needs at a time (its sealed chunks to decrypt)
  if (mode === 'ours-encrypt') await encryptContent(output, readPieces(input, WHOLE_FILE_READ_BYTES), svc, { keys: [VECTOR_STANZA.keyArn] });
  else if (mode === 'ours-decrypt') await decryptFile(input, svc, { kind: 'file', path: output });
  else if (mode === 'raw-encrypt') await rawPipeline(rawSeal, CHUNK_BYTES);
  else if (mode === 'raw-decrypt') await rawPipeline(rawOpen, CHUNK_BYTES + TAG_BYTES);
  else throw new Error(`unknown mode ${mode}`);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

void main();
