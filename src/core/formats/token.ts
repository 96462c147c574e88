/**
 * An encrypted value as it stands in text: `ENC[kmsenv:v1:<base64url(iv ‖ ciphertext ‖ tag)>]`.
 * The brackets delimit it wherever it is pasted (YAML and TOML scalars, JSON strings, .env
 * values, the middle of a word), and base64url keeps it free of quotes, `#` and spaces.
 */
import { b64url, fromB64 } from '../bytes';

export const TOKEN_PREFIX = 'ENC[kmsenv:v1:';
const TOKEN = /ENC\[kmsenv:v1:([A-Za-z0-9_-]*)\]/g;
const WHOLE = /^ENC\[kmsenv:v1:([A-Za-z0-9_-]*)\]$/;

export const formatToken = (sealed: Uint8Array): string => `${TOKEN_PREFIX}${b64url(sealed)}]`;

/** The sealed bytes of a text that is exactly one token; null otherwise (or when not canonical). */
export function parseToken(text: string): Buffer | null {
  const m = WHOLE.exec(text);
  return m ? fromB64(m[1], true) : null;
}

export interface TokenSpan {
  readonly start: number;
  readonly end: number;
}

export function findTokens(text: string): TokenSpan[] {
  const spans: TokenSpan[] = [];
  for (const m of text.matchAll(TOKEN)) spans.push({ start: m.index!, end: m.index! + m[0].length });
  return spans;
}
