/**
 * An encrypted value as it stands in text: `ENC[kmsenv:v1:<base64url(iv ‖ ciphertext ‖ tag)>]`.
 * The brackets delimit it wherever it is pasted (YAML and TOML scalars, JSON strings, .env
 * values, the middle of a word), and base64url keeps it free of quotes, `#` and spaces.
 */
import { b64url, isCanonicalB64, lineOf } from '../bytes';
import { formatError } from '../errors';

export const TOKEN_PREFIX = 'ENC[kmsenv:v1:';
/** What starts a token of any version: in an encrypted text, every occurrence must be a valid v1 token. */
export const TOKEN_MARK = 'ENC[kmsenv:';
/** IV (12) and tag (16): the smallest sealed value, 38 characters of base64url. */
const MIN_SEALED_BYTES = 28;
const TOKEN = /ENC\[kmsenv:v1:([A-Za-z0-9_-]*)\]/y;

export const formatToken = (sealed: Uint8Array): string => `${TOKEN_PREFIX}${b64url(sealed)}]`;

/** The sealed bytes of a text that is exactly one canonical token; null otherwise. */
export function parseToken(text: string): Buffer | null {
  return isToken(text) ? tokenBytes(text) : null;
}

/** Whether a text is exactly one canonical token, checked without decoding it. */
export function isToken(text: string): boolean {
  // the prefix and the bracket by hand, the characters between by isCanonicalB64 (base64url's
  // alphabet has no ']'): a large file has thousands of tokens, and a regular expression here
  // cost as much as the lexer
  if (!text.startsWith(TOKEN_PREFIX) || !text.endsWith(']')) return false;
  const data = text.slice(TOKEN_PREFIX.length, -1);
  // unpadded base64 of n characters holds floor(3n / 4) bytes
  return isCanonicalB64(data, true) && Math.floor((data.length * 3) / 4) >= MIN_SEALED_BYTES;
}

/** The sealed bytes of a token that isToken accepted. */
export function tokenBytes(token: string): Buffer {
  return Buffer.from(token.slice(TOKEN_PREFIX.length, -1), 'base64url');
}

export interface TokenSpan {
  readonly start: number;
  readonly end: number;
  /** The token's decoded bytes (iv ‖ ciphertext ‖ tag). */
  readonly sealed: Buffer;
}

/**
 * Every token in a text. Text that looks like a token but is not a canonical one (another
 * version, a bad character, a missing bracket) is refused, naming its line (`lineOffset` lines
 * stand above `text` in its file), so that no reader takes it for plain text and another for a value.
 */
export function findTokens(text: string, lineOffset = 0): TokenSpan[] {
  const spans: TokenSpan[] = [];
  // Stryker disable next-line ArithmeticOperator: equivalent — after a token, `at` is its last character: no mark can start one or two characters earlier than the next
  for (let at = text.indexOf(TOKEN_MARK); at !== -1; at = text.indexOf(TOKEN_MARK, at + 1)) {
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(text);
    const sealed = m && parseToken(m[0]);
    if (!sealed) throw formatError(`line ${lineOffset + lineOf(text, at)}`, 'text that starts like an encrypted value but is not a valid kms-envelope v1 token');
    spans.push({ start: at, end: at + m[0].length, sealed });
    at += m[0].length - 1;
  }
  return spans;
}
