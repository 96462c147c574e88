/**
 * One whole-file run in a fresh process, so that its peak memory (maxRSS) is its own:
 *   tsx whole-file-worker.ts <ours-encrypt|ours-decrypt|raw-encrypt|raw-decrypt> <in> <out>
 * Prints {"ms":…, "maxRssMb":…}.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createWriteStream } from 'node:fs';
import { CHUNK_BYTES, TAG_BYTES } from '../../src/core/cipher';
import { makeFileKey } from '../../src/core/envelope';
import { defaultContext } from '../../src/core/header';
import { openFileStream, sealFileStream, WHOLE_FILE_READ_BYTES } from '../../src/core/whole-file';
import { VECTOR_DEK, VECTOR_STANZA } from '../support/fixtures';

const [mode, input, output] = process.argv.slice(2);
const key = makeFileKey(Buffer.from(VECTOR_DEK), [VECTOR_STANZA], defaultContext());
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

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  // what each side reads at a time: raw AES-GCM its sealed chunks; ours what the product reads (decryptFile)
  const src = () => createReadStream(input, { highWaterMark: mode === 'raw-decrypt' ? CHUNK_BYTES + TAG_BYTES : mode === 'ours-decrypt' ? WHOLE_FILE_READ_BYTES : CHUNK_BYTES });
  const sink = createWriteStream(output);
  if (mode === 'ours-encrypt') await pipeline(Readable.from(sealFileStream(src(), key)), sink);
  else if (mode === 'ours-decrypt') await pipeline(Readable.from((await openFileStream(src(), async () => Buffer.from(VECTOR_DEK))).plaintext), sink);
  else if (mode === 'raw-encrypt') await pipeline(Readable.from(rawSeal(src())), sink);
  else if (mode === 'raw-decrypt') await pipeline(Readable.from(rawOpen(src())), sink);
  else throw new Error(`unknown mode ${mode}`);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

void main();
