/**
 * The symmetric half of the envelope: keys derived from the data key (DEK), AES-256-GCM for
 * values, and a chunked AES-256-GCM stream for whole files. Nothing here talks to KMS.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, KeyObject, randomBytes } from 'node:crypto';
import { equalBytes } from './bytes';

export const DEK_BYTES = 32;
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

/** Source of IVs and salts; tests and the FORMAT.md vectors inject a deterministic one. */
export type Random = (bytes: number) => Buffer;
export const secureRandom: Random = (n) => randomBytes(n);

/**
 * Keys derived from one DEK with HKDF-SHA256 (empty salt: the DEK is fresh random per file).
 * Separate labels keep the value key, the MAC key and the commitment independent.
 */
export interface FileKeys {
  readonly value: Buffer;
  readonly mac: Buffer;
  /** Stored in the header; proves that every stanza unwraps to this same DEK. */
  readonly commitment: Buffer;
}

const hkdf = (dek: Uint8Array, label: string, salt: Uint8Array = Buffer.alloc(0)): Buffer =>
  Buffer.from(hkdfSync('sha256', dek, salt, `kms-envelope/v1 ${label}`, 32));

export function deriveKeys(dek: Uint8Array): FileKeys {
  if (dek.length !== DEK_BYTES) throw new RangeError('a data key is 32 bytes');
  return { value: hkdf(dek, 'value'), mac: hkdf(dek, 'mac'), commitment: hkdf(dek, 'commitment') };
}

const valueAad = (name: string): Buffer => Buffer.from(`kms-envelope/v1 value\0${name}`, 'utf8');

/** iv ‖ ciphertext ‖ tag of one value, bound to its entry name. */
export function sealValue(key: Buffer, plaintext: string, name: string, random: Random): Buffer {
  const iv = random(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(valueAad(name));
  const body = cipher.update(plaintext, 'utf8');
  cipher.final(); // GCM returns no further bytes
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The plaintext, or null when the tag does not verify (wrong key, name, or tampered bytes).
 * Opening many values, pass the key as one KeyObject: each call then skips importing it again.
 */
export function openValue(key: Buffer | KeyObject, sealed: Buffer, name: string): string | null {
  if (sealed.length < IV_BYTES + TAG_BYTES) return null;
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(valueAad(name));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    const out = decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES));
    decipher.final(); // verifies the tag; GCM returns no further bytes
    return utf8.decode(out);
  } catch {
    return null;
  }
}

/** HMAC-SHA256 over length-prefixed parts (strings as UTF-8), so that no two part lists share an input. */
export function mac(key: Buffer, parts: readonly (string | Uint8Array)[]): Buffer {
  const h = createHmac('sha256', key);
  const len = Buffer.alloc(4);
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    len.writeUInt32BE(bytes.length);
    h.update(len).update(bytes);
  }
  return h.digest();
}

export const verifyMac = (key: Buffer, parts: readonly (string | Uint8Array)[], expected: Buffer): boolean =>
  equalBytes(mac(key, parts), expected);

// ---- whole-file stream: chunks of 64 KiB plaintext, each sealed with a nonce of an 11-byte
// big-endian counter and a final-chunk flag (age's STREAM over AES-GCM), under a payload key
// derived from the DEK with a fresh salt (so a re-save under the same DEK reuses no nonce, and
// chunks open only behind their own salt, which the header's MAC covers).

export const CHUNK_BYTES = 64 * 1024;
export const SALT_BYTES = 16;

const chunkNonce = (counter: number, last: boolean): Buffer => {
  const nonce = Buffer.alloc(IV_BYTES);
  nonce.writeUIntBE(counter, 5, 6);
  nonce[11] = last ? 1 : 0;
  return nonce;
};

const payloadKey = (dek: Uint8Array, salt: Uint8Array): Buffer => hkdf(dek, 'payload', salt);

function sealChunk(key: Buffer, counter: number, last: boolean, chunk: Buffer): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, chunkNonce(counter, last));
  const head = cipher.update(chunk);
  cipher.final();
  return Buffer.concat([head, cipher.getAuthTag()]);
}

