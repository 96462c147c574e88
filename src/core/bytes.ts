import { timingSafeEqual } from 'node:crypto';

export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
export const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * Strict decoding: the text must be the canonical encoding of the bytes it decodes to (right
 * length and padding, unused low bits zero), so that one byte string has one spelling.
 */
export function fromB64(text: string, url = false): Buffer | null {
  return isCanonicalB64(text, url) ? Buffer.from(text, url ? 'base64url' : 'base64') : null;
}

/** Whether `text` is a canonical encoding, as fromB64 requires: checked without decoding (a large file's thousands of tokens are checked long before they are decrypted). */
export function isCanonicalB64(text: string, url: boolean): boolean {
  if (!(url ? B64URL : B64).test(text)) return false;
  // Stryker disable next-line Regex: equivalent — the pattern above allows '=' only at the end
  const data = url ? text : text.replace(/=+$/, '');
  const rest = data.length % 4;
  if (rest === 1 || (!url && text.length % 4 !== 0)) return false;
  if (rest !== 0) {
    // the last character's unused low bits must be zero: 62 and 63 ('+/', '-_', absent from
    // ALPHABET) have them set, as has indexOf's -1, so all three are refused alike
    const value = ALPHABET.indexOf(text.charAt(data.length - 1));
    if (value & (rest === 2 ? 0x0f : 0x03)) return false;
  }
  return true;
}

export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b);

/** Where a character offset falls, for messages ("line 12"). */
export const lineOf = (text: string, offset: number): number => {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
};
