/**
 * Text documents with encrypted entries: sealing and opening, given an unwrapped data key.
 * Pure functions over strings; KMS is reached only through the `Unwrap` callback.
 *
 * A document is an optional BOM and `#!` line (the prefix), the header, then the body. The body
 * is the user's text with each secret replaced by a token. Its entries are, for the `dotenv`
 * store, every assignment that dotenv's `parse` sees; for the `text` store, every token. Each
 * token's GCM tag is bound to its entry name, so that swapped values fail and name the entry;
 * the MAC covers every byte of the document but its own line (the prefix, the header with its
 * stanzas, the body with its comments, blank lines and line endings, and where the header
 * lives), so that nothing can be added, removed, moved or changed anywhere.
 */
import { createSecretKey } from 'node:crypto';
import { equalBytes, lineOf } from './bytes';
import { deriveKeys, FileKeys, mac, openValue, Random, sealValue, secureRandom, verifyMac } from './cipher';
import { formatError, KmsEnvelopeError, lineEndingsError, tamperError } from './errors';
import { DotenvReader } from './formats/dotenv';
import { findTokens, formatToken, isToken, TOKEN_MARK, tokenBytes } from './formats/token';
import { ReuseMap } from './reuse';
import { EncryptionContext, Header, HeaderLayout, macLine, parseHeader, prefixOf, serializeUnsigned, Stanza, Store } from './header';

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

/** `use(key)`, then the key wiped, whatever happens. */
export async function withKey<T>(key: FileKey, use: (key: FileKey) => Promise<T>): Promise<T> {
  try {
    return await use(key);
  } finally {
    wipeFileKey(key);
  }
}

/** Unwraps the data key of a header (through KMS and its cache). Must not trust the header. */
export type Unwrap = (header: Header) => Promise<Buffer>;

/** Where the header lives: at the top of the file, or alone in a sidecar file beside it. */
export type Placement = 'inline' | 'sidecar';

/** Values opened between two yields to the event loop (1–3 ms of work: an editor's host stays responsive). */
const YIELD_EVERY = 250;
/** Entries lexed and checked between two pauses (each costs about half a value's decryption). */
const SCAN_YIELD_EVERY = 1000;

/**
 * How a long open lets its host run other work between slices of its own. The extension passes
 * one that also measures the open's share of the host's time, apart from the others' work.
 */
export type Pause = () => Promise<void>;
export const nextTurn: Pause = () => new Promise((r) => setImmediate(r));

/** A text document's size limit (UTF-8 bytes, header and body), checked before any parsing. */
export const MAX_TEXT_BYTES = 8 * 1024 * 1024;

export interface Document {
  readonly prefix: string;
  readonly header: Header;
  readonly layout: HeaderLayout;
  /** The header's text before its `mac` line, exactly as written. */
  readonly unsigned: string;
  readonly placement: Placement;
  readonly body: string;
  /** Lines above the body in its file (the header's), so that messages name file lines. */
  readonly lineOffset: number;
}

/**
 * Splits an encrypted document; null when it has no header. With `sidecar`, the header is
 * the sidecar file's whole text and `text` is all body. Only `text`-store headers live in a
 * sidecar, and a file never has both.
 */
export function splitDocument(text: string, sidecar?: string): Document | null {
  if (text.length > MAX_TEXT_BYTES) throw formatError('file', `larger than ${MAX_TEXT_BYTES / 1024 / 1024} MiB, the limit for text stores`);
  if (sidecar !== undefined) {
    const parsed = parseHeader(sidecar);
    if (!parsed) throw formatError('sidecar', 'no kms-envelope header');
    if (parsed.prefix !== '' || parsed.layout.leader !== '#' || parsed.layout.eol !== '\n') throw formatError('sidecar', 'expected "# " lines ending in "\\n" and nothing above them');
    if (parsed.headerEnd !== sidecar.length) throw formatError('sidecar', 'unexpected text after the header');
    if (parsed.header.store !== 'text') throw formatError('sidecar', `a sidecar holds a text-store header, not "${parsed.header.store}"`);
    if (parseHeader(text)) throw formatError('sidecar', 'the file has a header of its own as well as a sidecar');
    return { prefix: '', header: parsed.header, layout: parsed.layout, unsigned: parsed.unsigned, placement: 'sidecar', body: text, lineOffset: 0 };
  }
  const parsed = parseHeader(text);
  if (!parsed) return null;
  const headerText = text.slice(0, parsed.headerEnd);
  return {
    prefix: parsed.prefix,
    header: parsed.header,
    layout: parsed.layout,
    unsigned: parsed.unsigned,
    placement: 'inline',
    body: text.slice(parsed.headerEnd),
    lineOffset: lineOf(headerText, headerText.length) - 1,
  };
}

