/**
 * The `file` store: any file encrypted whole. The header (always `#` lines ending in `\n`, with
 * nothing above it) is followed by the payload in text armour (formats/armor.ts): a 16-byte
 * salt, then 64 KiB chunks of AES-256-GCM (cipher.ts) under a key derived from the data key and
 * that salt. The MAC covers the header and the salt, so the header, the salt and every chunk
 * stand or fall together; stanzas can still be added without re-encrypting the payload. Both directions stream, so memory stays flat whatever the file's size.
 */
import { mac, openStream, Random, SALT_BYTES, sealStream, secureRandom } from './cipher';
import { FileKey, macParts, Unwrap, unwrapVerified, verifyDocumentMac, wipeFileKey } from './envelope';
import { formatError, lineEndingsError, tamperError } from './errors';
import { armor, dearmor } from './formats/armor';
import { Header, HeaderLayout, MAX_HEADER_BYTES, macLine, parseHeader, serializeUnsigned } from './header';

const LAYOUT: HeaderLayout = { leader: '#', eol: '\n' };
const MAC_LINE = /(?:^|\n)# mac [A-Za-z0-9+/]{43}=\n/;
const WHOLE_FILE_LAYOUT = 'a whole-file header is "# " lines ending in "\\n" with nothing above it (were its line endings converted?)';

export async function* sealFileStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, key: FileKey, random: Random = secureRandom): AsyncGenerator<Buffer> {
  const salt = random(SALT_BYTES);
  const unsigned = serializeUnsigned({ store: 'file', context: key.context, commitment: key.keys.commitment, stanzas: key.stanzas }, LAYOUT);
  const tag = mac(key.keys.mac, macParts('inline', '', unsigned, salt));
  yield Buffer.from(unsigned + macLine(tag, LAYOUT), 'utf8');
  yield* armor(
    (async function* () {
      yield salt;
      yield* sealStream(key.dek, salt, source);
    })(),
  );
}

export interface OpenedFile {
  readonly header: Header;
  readonly key: FileKey;
  /** The plaintext, chunk by chunk; throws a TAMPERED error at the first bad chunk. */
  readonly plaintext: AsyncGenerator<Buffer>;
}

/**
 * How much of a whole file to read at a time: the armour decodes a block at once, and a block of
 * many chunks lets most sealed chunks be opened where they lie instead of copied together.
 */
export const WHOLE_FILE_READ_BYTES = 1024 * 1024;

/** Reads the header off the front of a stream and hands back the rest of the stream. */
async function splitHeader(source: AsyncIterable<Uint8Array>): Promise<{ header: Header; unsigned: string; rest: AsyncGenerator<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  for (;;) {
    // no writer ends a whole file's first line in CRLF: only a conversion does
    if (head.subarray(0, 40).toString('latin1').startsWith('# kms-envelope v1 file\r\n')) throw lineEndingsError('the file');
    const m = MAC_LINE.exec(head.toString('latin1'));
    if (m) {
      const end = m.index + m[0].length;
      const text = head.subarray(0, end).toString('utf8');
      const parsed = parseHeader(text);
      if (!parsed) throw formatError('line 1', 'no kms-envelope header');
      // Stryker disable next-line ConditionalExpression,StringLiteral: unreachable — parseHeader ends a header at its mac line, the first one MAC_LINE finds; kept in case either changes
      if (parsed.headerEnd !== text.length) throw formatError('header', 'malformed');
      if (parsed.header.store !== 'file') throw formatError('header line 1', `store "${parsed.header.store}" is not a whole-file payload`);
      if (parsed.prefix !== '') throw formatError('header', WHOLE_FILE_LAYOUT);
      // Stryker disable next-line ConditionalExpression,LogicalOperator,StringLiteral: unreachable — MAC_LINE matches only "# mac …=\n", and parseHeader holds every line to the first line's layout; kept in case either changes
      if (parsed.layout.leader !== '#' || parsed.layout.eol !== '\n') throw formatError('header', WHOLE_FILE_LAYOUT);
      const remainder = head.subarray(end);
      const rest = (async function* () {
        // Stryker disable next-line ConditionalExpression: equivalent — an empty piece adds nothing to the stream
        if (remainder.length) yield remainder;
        for (let r = await it.next(); !r.done; r = await it.next()) yield Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
      })();
      return { header: parsed.header, unsigned: parsed.unsigned, rest };
    }
    if (head.length > MAX_HEADER_BYTES) throw formatError('header', 'no "mac" line within the size limit');
    const r = await it.next();
    if (r.done) {
      if (!parseHeader(head.toString('utf8'))) throw formatError('line 1', 'no kms-envelope header');
      // Stryker disable next-line StringLiteral: unreachable — parseHeader throws for a header cut before its mac line (it names the missing line); kept in case it changes
      throw formatError('header', 'truncated (no "mac" line)');
    }
    head = Buffer.concat([head, r.value]);
  }
}

/** Takes the first `n` bytes off a stream; the rest follows. */
async function takeBytes(source: AsyncIterable<Buffer>, n: number): Promise<{ head: Buffer; rest: AsyncGenerator<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  // Stryker disable next-line EqualityOperator: equivalent — reading one piece more is handed on as the rest
  while (head.length < n) {
    const r = await it.next();
    if (r.done) break;
    head = Buffer.concat([head, r.value]);
  }
  const over = head.subarray(n);
  const rest = (async function* () {
    // Stryker disable next-line ConditionalExpression: equivalent — an empty piece adds nothing to the stream
    if (over.length) yield over;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  })();
  return { head: head.subarray(0, n), rest };
}

/**
 * Opens a whole-file payload: the header's data key (commitment checked), then the MAC over the
 * header and the salt, before any chunk is opened. The plaintext streams, each chunk released
 * only after its tag verified; a truncated or damaged payload throws at the chunk it reaches.
 * The source may read into the same buffer again once the next piece is asked for (io.ts's
 * readPieces does): nothing of a piece is kept past that but copies.
 */
export async function openFileStream(source: AsyncIterable<Uint8Array>, unwrap: Unwrap): Promise<OpenedFile> {
  const { header, unsigned, rest } = await splitHeader(source);
  const payload = dearmor(rest, (what) => tamperError(what));
  const { head: salt, rest: chunks } = await takeBytes(payload, SALT_BYTES);
  if (salt.length < SALT_BYTES) throw tamperError('payload salt (file truncated)');
  const key = await unwrapVerified(header, unwrap);
  if (!verifyDocumentMac(key, { placement: 'inline', prefix: '', unsigned, header }, salt)) {
    wipeFileKey(key);
    throw tamperError('header MAC (the header or the payload salt was changed)');
  }
  return { header, key, plaintext: openStream(key.dek, salt, chunks, (what) => tamperError(what)) };
}
