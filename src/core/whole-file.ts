/**
 * The `file` store: any file encrypted whole. The header (always `#` lines) is followed by a
 * binary payload: a 16-byte salt, then 64 KiB chunks of AES-256-GCM (see cipher.ts). Both
 * directions stream, so memory stays flat whatever the file's size.
 */
import { openStream, Random, sealStream, secureRandom } from './cipher';
import { assemble, FileKey, Unwrap, unwrapVerified, verifyHeaderMac, wipeFileKey } from './envelope';
import { formatError, tamperError } from './errors';
import { Header, LIMITS, parseHeader } from './header';

const MAX_HEADER_BYTES = (LIMITS.stanzas + 6) * LIMITS.lineChars;
const MAC_LINE = /(?:^|\n)(?:#|\/\/) mac [A-Za-z0-9+/]{43}=(\r?\n)/;

export async function* sealFileStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, key: FileKey, random: Random = secureRandom): AsyncGenerator<Buffer> {
  yield Buffer.from(assemble('file', key, '', { leader: '#', eol: '\n' }).header, 'utf8');
  yield* sealStream(key.dek, source, random);
}

export interface OpenedFile {
  readonly header: Header;
  readonly key: FileKey;
  /** The plaintext, chunk by chunk; throws a TAMPERED error at the first bad chunk. */
  readonly plaintext: AsyncGenerator<Buffer>;
}

/** Reads the header off the front of a stream and hands back the rest of the stream. */
async function splitHeader(source: AsyncIterable<Uint8Array>): Promise<{ header: Header; rest: AsyncGenerator<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  for (;;) {
    const m = MAC_LINE.exec(head.toString('latin1'));
    if (m) {
      const end = m.index + m[0].length;
      const text = head.subarray(0, end).toString('utf8');
      const parsed = parseHeader(text);
      if (!parsed) throw formatError('line 1', 'no kms-envelope header');
      if (parsed.headerEnd !== text.length) throw formatError('header', 'malformed');
      if (parsed.header.store !== 'file') throw formatError('header line 1', `store "${parsed.header.store}" is not a whole-file payload`);
      const remainder = head.subarray(end);
      const rest = (async function* () {
        if (remainder.length) yield remainder;
        for (let r = await it.next(); !r.done; r = await it.next()) yield Buffer.from(r.value);
      })();
      return { header: parsed.header, rest };
    }
    if (head.length > MAX_HEADER_BYTES) throw formatError('header', 'no "mac" line within the size limit');
    const r = await it.next();
    if (r.done) {
      if (!parseHeader(head.toString('utf8'))) throw formatError('line 1', 'no kms-envelope header');
      throw formatError('header', 'truncated (no "mac" line)');
    }
    head = Buffer.concat([head, r.value]);
  }
}

export async function openFileStream(source: AsyncIterable<Uint8Array>, unwrap: Unwrap): Promise<OpenedFile> {
  const { header, rest } = await splitHeader(source);
  const key = await unwrapVerified(header, unwrap);
  if (!verifyHeaderMac(key, header)) {
    wipeFileKey(key);
    throw tamperError('header MAC');
  }
  return { header, key, plaintext: openStream(key.dek, rest, (what) => tamperError(what)) };
}
