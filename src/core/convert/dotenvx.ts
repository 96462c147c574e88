/**
 * Reading a dotenvx-encrypted `.env` (dotenvx.com/encryption): values `encrypted:<base64>`,
 * each an ECIES (secp256k1) message for the file's public key, whose private key is in the
 * environment (`DOTENV_PRIVATE_KEY`, or `DOTENV_PRIVATE_KEY_PRODUCTION` for `.env.production`),
 * as dotenvx itself finds it. The result is a plaintext `.env` text, in memory, that dotenv reads
 * as dotenvx gives its values to a program; dotenvx's own lines (its public key and banner) left out.
 */
import path = require('node:path');
import { parse as parseDotenv } from 'dotenv';
import { decrypt } from 'eciesjs';
import { KmsEnvelopeError } from '../errors';

const ENCRYPTED = /^encrypted:([A-Za-z0-9+/]+={0,2})$/;

export const isDotenvx = (text: string): boolean => /^DOTENV_PUBLIC_KEY[A-Z0-9_]*=/m.test(text) || Object.values(parseDotenv(text)).some((v) => ENCRYPTED.test(v));

/** The environment variable dotenvx takes a file's private key from. */
export function privateKeyName(file: string): string {
  const base = path.basename(file);
  const suffix = base.startsWith('.env.') ? base.slice(5) : base.endsWith('.env') && base !== '.env' ? base.slice(0, -4) : '';
  return suffix ? `DOTENV_PRIVATE_KEY_${suffix.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}` : 'DOTENV_PRIVATE_KEY';
}

/** A value written so that dotenv reads exactly it back (quotes as its characters allow). */
export function dotenvValue(value: string): string {
  if (/^[A-Za-z0-9_./:@+=,%^~-]*$/.test(value)) return value;
  if (!value.includes('\n') && !value.includes("'")) return `'${value}'`;
  if (!value.includes('"') && !/\\[nr]/.test(value)) return `"${value.replace(/\r/g, '\\r').replace(/\n/g, '\\n')}"`;
  if (!value.includes('`')) return `\`${value}\``;
  throw new KmsEnvelopeError('USAGE', 'a value holds every kind of quote and a line break: dotenv cannot write it back', 'Change that value, then try again.');
}

/** The plaintext `.env` of a dotenvx-encrypted one; `env` holds its private key. */
export function decryptDotenvx(text: string, file: string, env: NodeJS.ProcessEnv): string {
  const keyName = privateKeyName(file);
  const keys = (env[keyName] ?? '').split(',').map((k) => k.trim()).filter(Boolean);
  if (keys.length === 0) throw new KmsEnvelopeError('CONFIG', `${file} is encrypted by dotenvx and ${keyName} is not set`, `Set ${keyName} (from .env.keys, or your secret store) in the environment of this command only.`);
  const values = parseDotenv(text);
  const lines: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (/^DOTENV_PUBLIC_KEY/.test(name)) continue;
    const m = ENCRYPTED.exec(value);
    if (!m) {
      lines.push(`${name}=${dotenvValue(value)}`);
      continue;
    }
    let clear: string | undefined;
    for (const key of keys) {
      try {
        clear = Buffer.from(decrypt(key, Buffer.from(m[1], 'base64'))).toString('utf8');
        break;
      } catch {
        // another key
      }
    }
    if (clear === undefined) throw new KmsEnvelopeError('TAMPERED', `${file}: ${name} does not decrypt with ${keyName}`, 'Check that the private key is the one of this file (its .env.keys).');
    lines.push(`${name}=${dotenvValue(clear)}`);
  }
  return lines.join('\n') + '\n';
}