export interface Entry {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  /**
   * The token, or '' for an empty dotenv value. Checked as the file is read, decoded only as it
   * is decrypted: 10,000 decoded values held from the lexing to the decryption cost more in the
   * garbage collector than decoding them did.
   */
  readonly raw: string;
}

const describe = (store: Store, body: string, e: Entry, offset: number): string =>
  store === 'dotenv' ? `entry ${e.name} (line ${offset + lineOf(body, e.start)})` : `token at line ${offset + lineOf(body, e.start)}`;

function entriesOf(store: Store, body: string, offset = 0): Entry[] {
  return finish(entrySteps(store, body, offset));
}

/** The same, pausing every so many entries: a large file's lexing is the longest stretch of its open. */
const entriesPausing = (store: Store, body: string, offset: number, pause: Pause): Promise<Entry[]> => finishPausing(entrySteps(store, body, offset), pause);

/**
 * The entries of a body, each checked as a reader must (every value of a `dotenv` body is a
 * token, and so is every token mark in it), with a step every so many entries.
 */
function* entrySteps(store: Store, body: string, offset: number): Generator<void, Entry[]> {
  // Stryker disable next-line ConditionalExpression: equivalent — a whole-file body is base64 armour, in which the .env reader finds no entry either
  if (store === 'file') return []; // the payload's chunks carry their own tags
  // Stryker disable next-line MethodExpression: equivalent — a text-store entry's raw only keys the reuse map, which only .env saves read
  if (store === 'text') return findTokens(body, offset).map((t) => ({ name: '', start: t.start, end: t.end, raw: body.slice(t.start, t.end) }));
  const entries: Entry[] = []; // ascending: entries come in the order of the text
  const reader = new DotenvReader(body);
  for (let e = reader.next(); e; e = reader.next()) {
    const raw = body.slice(e.start, e.end);
    if (raw !== '' && !isToken(raw)) {
      throw new KmsEnvelopeError(
        'TAMPERED',
        `entry ${e.name} (line ${offset + lineOf(body, e.start)}) is not encrypted, in an encrypted file`,
        'Values are not to be added to an encrypted file by hand: open it decrypted (or run `kms-envelope decrypt`), add the value there and save.',
      );
    }
    if (entries.push({ name: e.name, start: e.start, end: e.end, raw }) % SCAN_YIELD_EVERY === 0) yield;
  }
  // FORMAT.md, Tokens: every `ENC[kmsenv:` begins an entry's value (a comment, a name or the line
  // after `=` holding one is refused, by writers and readers alike); both lists ascend, so one
  // walk through the entries answers every mark
  let next = 0;
  for (let at = body.indexOf(TOKEN_MARK); at !== -1; at = body.indexOf(TOKEN_MARK, at + 1)) {
    while (entries[next]?.start < at) next++; // past the last entry, undefined < at is false
    if (entries[next]?.start !== at) throw reservedMark(`line ${offset + lineOf(body, at)}`);
  }
  return entries;
}

/**
 * Work written as steps (a generator that yields where a pause may go) runs either at once or
 * with a pause at each step: one piece of code for the CLI and for an editor's host, which must
 * not be held for long by a large file.
 */
function finish<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

async function finishPausing<T>(steps: Generator<void, T>, pause: Pause): Promise<T> {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await pause();
  }
}

/** `ENC[kmsenv:` where no token may stand: outside a `.env` value, or above the header. */
const reservedMark = (where: string): KmsEnvelopeError =>
  formatError(where, `"${TOKEN_MARK}" outside a value: kms-envelope reserves it for its tokens`);

/**
 * Checks what can be checked without the key: every value of a `dotenv` body is a token, every
 * token is well formed. Throws the error a reader would. (The `check` command, before commits.)
 */
