/**
 * Text documents with encrypted entries: sealing and opening, given an unwrapped data key.
 * Pure functions over strings; KMS is reached only through the `Unwrap` callback.
 *
 * A document is an optional BOM, the header, then the body. The body is the user's text with
 * each secret replaced by a token. Its entries are, for the `dotenv` store, every assignment
 * that dotenv's `parse` sees (empty ones included, so that none can be slipped in); for the
 * `text` store, every token. The MAC covers the header fields and each entry's name and
 * token in order, so that an added, removed, reordered, duplicated or rolled-back entry is
 * detected; each token's GCM tag is bound to its entry name, so that swapped values fail.
 */
import { equalBytes, lineOf } from './bytes';
import { deriveKeys, FileKeys, mac, openValue, Random, sealValue, secureRandom, verifyMac } from './cipher';
import { formatError, KmsEnvelopeError, tamperError } from './errors';
import { dotenvEntries } from './formats/dotenv';
import { findTokens, formatToken, parseToken } from './formats/token';
import { EncryptionContext, Header, HeaderLayout, macLines, parseHeader, prefixOf, serializeHeader, Stanza, Store } from './header';

/** An unwrapped data key with the header fields it was made for. Wipe it with `wipeFileKey`. */
export interface FileKey {
  readonly dek: Buffer;
  readonly keys: FileKeys;
  readonly stanzas: readonly Stanza[];
  readonly context: EncryptionContext;
}

export const makeFileKey = (dek: Buffer, stanzas: readonly Stanza[], context: EncryptionContext): FileKey => ({
  dek,
  keys: deriveKeys(dek),
  stanzas,
  context,
});

export function wipeFileKey(key: FileKey): void {
  key.dek.fill(0);
  key.keys.value.fill(0);
  key.keys.mac.fill(0);
}

/** Unwraps the data key of a header (through KMS and its cache). Must not trust the header. */
export type Unwrap = (header: Header) => Promise<Buffer>;

export interface Document {
  readonly prefix: string;
  readonly header: Header;
  readonly layout: HeaderLayout;
  readonly body: string;
  /** Lines above the body in its file (the header's), so that messages name file lines. */
  readonly lineOffset: number;
}

/**
 * Splits an encrypted document; null when it has no header. With `sidecar`, the header is
 * the sidecar file's whole text and `text` is all body.
 */
export function splitDocument(text: string, sidecar?: string): Document | null {
  if (sidecar !== undefined) {
    const parsed = parseHeader(sidecar);
    if (!parsed) throw formatError('sidecar', 'no kms-envelope header');
    if (parsed.headerEnd !== sidecar.length) throw formatError('sidecar', 'unexpected text after the header');
    return { prefix: '', header: parsed.header, layout: parsed.layout, body: text, lineOffset: 0 };
  }
  const parsed = parseHeader(text);
  if (!parsed) return null;
  const headerText = text.slice(0, parsed.headerEnd);
  return { prefix: parsed.prefix, header: parsed.header, layout: parsed.layout, body: text.slice(parsed.headerEnd), lineOffset: lineOf(headerText, headerText.length) - 1 };
}

export interface Entry {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  /** The token, or '' for an empty dotenv value. */
  readonly raw: string;
}

const describe = (store: Store, body: string, e: Entry, offset: number): string =>
  store === 'dotenv' ? `entry ${e.name} (line ${offset + lineOf(body, e.start)})` : `token at line ${offset + lineOf(body, e.start)}`;

function entriesOf(store: Store, body: string, offset = 0): Entry[] {
  if (store === 'file') return []; // the payload's chunks carry their own tags
  if (store === 'text') return findTokens(body).map((t) => ({ name: '', ...t, raw: body.slice(t.start, t.end) }));
  return dotenvEntries(body).map((e) => {
    const raw = body.slice(e.start, e.end);
    if (raw !== '' && !parseToken(raw)) {
      throw new KmsEnvelopeError(
        'TAMPERED',
        `entry ${e.name} (line ${offset + lineOf(body, e.start)}) is not encrypted, in an encrypted file`,
        'Values are not to be added to an encrypted file by hand: open it decrypted (or run `kms-envelope decrypt`), add the value there and save.',
      );
    }
    return { name: e.name, start: e.start, end: e.end, raw };
  });
}

const macParts = (header: Omit<Header, 'mac' | 'stanzas'>, entries: readonly Entry[]): string[] => [
  ...macLines(header),
  ...entries.flatMap((e) => [e.name, e.raw]),
];

/** A token, by entry name and plaintext, for re-use on save: unchanged values keep their bytes. */
export type ReuseMap = ReadonlyMap<string, string>;
const reuseKey = (name: string, plaintext: string): string => `${name}\0${plaintext}`;

export interface Opened {
  readonly plaintext: string;
  readonly key: FileKey;
  readonly store: Store;
  readonly layout: HeaderLayout;
  readonly reuse: ReuseMap;
}

/**
 * Decrypts every entry and verifies the whole document. Never returns partial plaintext: any
 * bad tag, commitment or MAC throws a TAMPERED error naming the place.
 */
/** Unwraps a header's data key and proves it is the one the file was made with. */
export async function unwrapVerified(header: Header, unwrap: Unwrap): Promise<FileKey> {
  const key = makeFileKey(await unwrap(header), header.stanzas, header.context);
  if (!equalBytes(key.keys.commitment, header.commitment)) {
    wipeFileKey(key);
    throw tamperError('header commitment (the data key does not match this file)');
  }
  return key;
}

