/**
 * `kms-envelope import`: one file turned, in place, into a kms-envelope or a SOPS file, from a
 * SOPS file, a kms-envelope file, a dotenvx-encrypted `.env` or a plaintext file. The plaintext
 * exists only in memory; what is written is checked to decrypt to the same values first.
 *
 * Values keep what a program sees: a SOPS dotenv value is raw text (`A="x"` is the value "x"
 * with its quotes), a dotenv value is what dotenv parses; each is rewritten so that the target's
 * reader gives the same string. A `.env` becomes a SOPS dotenv file only when sops would read it
 * as one (its name ends in `.env`); any other name is a SOPS binary file, its text kept whole.
 */
import { parse as parseDotenv } from 'dotenv';
import { KmsEnvelopeError } from '../errors';
import { isDotenvName } from '../formats/comment-syntax';
import { kindOf } from '../kind';
import type { KeyRef, KeyService } from '../kms/key-service';
import { decodeUtf8, readBounded } from '../io';
import type { EncryptionContext } from '../header';
import { decryptFile, encryptContent, Kind, loadEnvFiles, openTextFile, plainToEncrypt } from '../operations';
import { wipeFileKey } from '../envelope';
import { openSopsFile, sopsVariables, withSops } from '../sops/files';
import { createSopsFile, storeForName } from '../sops/recipients';
import { decryptDotenvx, dotenvValue, isDotenvx } from './dotenvx';

export type ImportTarget = 'kms-envelope' | 'sops';

export interface ImportOptions {
  readonly to: ImportTarget;
  readonly keys: readonly KeyRef[];
  readonly context?: EncryptionContext;
  /** Fields of a .sops.yaml creation rule for a SOPS target. */
  readonly crypt?: Readonly<Record<string, string | boolean>>;
  /** Where a dotenvx private key is looked up. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface Imported {
  readonly from: 'sops' | 'kms-envelope' | 'dotenvx' | 'plaintext';
  readonly to: ImportTarget;
}

/** A SOPS dotenv text of variables (one line each, `\n` for a line break), as sops reads it. */
const sopsDotenv = (vars: Record<string, string>): string => {
  for (const name of Object.keys(vars)) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new KmsEnvelopeError('USAGE', `the variable name ${JSON.stringify(name)} is not one a SOPS dotenv file can hold`);
  return Object.entries(vars).map(([k, v]) => `${k}=${v.replace(/\n/g, '\\n')}\n`).join('');
};
const dotenvText = (vars: Record<string, string>): string => Object.entries(vars).map(([k, v]) => `${k}=${dotenvValue(v)}\n`).join('');

export async function importFile(file: string, svc: KeyService, opts: ImportOptions): Promise<Imported> {
  const kind: Kind = await kindOf(file);
  if (kind === 'text') throw new KmsEnvelopeError('USAGE', `${file} holds encrypted selections: it has no SOPS equivalent`, 'Decrypt the selections, then import the file.');
  if ((kind === 'dotenv' || kind === 'file') && opts.to === 'kms-envelope') throw new KmsEnvelopeError('USAGE', `${file} is already a kms-envelope file`, 'Use --to sops to make it a SOPS file.');
  if (kind === 'sops' && opts.to === 'sops') throw new KmsEnvelopeError('USAGE', `${file} is already a SOPS file`, 'Use --to kms-envelope to make it a kms-envelope file.');
  const dotenvTarget = isDotenvName(file);
  const sopsDotenvTarget = storeForName(file) === 'dotenv';

  if (kind === 'sops') {
    // SOPS → kms-envelope: a .env by its values, anything else whole (the view's text)
    const content = await withSops(await openSopsFile(file, svc), (o) => (dotenvTarget && o.store.name === 'dotenv' ? dotenvText(sopsVariables(o, file)) : o.plaintext));
    await encryptContent(file, content, svc, opts);
    if (dotenvTarget) await sameVariables(file, svc, content);
    return { from: 'sops', to: 'kms-envelope' };
  }

  if (kind === 'dotenv' || kind === 'file') {
    // kms-envelope → SOPS
    let view: string;
    if (kind === 'dotenv') {
      const opened = await openTextFile(file, svc);
      wipeFileKey(opened.key);
      view = sopsDotenvTarget ? sopsDotenv(parseDotenv(opened.plaintext)) : opened.plaintext;
    } else {
      const chunks: Buffer[] = [];
      const sink = new (await import('node:stream')).Writable({ write: (c, _e, cb) => (chunks.push(Buffer.from(c)), cb()) });
      await decryptFile(file, svc, { kind: 'stream', stream: sink });
      view = decodeUtf8(Buffer.concat(chunks), file);
    }
    await createSopsFile(file, view, svc, opts);
    return { from: 'kms-envelope', to: 'sops' };
  }

  // plaintext or dotenvx
  const text = (await plainToEncrypt(file)) ?? decodeUtf8(await readBounded(file, 64 * 1024 * 1024), file);
  const fromDotenvx = dotenvTarget && isDotenvx(text);
  const plain = fromDotenvx ? decryptDotenvx(text, file, opts.env ?? process.env) : text;
  if (opts.to === 'sops') await createSopsFile(file, sopsDotenvTarget ? sopsDotenv(parseDotenv(plain)) : plain, svc, opts);
  else {
    await encryptContent(file, plain, svc, opts);
    if (dotenvTarget) await sameVariables(file, svc, plain);
  }
  return { from: fromDotenvx ? 'dotenvx' : 'plaintext', to: opts.to };
}

/** The written file gives a program the same variables as the text it was made from. */
async function sameVariables(file: string, svc: KeyService, text: string): Promise<void> {
  const written = await loadEnvFiles([file], svc);
  if (JSON.stringify(written) !== JSON.stringify(parseDotenv(text))) throw new Error('internal error: the imported file does not give the same variables');
}