export function checkStructure(doc: Document): void {
  entriesOf(doc.header.store, doc.body, doc.lineOffset);
}

/**
 * What the MAC covers: where the header lives, the prefix, the header up to its `mac` line, and
 * the body (for the `file` store, the payload's salt; its chunks carry the MAC as AAD).
 */
export const macParts = (placement: Placement, prefix: string, unsigned: string, body: string | Uint8Array): (string | Uint8Array)[] => [
  placement,
  prefix,
  unsigned,
  body,
];

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

export const verifyDocumentMac = (key: FileKey, doc: Pick<Document, 'placement' | 'prefix' | 'unsigned' | 'header'>, body: string | Uint8Array): boolean =>
  verifyMac(key.keys.mac, macParts(doc.placement, doc.prefix, doc.unsigned, body), doc.header.mac);

/**
 * `known`: for reading back a document this process just sealed, the reuse map of the open it
 * was sealed from: a token found there (under the same entry name) stands for its plaintext
 * without being decrypted again, so a one-value save of a large file costs one decryption, not
 * thousands. Never pass it for a file read from disk.
 */
export async function openDocument(doc: Document, unwrap: Unwrap, known?: ReuseMap, pause: Pause = nextTurn): Promise<Opened> {
  const { header, body } = doc;
  if (header.store === 'file') throw new KmsEnvelopeError('FORMAT', 'a whole-file payload is read with openFileStream');
  const entries = await entriesPausing(header.store, body, doc.lineOffset, pause);
  if (doc.prefix.includes(TOKEN_MARK)) throw reservedMark('line 1');
  const key = await unwrapVerified(header, unwrap);
  try {
    // Imported once for the thousands of values of a large file. Like the copy of the key each
    // decipher takes, its bytes are freed (and cleared, by Node) when it is collected.
    const valueKey = createSecretKey(key.keys.value);
    const reuse = new ReuseMap();
    const parts = [doc.prefix];
    let at = 0;
    let opened = 0;
    for (const e of entries) {
      if (e.raw === '') continue;
      const carried = known?.valueOf(e.raw, e.name); // a first open knows none
      let value: string | null;
      // a large file is opened in slices, so that an editor's host is never blocked for long (a
      // save's read-back, whose values are known, included)
      // Stryker disable next-line UpdateOperator: equivalent — counting down also yields every 250 values
      if (++opened % YIELD_EVERY === 0) await pause();
      // Stryker disable next-line ConditionalExpression: equivalent — a token not taken from the last open is decrypted, to the same value or a refusal (this only saves the work)
      if (carried !== undefined) value = carried;
      else value = openValue(valueKey, tokenBytes(e.raw), e.name);
      if (value === null) throw tamperError(describe(header.store, body, e, doc.lineOffset));
      reuse.add(e.name, value, e.raw);
      parts.push(body.slice(at, e.start), value);
      at = e.end;
    }
    if (!verifyDocumentMac(key, doc, body)) throw convertedLineEndings(key, doc) ? lineEndingsError('the file') : tamperError(macFailure(doc));
    parts.push(body.slice(at));
    return { plaintext: parts.join(''), key, store: header.store, layout: doc.layout, reuse };
  } catch (err) {
    wipeFileKey(key);
    throw err;
  }
}

/** Whether the document verifies with every CRLF folded back to LF: its only change was the line endings. */
function convertedLineEndings(key: FileKey, doc: Document): boolean {
  const fold = (s: string) => s.replace(/\r\n/g, '\n');
  return verifyMac(key.keys.mac, macParts(doc.placement, fold(doc.prefix), fold(doc.unsigned), fold(doc.body)), doc.header.mac);
}

/** The MAC failure's message: what it covers, and the likely cause when it is only line endings. */
function macFailure(doc: Document): string {
  const what = 'header MAC (the file was changed after it was encrypted: a line added, removed, moved or edited, or a header field changed)';
  return /\r\n/.test(doc.body) && doc.layout.eol === '\n' ? `${what}; its line endings were converted to CRLF (git core.autocrlf?)` : what;
}

export interface Sealed {
  /** The header lines, to stand at the top of the file or alone in a sidecar. */
  readonly header: string;
  readonly prefix: string;
  readonly body: string;
}

