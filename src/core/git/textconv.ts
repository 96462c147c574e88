/**
 * Versions of an encrypted file from git's history, decrypted in memory: for git's textconv
 * (`git diff`, `git log -p`, `git show` print the plaintext of both versions) and for the
 * editor's *Open Changes (Decrypted)*. Nothing is written to disk.
 *
 * A diff must never fail because of one file: without credentials, without access, or for a file
 * that does not verify, textconv shows the version as it is (ciphertext) and returns the reason
 * for one line on stderr. Plaintext is only ever returned whole, after it verified.
 *
 * Cost: one KMS Decrypt per encrypted version shown (git starts one process per version, and a
 * data key is never cached on disk); versions that share a data key in one process share the call.
 */
import { isKmsEnvelopeError } from '../errors';
import { storeOfBytes } from '../header';
import { decodeUtf8, readBounded } from '../io';
import type { KeyService } from '../kms/key-service';
import { openText, unwrapper } from '../operations';
import { wipeFileKey, withKey } from '../envelope';
import { openFileStream } from '../whole-file';

export interface Converted {
  readonly output: Buffer;
  /** Why the version is shown encrypted, if it is. */
  readonly note?: string;
}

/** A version from the history can be any blob: bounded like everything a repository supplies. */
export const MAX_VERSION_BYTES = 256 * 1024 * 1024;

/**
 * The plaintext of one version of a file (its bytes, and its sidecar's text if it has one), or
 * undefined when the version is not encrypted. Throws what a reader throws on a bad version.
 */
export async function decryptVersion(bytes: Buffer, name: string, svc: KeyService, sidecar?: string): Promise<Buffer | undefined> {
  const store = storeOfBytes(bytes);
  if (store === 'file') {
    const opened = await openFileStream((async function* () { yield bytes; })(), unwrapper(svc));
    return withKey(opened.key, async () => {
      const parts: Buffer[] = [];
      for await (const p of opened.plaintext) parts.push(p);
      return Buffer.concat(parts);
    });
  }
  if (store === null && sidecar === undefined) return undefined;
  const opened = await openText(decodeUtf8(bytes, name), svc, name, sidecar);
  wipeFileKey(opened.key);
  return Buffer.from(opened.plaintext, 'utf8');
}

export async function textconv(file: string, svc: KeyService): Promise<Converted> {
  const raw = await readBounded(file, MAX_VERSION_BYTES);
  try {
    return { output: (await decryptVersion(raw, file, svc)) ?? raw };
  } catch (err) {
    const why = isKmsEnvelopeError(err) ? `${err.message}${err.hint ? ` (${err.hint})` : ''}` : String(err);
    return { output: raw, note: why };
  }
}

