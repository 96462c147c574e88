/**
 * git's textconv for encrypted files: `git diff`, `git log -p` and `git show` print the
 * plaintext of both versions, so a diff shows which values changed. git hands over each version
 * as a file (the working file, or a temporary copy of a blob).
 *
 * A diff must never fail because of one file: without credentials, without access, or for a file
 * that does not verify, the version is shown as it is (ciphertext) and the reason is returned
 * for one line on stderr. The plaintext is only ever returned whole, after it verified: a damaged
 * payload never shows half-decrypted.
 *
 * Cost: one KMS Decrypt per encrypted version shown (git starts one process per version, and a
 * data key is never cached on disk); versions that share a data key in one process share the call.
 */
import { Writable } from 'node:stream';
import { isKmsEnvelopeError } from '../errors';
import type { KeyService } from '../kms/key-service';
import { decryptFile, kindOf } from '../operations';
import { readBounded } from '../io';

export interface Converted {
  readonly output: Buffer;
  /** Why the version is shown encrypted, if it is. */
  readonly note?: string;
}

/** textconv's input can be any blob of the history: bounded like everything a repository supplies. */
const MAX_TEXTCONV_BYTES = 256 * 1024 * 1024;

export async function textconv(file: string, svc: KeyService): Promise<Converted> {
  const raw = await readBounded(file, MAX_TEXTCONV_BYTES);
  try {
    if ((await kindOf(file)) === 'plain') return { output: raw };
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk);
        done();
      },
    });
    await decryptFile(file, svc, { kind: 'stream', stream: sink });
    return { output: Buffer.concat(chunks.map((c) => Buffer.from(c))) };
  } catch (err) {
    const why = isKmsEnvelopeError(err) ? `${err.message}${err.hint ? ` (${err.hint})` : ''}` : String((err as Error)?.message ?? err);
    return { output: raw, note: why };
  }
}