function openChunk(key: Buffer, counter: number, last: boolean, sealed: Buffer): Buffer | null {
  const decipher = createDecipheriv('aes-256-gcm', key, chunkNonce(counter, last));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    // GCM's final() only checks the tag (it returns no bytes): the plaintext is update's, not a copy of it
    const plain = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    decipher.final();
    return plain;
  } catch {
    return null;
  }
}

/**
 * Re-cuts any stream of buffers into pieces of exactly `size` bytes (the last one shorter).
 * `owned`: the source never reuses a buffer it gave (the armour decoder's fresh ones), so a piece
 * that lies within one of them is handed on as it is, not copied; otherwise every piece is a copy.
 */
async function* rechunk(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number, owned = false): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    let buf = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (pendingBytes + buf.length >= size) {
      const take = size - pendingBytes;
      pending.push(buf.subarray(0, take));
      yield owned && pending.length === 1 ? pending[0] : Buffer.concat(pending);
      buf = buf.subarray(take);
      pending = [];
      pendingBytes = 0;
    }
    // Stryker disable next-line ConditionalExpression: equivalent — keeping an empty piece adds no bytes
    if (buf.length) {
      pending.push(Buffer.from(buf)); // copy: the caller may reuse its buffer
      pendingBytes += buf.length;
    }
  }
  yield Buffer.concat(pending);
}

async function* nonEmpty(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const b of source) if (b.length) yield b;
}

/** Holds one item back so that the consumer knows which one is last. */
async function* withLast<T>(source: AsyncIterable<T>): AsyncGenerator<[T, boolean]> {
  let prev: { v: T } | undefined;
  for await (const v of source) {
    if (prev) yield [prev.v, false];
    prev = { v };
  }
  if (prev) yield [prev.v, true];
}

/** The sealed chunks of a plaintext stream (the salt is the caller's to write in front). */
export async function* sealStream(dek: Uint8Array, salt: Uint8Array, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
  const key = payloadKey(dek, salt);
  let counter = 0;
  // rechunk always yields at least one (possibly empty) piece: an empty file, or one whose
  // size is a multiple of 64 KiB, ends with an empty final chunk, so the final chunk is
  // exactly the one shorter than a full chunk
  for await (const [chunk, last] of withLast(rechunk(source, CHUNK_BYTES))) {
    yield sealChunk(key, counter++, last, chunk);
  }
  key.fill(0);
}

/**
 * Yields plaintext chunks of the sealed chunks that follow the salt; throws `onError(what)` on a
 * bad tag, a truncation, a full-size final chunk or data after the final chunk. The source must
 * not reuse a buffer it gave (a chunk may be read after the next piece was asked for).
 */
export async function* openStream(
  dek: Uint8Array,
  salt: Uint8Array,
  source: AsyncIterable<Uint8Array>,
  onError: (what: string) => Error,
): AsyncGenerator<Buffer> {
  const key = payloadKey(dek, salt);
  let counter = 0;
  // Stryker disable BlockStatement: not observable — emptying the finally block leaves the derived payload key unwiped, and it never leaves this generator (the data key's wiping is tested through wipeFileKey); the try block itself is killed by every test of openStream
  try {
    // Each chunk is opened once, as final exactly when it ends the stream: a truncation at a
    // chunk boundary, a dropped or moved chunk and data after the final chunk all fail their tag.
    for await (const [sealed, last] of withLast(nonEmpty(rechunk(source, CHUNK_BYTES + TAG_BYTES, true)))) {
      if (sealed.length < TAG_BYTES) throw onError(`payload chunk ${counter} (file truncated)`);
      if (last && sealed.length === CHUNK_BYTES + TAG_BYTES) throw onError(`payload chunk ${counter} (a full final chunk: truncated, or not written by kms-envelope)`);
      const plain = openChunk(key, counter, last, sealed);
      if (!plain) throw onError(last ? `payload chunk ${counter} (tampered, or the file was truncated)` : `payload chunk ${counter}`);
      counter++;
      yield plain;
    }
    if (counter === 0) throw onError('payload (file truncated: no final chunk)');
  } finally {
    key.fill(0);
  }
  // Stryker restore BlockStatement
}
