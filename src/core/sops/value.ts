/**
 * One SOPS value: `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<t>]`, AES-256-GCM under
 * the file's data key with a 32-byte IV and, as additional data, the path of keys to the value
 * (`a:b:`). The type says how the decrypted bytes read back: `str`, `int`, `float`, `bool`,
 * `bytes` or `comment`. An empty string is stored as it is, unencrypted (SOPS does the same).
 *
 * Like SOPS (aes/cipher.go), a value that is encrypted again with the same plaintext at the same
 * path reuses the IV it was read with, so an unchanged value keeps its ciphertext byte for byte
 * and a save changes only what was edited.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { b64, fromB64 } from '../bytes';
import { KmsEnvelopeError } from '../errors';

export type ValueType = 'str' | 'int' | 'float' | 'bool' | 'bytes' | 'comment';

/** A plaintext value as SOPS sees it: its type and the bytes that stand for it (also what the MAC hashes). */
export interface Plain {
  readonly type: ValueType;
  readonly text: string;
}

const ENC = /^ENC\[AES256_GCM,data:([^,\]]*),iv:([^,\]]+),tag:([^,\]]+),type:([a-z0-9]+)\]$/;
const IV_BYTES = 32;
const TAG_BYTES = 16;

export const isEncrypted = (text: string): boolean => text.startsWith('ENC[AES256_GCM,');

/** IVs of the values read, by path and plaintext: what lets a save keep unchanged ciphertext. */
export type IvStash = Map<string, Buffer>;
const stashKey = (aad: string, plain: Plain): string => `${plain.type}\0${aad}\0${plain.text}`;

const refuse = (where: string, what: string): KmsEnvelopeError =>
  new KmsEnvelopeError('TAMPERED', `${where}: ${what}`, 'Nothing was decrypted. Restore the file from version control, or ask someone who can decrypt it with sops to check it.');

/** Decrypts one value; `where` names it in errors (a path, never the value). */
export function decryptValue(enc: string, key: Buffer, aad: string, where: string, stash?: IvStash): Plain {
  const m = ENC.exec(enc);
  if (!m) throw refuse(where, 'not a SOPS encrypted value');
  const [data, iv, tag] = [fromB64(m[1]), fromB64(m[2]), fromB64(m[3])];
  const type = m[4] as ValueType;
  // (the pattern above takes a non-empty IV)
  if (!data || !iv || !tag || tag.length !== TAG_BYTES) throw refuse(where, 'a malformed encrypted value');
  if (!['str', 'int', 'float', 'bool', 'bytes', 'comment'].includes(type)) throw refuse(where, `an unknown value type "${type}"`);
  let clear: Buffer;
  try {
    const d = createDecipheriv('aes-256-gcm', key, iv);
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(tag);
    clear = Buffer.concat([d.update(data), d.final()]);
  } catch {
    throw refuse(where, 'a value does not verify under the data key (changed, or moved to another key)');
  }
  const text = clear.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(clear)) throw refuse(where, 'a value is not valid UTF-8');
  const plain = { type, text: canonical(type, text, where) };
  stash?.set(stashKey(aad, plain), iv);
  return plain;
}

/** Encrypts one value at `aad`, reusing the IV it was read with when it has not changed. */
export function encryptValue(plain: Plain, key: Buffer, aad: string, stash?: IvStash): string {
  // (only a string, comment or bytes value can be empty: a number or bool has a digit or a letter)
  if (plain.text === '') return '';
  const iv = stash?.get(stashKey(aad, plain)) ?? randomBytes(IV_BYTES);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([c.update(plain.text, 'utf8'), c.final()]);
  return `ENC[AES256_GCM,data:${b64(data)},iv:${b64(iv)},tag:${b64(c.getAuthTag())},type:${plain.type}]`;
}

/**
 * The bytes SOPS hashes for a typed value (sops.go ToBytes of what aes/cipher.go parsed): an int
 * in decimal, a float in its shortest plain decimal, a bool as True/False.
 */
export function canonical(type: ValueType, text: string, where: string): string {
  switch (type) {
    case 'int': {
      if (!/^[+-]?\d+$/.test(text)) throw refuse(where, 'an int value that is not a number');
      const n = BigInt(text);
      if (n > 2n ** 63n - 1n || n < -(2n ** 63n)) throw refuse(where, 'an int value out of range');
      return n.toString();
    }
    case 'float': {
      const n = Number(text);
      if (text.trim() === '' || Number.isNaN(n)) throw refuse(where, 'a float value that is not a number');
      return formatFloat(n);
    }
    case 'bool': {
      if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return 'True';
      if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return 'False';
      throw refuse(where, 'a bool value that is not a bool');
    }
    default:
      return text;
  }
}

/** Go's strconv.FormatFloat(x, 'f', -1, 64): the shortest digits that read back, never an exponent. */
export function formatFloat(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  if (Object.is(x, -0)) return '-0'; // Go keeps the sign of a negative zero; String() does not
  const s = String(x);
  // String() writes an exponent only below 1e-6 (a negative one) and from 1e21 (at most 17 digits, so
  // the point always falls past them)
  const m = /e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [sign, digits] = [x < 0 ? '-' : '', s.replace(/^-/, '').replace(/e.*$/, '').replace('.', '')];
  const point = 1 + Number(m[1]); // where the decimal point falls in `digits`
  return point < 1 ? `${sign}0.${'0'.repeat(-point)}${digits}` : sign + digits + '0'.repeat(point - digits.length);
}

/** The additional data of a value: its path of keys joined by ':', then ':' (list indices are not part of it; the top level is ':'). */
export const aadOf = (path: readonly string[]): string => path.join(':') + ':';