export const joinSealed = (s: Sealed): string => s.prefix + s.header + s.body;

/**
 * Writes the header for a sealed body, with the MAC over the whole document. `placement`
 * sidecar writes the header as the sidecar file's text (always `#` and `\n`).
 */
export function assemble(store: Store, key: FileKey, body: string, layout: HeaderLayout, prefix = '', placement: Placement = 'inline'): Sealed {
  return finish(assembleSteps(store, key, body, layout, prefix, placement));
}

function* assembleSteps(store: Store, key: FileKey, body: string, layout: HeaderLayout, prefix: string, placement: Placement): Generator<void, Sealed> {
  const lay: HeaderLayout = placement === 'sidecar' ? { leader: '#', eol: '\n' } : layout;
  const pre = placement === 'sidecar' ? '' : prefix;
  if (Buffer.byteLength(pre) + Buffer.byteLength(body) > MAX_TEXT_BYTES) throw new KmsEnvelopeError('USAGE', `the file is larger than ${MAX_TEXT_BYTES / 1024 / 1024} MiB, the limit for encrypted text`, 'Encrypt it whole instead.');
  yield* entrySteps(store, body, 0); // a writer never writes what a reader refuses (near-miss tokens, clear values)
  if (pre.includes(TOKEN_MARK)) throw reservedMark('line 1');
  const unsigned = serializeUnsigned({ store, context: key.context, commitment: key.keys.commitment, stanzas: key.stanzas }, lay);
  const tag = mac(key.keys.mac, macParts(placement, pre, unsigned, body));
  return { header: unsigned + macLine(tag, lay), prefix: pre, body };
}

export interface SealOptions {
  readonly layout: HeaderLayout;
  readonly random?: Random;
  /** From the last `openDocument` of this file: unchanged values keep their ciphertext. */
  readonly reuse?: ReuseMap;
}

/** Encrypts every value of a plaintext `.env`; names, comments and layout stay as they are. */
export const sealDotenv = (plaintext: string, key: FileKey, opts: SealOptions): Sealed => finish(sealDotenvSteps(plaintext, key, opts));

/** The same, pausing every so many entries (the decrypted view's save of a large file). */
export const sealDotenvPausing = (plaintext: string, key: FileKey, opts: SealOptions, pause: Pause): Promise<Sealed> => finishPausing(sealDotenvSteps(plaintext, key, opts), pause);

function* sealDotenvSteps(plaintext: string, key: FileKey, opts: SealOptions): Generator<void, Sealed> {
  const random = opts.random ?? secureRandom;
  const prefix = prefixOf(plaintext);
  const text = plaintext.slice(prefix.length);
  if (parseHeader(text)) throw new KmsEnvelopeError('ALREADY_ENCRYPTED', 'the file is already encrypted');
  const mark = plaintext.indexOf(TOKEN_MARK);
  // a writer refuses what no reader would open: the mark is kms-envelope's own, in a value too
  if (mark !== -1) {
    throw new KmsEnvelopeError('USAGE', `line ${lineOf(plaintext, mark)} holds "${TOKEN_MARK}", which kms-envelope reserves for its tokens`, 'Remove it (a pasted token belongs to another file: open that file decrypted and copy the value), then encrypt.');
  }
  let body = '';
  let at = 0;
  let seen = 0;
  const reader = new DotenvReader(text);
  for (let e = reader.next(); e; e = reader.next()) {
    // Stryker disable next-line UpdateOperator: equivalent — counting down also yields every 1,000 entries
    if (++seen % SCAN_YIELD_EVERY === 0) yield;
    if (e.start === e.end) continue;
    const value = text.slice(e.start, e.end);
    const token = opts.reuse?.get(e.name, value) ?? formatToken(sealValue(key.keys.value, value, e.name, random));
    body += text.slice(at, e.start) + token;
    at = e.end;
  }
  return yield* assembleSteps('dotenv', key, body + text.slice(at), opts.layout, prefix, 'inline');
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
    if (hasTokens(plain)) throw new KmsEnvelopeError('ALREADY_ENCRYPTED', 'the selection already holds encrypted text');
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
    const value = openValue(key.keys.value, t.sealed, '');
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

export const hasTokens = (text: string): boolean => text.includes(TOKEN_MARK);
