/**
 * Versions of an encrypted file from git's history, decrypted in memory: for git's textconv
 * (`git diff`, `git log -p`, `git show` print the plaintext of both versions) and for the
 * editor's *Compare with HEAD (Decrypted)*. Nothing is written to disk.
 *
 * A diff must never fail because of one file: without credentials, without access, or for a file
 * that does not verify, textconv shows the version as it is (ciphertext) and returns the reason
 * for one line on stderr. Plaintext is only ever returned whole, after it verified.
 *
 * A decrypted version starts with two lines that say who can read it: its keys (ARN and alias) and
 * a short fingerprint of its data key (from the key commitment, which the file shows anyway). A
 * key added or removed, or a rotation, is then a visible line in `git diff`, where a reviewer
 * reading decrypted diffs would otherwise see no change at all.
 *
 * Cost: one KMS Decrypt per encrypted version shown (git starts one process per version, and a
 * data key is never cached on disk); versions that share a data key in one process share the call.
 */
import { isKmsEnvelopeError } from '../errors';
import { b64 } from '../bytes';
import { Header, stanzaLabel, storeOfBytes } from '../header';
import { decodeUtf8, readBounded } from '../io';
import type { KeyService } from '../kms/key-service';
import { openText, unwrapper } from '../operations';
import { wipeFileKey, withKey } from '../envelope';
import { openFileStream } from '../whole-file';
import { sopsStoreOfBytes } from '../sops/detect';
import { openSops, OpenableStore, openableStore, sopsAccessLines, sopsUnwrap, withSops } from '../sops';

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
export async function decryptVersion(bytes: Buffer, name: string, svc: KeyService, sidecar?: string): Promise<{ plaintext: Buffer; header?: Header; access: string[] } | undefined> {
  const store = storeOfBytes(bytes);
  const sops = store === null && sidecar === undefined ? sopsVersion(bytes, name) : undefined;
  if (sops) {
    const opened = await openSops(sops.text, sops.store, name, sopsUnwrap(svc, name));
    return withSops(opened, (o) => ({ plaintext: Buffer.from(o.plaintext, 'utf8'), access: sopsAccessLines(o) }));
  }
  if (store === 'file') {
    const opened = await openFileStream((async function* () { yield bytes; })(), unwrapper(svc));
    return withKey(opened.key, async () => {
      const parts: Buffer[] = [];
      for await (const p of opened.plaintext) parts.push(p);
      return { plaintext: Buffer.concat(parts), header: opened.header, access: accessLines(opened.header) };
    });
  }
  if (store === null && sidecar === undefined) return undefined;
  const opened = await openText(decodeUtf8(bytes, name), svc, name, sidecar);
  wipeFileKey(opened.key);
  return { plaintext: Buffer.from(opened.plaintext, 'utf8'), header: opened.doc.header, access: accessLines(opened.doc.header) };
}

/** A version that is a SOPS file (judged by its metadata, as kindOf does), and its store. */
function sopsVersion(bytes: Buffer, name: string): { text: string; store: OpenableStore } | undefined {
  if (!sopsStoreOfBytes(bytes, name)) return undefined;
  const text = decodeUtf8(bytes, name);
  const store = openableStore(text, name);
  return store ? { text, store } : undefined;
}

/** Who can read a version, in words for a reviewer: its keys, and a fingerprint of its data key. */
export function accessLines(header: Pick<Header, 'stanzas' | 'commitment'>): string[] {
  const keys = header.stanzas.map(stanzaLabel);
  return [`[kms-envelope] keys: ${keys.join(', ')}`, `[kms-envelope] data key: ${b64(header.commitment).slice(0, 12)}`];
}

export async function textconv(file: string, svc: KeyService): Promise<Converted> {
  const raw = await readBounded(file, MAX_VERSION_BYTES);
  try {
    const version = await decryptVersion(raw, file, svc);
    return { output: version ? Buffer.concat([Buffer.from(version.access.join('\n') + '\n'), version.plaintext]) : raw };
  } catch (err) {
    const why = isKmsEnvelopeError(err) ? `${err.message}${err.hint ? ` (${err.hint})` : ''}` : String(err);
    return { output: raw, note: why };
  }
}


/** What changed in who can read a file between two versions, in words; undefined when nothing did. */
export function accessChange(before: Pick<Header, 'stanzas' | 'commitment'>, after: Pick<Header, 'stanzas' | 'commitment'>): string | undefined {
  const added = after.stanzas.filter((s) => !before.stanzas.some((b) => b.keyArn === s.keyArn)).map(stanzaLabel);
  const removed = before.stanzas.filter((s) => !after.stanzas.some((a) => a.keyArn === s.keyArn)).map(stanzaLabel);
  const rotated = b64(before.commitment) !== b64(after.commitment);
  const parts = [
    ...(added.length ? [`key${added.length > 1 ? 's' : ''} added: ${added.join(', ')}`] : []),
    ...(removed.length ? [`key${removed.length > 1 ? 's' : ''} removed: ${removed.join(', ')}`] : []),
    ...(rotated ? ['a new data key (rotated)'] : []),
  ];
  return parts.length ? parts.join('; ') : undefined;
}
