/**
 * The kms-envelope v1 header: a few comment lines at the top of the file, in the file's own
 * comment syntax (`#` or `//`), or alone in a sidecar file for types without comments.
 *
 *     # kms-envelope v1 dotenv
 *     # -> aws-kms arn:aws:kms:eu-west-1:111122223333:key/1234abcd-… AQIDAHh…== alias/app
 *     # context {"kms-envelope":"v1","project":"billing"}
 *     # commitment 3q2+7w…=
 *     # mac 0Jb1…=
 *
 * Line 1 names the version and the store (how the body carries ciphertext: `dotenv` values,
 * `text` inline tokens, or an armoured `file` payload). Each `->` stanza is one KMS key (full
 * ARN, optional alias for display) with the data key wrapped under it; any one is enough to
 * decrypt. `context` is the KMS encryption context, sent on every KMS call. `commitment`
 * proves which data key the stanzas wrap; `mac` covers every other byte of the document.
 * Parsing is strict and bounded: one spelling per header, anything else is rejected.
 * docs/FORMAT.md is the full specification.
 */
import { b64, fromB64 } from './bytes';
import { formatError, KmsEnvelopeError } from './errors';

export type Store = 'dotenv' | 'text' | 'file';
export const STORES: readonly Store[] = ['dotenv', 'text', 'file'];

export interface Stanza {
  readonly type: 'aws-kms';
  /** Full key ARN (aliases are resolved at encrypt time). Untrusted: check it against the allow-list. */
  readonly keyArn: string;
  /** The KMS ciphertext blob of the data key. */
  readonly wrapped: Buffer;
  /** The alias the user chose: a label for people, never sent to KMS. */
  readonly alias?: string;
}

export type EncryptionContext = Readonly<Record<string, string>>;

export interface Header {
  readonly store: Store;
  readonly stanzas: readonly Stanza[];
  readonly context: EncryptionContext;
  readonly commitment: Buffer;
  readonly mac: Buffer;
}

export type Leader = '#' | '//';

/** How the header was written, so that a re-save writes it back the same way. */
export interface HeaderLayout {
  readonly leader: Leader;
  readonly eol: '\n' | '\r\n';
}

export const MAGIC = 'kms-envelope';
/** Limits of what a reader accepts and a writer may write; sizes in UTF-8 bytes. */
export const LIMITS = { stanzas: 16, lineBytes: 8192, contextPairs: 32, contextBytes: 4096, wrappedBytes: 4096, shebangBytes: 256 } as const;
/** The most bytes a header can take, with its prefix: what a reader looks at before giving up. */
export const MAX_HEADER_BYTES = 3 + LIMITS.shebangBytes + 4 + (LIMITS.stanzas + 4) * (LIMITS.lineBytes + 2);