export const verifyHeaderMac = (key: FileKey, header: Header, entries: readonly Entry[] = []): boolean =>
  verifyMac(key.keys.mac, macParts(header, entries), header.mac);

export async function openDocument(doc: Document, unwrap: Unwrap): Promise<Opened> {
  const { header, body } = doc;
  if (header.store === 'file') throw new KmsEnvelopeError('FORMAT', 'a whole-file payload is read with openFileStream');
  const entries = entriesOf(header.store, body, doc.lineOffset);
  const key = await unwrapVerified(header, unwrap);
  try {
    const reuse = new Map<string, string>();
    const parts = [doc.prefix];
    let at = 0;
    for (const e of entries) {
      if (e.raw === '') continue;
      const sealed = parseToken(e.raw);
      const value = sealed && openValue(key.keys.value, sealed, e.name);
      if (value === null || value === undefined) throw tamperError(describe(header.store, body, e, doc.lineOffset));
      reuse.set(reuseKey(e.name, value), e.raw);
      parts.push(body.slice(at, e.start), value);
      at = e.end;
    }
    if (!verifyHeaderMac(key, header, entries)) {
      throw tamperError('header MAC (an entry was added, removed, reordered or replaced, or a header field changed)');
    }
    parts.push(body.slice(at));
    return { plaintext: parts.join(''), key, store: header.store, layout: doc.layout, reuse };
  } catch (err) {
    wipeFileKey(key);
    throw err;
  }
}

export interface Sealed {
  /** The header lines, to stand at the top of the file or alone in a sidecar. */
  readonly header: string;
  readonly prefix: string;
  readonly body: string;
}

export const joinSealed = (s: Sealed): string => s.prefix + s.header + s.body;

/** Computes the MAC over the body's entries and writes the header for it. */
export function assemble(store: Store, key: FileKey, body: string, layout: HeaderLayout, prefix = ''): Sealed {
  const fields = { store, context: key.context, commitment: key.keys.commitment };
  const header: Header = { ...fields, stanzas: key.stanzas, mac: mac(key.keys.mac, macParts(fields, entriesOf(store, body))) };
  return { header: serializeHeader(header, layout), prefix, body };
}

export interface SealOptions {
  readonly layout: HeaderLayout;
  readonly random?: Random;
  /** From the last `openDocument` of this file: unchanged values keep their ciphertext. */
  readonly reuse?: ReuseMap;
}

/** Encrypts every value of a plaintext `.env`; names, comments and layout stay as they are. */
export function sealDotenv(plaintext: string, key: FileKey, opts: SealOptions): Sealed {
  const random = opts.random ?? secureRandom;
  const prefix = prefixOf(plaintext);
  const text = plaintext.slice(prefix.length);
  if (parseHeader(text)) throw new KmsEnvelopeError('ALREADY_ENCRYPTED', 'the file is already encrypted');
  let body = '';
  let at = 0;
  for (const e of dotenvEntries(text)) {
    if (e.start === e.end) continue;
    const value = text.slice(e.start, e.end);
    const token = opts.reuse?.get(reuseKey(e.name, value)) ?? formatToken(sealValue(key.keys.value, value, e.name, random));
    body += text.slice(at, e.start) + token;
    at = e.end;
  }
  return assemble('dotenv', key, body + text.slice(at), opts.layout, prefix);
}

export interface Range {
  readonly start: number;
  readonly end: number;
}

/**
 * Replaces each range of a `text`-store body (offsets into `body`) by a token. The body's
 * existing tokens must have been verified (openDocument) with the same key.
 */
export function encryptRanges(body: string, ranges: readonly Range[], key: FileKey, random: Random = secureRandom): string {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const r of sorted) {
    if (r.start < at || r.end <= r.start) continue;
    const plain = body.slice(r.start, r.end);
    if (findTokens(plain).length) throw new KmsEnvelopeError('ALREADY_ENCRYPTED', 'the selection already holds encrypted text');
    out += body.slice(at, r.start) + formatToken(sealValue(key.keys.value, plain, '', random));
    at = r.end;
  }
  return out + body.slice(at);
}

/** Replaces each token of a `text`-store body that `pick` selects by `replace(its plaintext)`. */
function mapTokens(body: string, key: FileKey, pick: (t: Range) => boolean, replace: (plain: string) => string): string {
  let out = '';
  let at = 0;
  for (const t of findTokens(body)) {
    if (!pick(t)) continue;
    const value = openValue(key.keys.value, parseToken(body.slice(t.start, t.end)) ?? Buffer.alloc(0), '');
    if (value === null) throw tamperError(`token at line ${lineOf(body, t.start)}`);
    out += body.slice(at, t.start) + replace(value);
    at = t.end;
  }
  return out + body.slice(at);
}

/** Replaces every token that lies within a range (offsets into `body`) by its plaintext. */
export const decryptRanges = (body: string, ranges: readonly Range[], key: FileKey): string =>
  mapTokens(body, key, (t) => ranges.some((r) => t.start < r.end && t.end > r.start), (plain) => plain);

/** Every token of a `text`-store body encrypted again under another data key (rotation). */
export const reencryptTokens = (body: string, from: FileKey, to: FileKey, random: Random = secureRandom): string =>
  mapTokens(body, from, () => true, (plain) => formatToken(sealValue(to.keys.value, plain, '', random)));

export const hasTokens = (text: string): boolean => findTokens(text).length > 0;
