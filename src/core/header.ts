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
 * `text` inline tokens, or a binary `file` payload). Each `->` stanza is one KMS key (full
 * ARN, optional alias for display) with the data key wrapped under it; any one is enough to
 * decrypt. `context` is the KMS encryption context, sent on every KMS call. `commitment`
 * proves which data key the stanzas wrap; `mac` covers the header and every entry in order.
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
  /** The alias the user chose, for display only. */
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
export const LIMITS = { stanzas: 16, lineChars: 8192, contextPairs: 32, contextChars: 4096, wrappedBytes: 6144 } as const;

const ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]{1,128}$/;
const ALIAS = /^alias\/[A-Za-z0-9/_-]{1,250}$/;
/** What may stand above the header: a UTF-8 BOM, and a script's `#!` line (which must stay first). */
const PREFIX = /^\uFEFF?(?:#![^\r\n]{0,256}\r?\n)?/;
const FIRST = /^(\uFEFF?(?:#![^\r\n]{0,256}\r?\n)?)(#|\/\/) kms-envelope v(\d{1,4})(?: (\S{1,32}))?(\r?\n|$)/;

/** The store a text's first header line names, without parsing the rest; null without a header. */
export const storeOf = (text: string): string | null => FIRST.exec(text.slice(0, 400))?.[4] ?? null;

/** The BOM and shebang line at the top of a text, which a new header goes below. */
export const prefixOf = (text: string): string => PREFIX.exec(text)![0];

/** The default context names the tool and format; users add pairs such as project=billing. */
export const defaultContext = (extra: EncryptionContext = {}): EncryptionContext => canonicalContext({ ...extra, [MAGIC]: 'v1' });

function canonicalContext(ctx: EncryptionContext): EncryptionContext {
  const out: Record<string, string> = {};
  for (const k of Object.keys(ctx).sort()) out[k] = ctx[k];
  return out;
}

export const contextJson = (ctx: EncryptionContext): string => JSON.stringify(canonicalContext(ctx));

// ---- serialize

const stanzaLine = (s: Stanza): string => `-> ${s.type} ${s.keyArn} ${b64(s.wrapped)}${s.alias ? ` ${s.alias}` : ''}`;

/** The header lines that the MAC covers (all but the stanzas, which the commitment covers, and the MAC). */
export const macLines = (h: Omit<Header, 'mac' | 'stanzas'>): string[] => [
  `${MAGIC} v1 ${h.store}`,
  `context ${contextJson(h.context)}`,
  `commitment ${b64(h.commitment)}`,
];

export function serializeHeader(h: Header, layout: HeaderLayout): string {
  const [first, ...rest] = macLines(h);
  const lines = [first, ...h.stanzas.map(stanzaLine), ...rest, `mac ${b64(h.mac)}`];
  return lines.map((l) => `${layout.leader} ${l}${layout.eol}`).join('');
}

// ---- parse

export interface ParsedFile {
  /** BOM and shebang line above the header, if any. */
  readonly prefix: string;
  readonly header: Header;
  readonly layout: HeaderLayout;
  /** Length of BOM + header text; the body starts here. */
  readonly headerEnd: number;
}

/**
 * Splits a file into header and body. Returns null when the file carries no header;
 * throws a FORMAT error naming the line when it carries a malformed one.
 */
export function parseHeader(text: string): ParsedFile | null {
  const first = FIRST.exec(text.slice(0, 400));
  if (!first) return null;
  const [, prefix, leaderText, version, store, eolText] = first;
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
    if (end === -1 || end - pos > LIMITS.lineChars) throw formatError(`header line ${lineNo}`, 'missing or overlong line');
    const line = text.slice(pos, end);
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
    stanzas.push(parseStanza(line, lineNo));
    line = next();
  }
  if (stanzas.length === 0) throw formatError(`header line ${lineNo}`, 'expected at least one "-> aws-kms" key stanza');
  const context = parseContext(field(line, 'context', lineNo), lineNo);
  const commitment = bytesField(next(), 'commitment', lineNo, 32);
  const mac = bytesField(next(), 'mac', lineNo, 32);
  return { prefix, header: { store: store as Store, stanzas, context, commitment, mac }, layout: { leader, eol }, headerEnd: pos };

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
  if (!ARN.test(keyArn)) throw formatError(where, 'not a KMS key ARN');
  const wrapped = fromB64(wrappedText);
  if (!wrapped || wrapped.length === 0 || wrapped.length > LIMITS.wrappedBytes) throw formatError(where, 'wrapped key is not base64');
  if (alias !== undefined && !ALIAS.test(alias)) throw formatError(where, 'alias must look like alias/name');
  return alias === undefined ? { type, keyArn, wrapped } : { type, keyArn, wrapped, alias };
}

function parseContext(json: string, n: number): EncryptionContext {
  const where = `header line ${n} (context)`;
  if (json.length > LIMITS.contextChars) throw formatError(where, 'too long');
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw formatError(where, 'not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw formatError(where, 'not a JSON object');
  const entries = Object.entries(value);
  if (entries.length > LIMITS.contextPairs || entries.some(([, v]) => typeof v !== 'string')) {
    throw formatError(where, 'expected string values');
  }
  const ctx = value as Record<string, string>;
  if (contextJson(ctx) !== json) throw formatError(where, 'not in canonical form (sorted keys, compact JSON)');
  if (ctx[MAGIC] !== 'v1') throw formatError(where, `missing "${MAGIC}":"v1"`);
  return ctx;
}