/** Partitions, regions, accounts and key ids as AWS spells them: a UUID, or `mrk-` and 32 hex digits. */
export const KEY_ARN = /^arn:aws(?:-cn|-us-gov|-iso|-iso-[a-z])?:kms:[a-z]{2}(?:-[a-z]+)+-\d{1,2}:\d{12}:key\/(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
export const ALIAS = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
/** What may stand above the header: a UTF-8 BOM, and a script's `#!` line (which must stay first). */
const PREFIX = /^\uFEFF?(?:#![^\r\n\u2028\u2029]*\r?\n)?/;
const FIRST = /^(\uFEFF?(?:#![^\r\n\u2028\u2029]*\r?\n)?)(#|\/\/) kms-envelope v(\d{1,4})(?: (\S{1,32}))?(\r?\n|$)/;

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** The BOM and shebang line at the top of a text, which a new header goes below. */
export function prefixOf(text: string): string {
  const prefix = PREFIX.exec(text)![0];
  // Stryker disable next-line Regex: equivalent — PREFIX allows a BOM only first and one line ending only last
  const shebang = prefix.replace(/^\uFEFF/, '').replace(/\r?\n$/, '');
  if (utf8Bytes(shebang) > 2 + LIMITS.shebangBytes) throw formatError('line 1', `a "#!" line longer than ${LIMITS.shebangBytes} bytes after "#!"`);
  return prefix;
}

/** The store a text's first header line names, without parsing the rest; null without a header. */
export const storeOf = (text: string): string | null => FIRST.exec(text.slice(0, 400))?.[4] ?? null;

/** The same, for a file's bytes (a version from git, a staged blob). */
export const storeOfBytes = (bytes: Buffer): string | null => storeOf(bytes.subarray(0, 400).toString('utf8'));

/** The default context names the tool and format; users add pairs such as project=billing. */
export function defaultContext(extra: EncryptionContext = {}): EncryptionContext {
  if (Object.prototype.hasOwnProperty.call(extra, MAGIC) && extra[MAGIC] !== 'v1') {
    throw new KmsEnvelopeError('USAGE', `the encryption context key "${MAGIC}" is the format's own (always "v1")`);
  }
  if (Object.keys(extra).includes('__proto__')) throw new KmsEnvelopeError('USAGE', 'the encryption context key "__proto__" is not allowed');
  const ctx = canonicalContext({ ...extra, [MAGIC]: 'v1' });
  checkContext(ctx, 'encryption context');
  return ctx;
}

/**
 * The context of a new file from the user's own pairs and pairs suggested by committed text (a
 * rules file, a workspace's settings). Key policies often grant on a pair (env=dev), so a
 * suggestion must never change a pair the user gave: a suggested pair that gives another value
 * for one of the user's names is refused, never merged. Suggested pairs for other names are added.
 */
export function combineContext(user: EncryptionContext | undefined, suggested: EncryptionContext | undefined, from: string): EncryptionContext {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(user ?? {})) out[k] = v;
  for (const [k, v] of Object.entries(suggested ?? {})) {
    if (Object.prototype.hasOwnProperty.call(out, k) && out[k] !== v) {
      throw new KmsEnvelopeError(
        'CONFIG',
        `${from} sets the encryption context ${k}=${JSON.stringify(v)}, but you asked for ${k}=${JSON.stringify(out[k])}`,
        `Nothing was encrypted. Remove the pair from ${from} or change yours; a committed file cannot change the context you give.`,
      );
    }
    out[k] = v;
  }
  return Object.fromEntries(Object.entries(out));
}

/** Sorted by key. fromEntries defines each pair as an own property, so a "__proto__" key stays a key (and is then refused). */
const canonicalContext = (ctx: EncryptionContext): EncryptionContext => Object.fromEntries(Object.keys(ctx).sort().map((k) => [k, ctx[k]]));

export const contextJson = (ctx: EncryptionContext): string => JSON.stringify(canonicalContext(ctx));

/** The limits a context must keep, checked by writers before any KMS call and by readers. */
function checkContext(ctx: EncryptionContext, where: string): void {
  const pairs = Object.keys(ctx).length;
  if (pairs > LIMITS.contextPairs) throw formatError(where, `${pairs} pairs; at most ${LIMITS.contextPairs}`);
  if (utf8Bytes(contextJson(ctx)) > LIMITS.contextBytes) throw formatError(where, `longer than ${LIMITS.contextBytes} bytes as JSON`);
}

// ---- serialize

/** A stanza's key for people: its alias with the ARN, or the ARN alone. */
export const stanzaLabel = (s: Pick<Stanza, 'keyArn' | 'alias'>): string => (s.alias ? `${s.alias} (${s.keyArn})` : s.keyArn);

const stanzaLine = (s: Stanza): string => `-> ${s.type} ${s.keyArn} ${b64(s.wrapped)}${s.alias ? ` ${s.alias}` : ''}`;

/** Checks what a writer is about to write against what readers accept. */
function checkWritable(h: Omit<Header, 'mac'>): void {
  if (h.stanzas.length === 0) throw new KmsEnvelopeError('USAGE', 'a file needs at least one KMS key');
  if (h.stanzas.length > LIMITS.stanzas) throw new KmsEnvelopeError('USAGE', `at most ${LIMITS.stanzas} KMS keys per file`);
  if (new Set(h.stanzas.map((s) => s.keyArn)).size !== h.stanzas.length) throw new KmsEnvelopeError('USAGE', 'a KMS key may wrap a file\'s data key once');
  for (const s of h.stanzas) {
    if (!KEY_ARN.test(s.keyArn)) throw new KmsEnvelopeError('USAGE', `not a KMS key ARN: ${s.keyArn}`);
    if (s.alias !== undefined && !ALIAS.test(s.alias)) throw new KmsEnvelopeError('USAGE', `not a KMS alias: ${s.alias}`);
    if (s.wrapped.length === 0 || s.wrapped.length > LIMITS.wrappedBytes) throw new KmsEnvelopeError('USAGE', 'a wrapped data key of unexpected size');
  }
  checkContext(h.context, 'encryption context');
}

/**
 * The header up to (not including) its `mac` line: the part of the header the MAC covers.
 * Every line is `<leader> <field><eol>`.
 */
export function serializeUnsigned(h: Omit<Header, 'mac'>, layout: HeaderLayout): string {
  checkWritable(h);
  const lines = [`${MAGIC} v1 ${h.store}`, ...h.stanzas.map(stanzaLine), `context ${contextJson(h.context)}`, `commitment ${b64(h.commitment)}`];
  return lines.map((l) => `${layout.leader} ${l}${layout.eol}`).join('');
}

export const macLine = (mac: Uint8Array, layout: HeaderLayout): string => `${layout.leader} mac ${b64(mac)}${layout.eol}`;

export const serializeHeader = (h: Header, layout: HeaderLayout): string => serializeUnsigned(h, layout) + macLine(h.mac, layout);

// ---- parse

export interface ParsedFile {
  /** BOM and shebang line above the header, if any. */
  readonly prefix: string;
  readonly header: Header;
  readonly layout: HeaderLayout;
  /** The header's lines before the `mac` line, exactly as written (what the MAC covers). */
  readonly unsigned: string;
  /** Length of prefix + header text; the body starts here. */
  readonly headerEnd: number;
}

/**
 * Splits a file into header and body. Returns null when the file carries no header;
 * throws a FORMAT error naming the line when it carries a malformed one.
 */
export function parseHeader(text: string): ParsedFile | null {
  const first = FIRST.exec(text.slice(0, 400));
  if (!first) return null;
  const [, rawPrefix, leaderText, version, store, eolText] = first;
  const prefix = prefixOf(rawPrefix);
  if (version !== '1') {
    throw new KmsEnvelopeError('FORMAT', `header line 1: kms-envelope v${version} is not supported by this version`, 'Upgrade kms-envelope to read this file.');
  }
  if (!STORES.includes(store as Store)) throw formatError('header line 1', `unknown store "${store ?? ''}"`);
  if (!eolText) throw formatError('header line 1', 'the header is not terminated');
  const leader = leaderText as Leader;
  const eol = eolText as HeaderLayout['eol'];
  const lead = `${leader} `;

  let pos = prefix.length;
  let lineNo = 0;
  const next = (): string => {
    lineNo++;
    const end = text.indexOf(eol, pos);
    if (end === -1 || end - pos > LIMITS.lineBytes) throw formatError(`header line ${lineNo}`, 'missing or overlong line');
    const line = text.slice(pos, end);
    if (utf8Bytes(line) > LIMITS.lineBytes) throw formatError(`header line ${lineNo}`, 'overlong line');
    if (!line.startsWith(lead)) throw formatError(`header line ${lineNo}`, `expected "${lead}…"`);
    if (line.includes('\r') || line.includes('\n')) throw formatError(`header line ${lineNo}`, 'mixed line endings');
    pos = end + eol.length;
    return line.slice(lead.length);
  };

  next(); // already matched by FIRST
  const stanzas: Stanza[] = [];
  let line = next();
  while (line.startsWith('-> ')) {
    if (stanzas.length === LIMITS.stanzas) throw formatError(`header line ${lineNo}`, `more than ${LIMITS.stanzas} key stanzas`);
    const s = parseStanza(line, lineNo);
    if (stanzas.some((t) => t.keyArn === s.keyArn)) throw formatError(`header line ${lineNo} (key stanza)`, 'a second stanza for the same key');
    stanzas.push(s);
    line = next();
  }
  if (stanzas.length === 0) throw formatError(`header line ${lineNo}`, 'expected at least one "-> aws-kms" key stanza');
  const context = parseContext(field(line, 'context', lineNo), lineNo);
  const commitment = bytesField(next(), 'commitment', lineNo, 32);
  const unsignedEnd = pos;
  const mac = bytesField(next(), 'mac', lineNo, 32);
  return {
    prefix,
    header: { store: store as Store, stanzas, context, commitment, mac },
    layout: { leader, eol },
    unsigned: text.slice(prefix.length, unsignedEnd),
    headerEnd: pos,
  };

  function field(l: string, name: string, n: number): string {
    if (!l.startsWith(`${name} `)) throw formatError(`header line ${n}`, `expected "${name}"`);
    return l.slice(name.length + 1);
  }
  function bytesField(l: string, name: string, n: number, size: number): Buffer {
    const bytes = fromB64(field(l, name, n));
    if (!bytes || bytes.length !== size) throw formatError(`header line ${n} (${name})`, `expected ${size} bytes in base64`);
    return bytes;
  }
}

function parseStanza(line: string, n: number): Stanza {
  const parts = line.split(' ');
  const where = `header line ${n} (key stanza)`;
  if (parts.length < 4 || parts.length > 5) throw formatError(where, 'expected "-> aws-kms <key ARN> <wrapped key> [alias]"');
  const [, type, keyArn, wrappedText, alias] = parts;
  if (type !== 'aws-kms') throw formatError(where, `unknown key type "${type}"`);
  if (!KEY_ARN.test(keyArn)) throw formatError(where, 'not a KMS key ARN');
  const wrapped = fromB64(wrappedText);
  if (!wrapped || wrapped.length === 0) throw formatError(where, 'wrapped key is not base64');
  if (wrapped.length > LIMITS.wrappedBytes) throw formatError(where, `wrapped key longer than ${LIMITS.wrappedBytes} bytes`);
  if (alias !== undefined && !ALIAS.test(alias)) throw formatError(where, 'alias must look like alias/name');
  return alias === undefined ? { type, keyArn, wrapped } : { type, keyArn, wrapped, alias };
}

function parseContext(json: string, n: number): EncryptionContext {
  const where = `header line ${n} (context)`;
  if (utf8Bytes(json) > LIMITS.contextBytes) throw formatError(where, `longer than ${LIMITS.contextBytes} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw formatError(where, 'not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw formatError(where, 'not a JSON object');
  const entries = Object.entries(value);
  if (entries.length > LIMITS.contextPairs) throw formatError(where, `more than ${LIMITS.contextPairs} pairs`);
  if (entries.some(([, v]) => typeof v !== 'string')) throw formatError(where, 'expected string values');
  if (entries.some(([k]) => k === '__proto__')) throw formatError(where, 'the key "__proto__" is not allowed');
  const ctx = value as Record<string, string>;
  // Canonical: what JSON.stringify writes for the sorted pairs, so a duplicate key (dropped by
  // JSON.parse), another escape or another order never reads as the same context.
  if (contextJson(ctx) !== json) throw formatError(where, 'not in canonical form (sorted keys, compact JSON, one spelling per key)');
  if (ctx[MAGIC] !== 'v1') throw formatError(where, `missing "${MAGIC}":"v1"`);
  return canonicalContext(ctx);
}
