/**
 * What this user retired: data keys replaced by `rotate` (and by `rewrap --remove-key`, which
 * rotates), and the keys removed from each file. A removed key holder keeps the old stanza and
 * the old file in git history; committing that older version back (a rollback) is authentic, so
 * the file alone cannot tell. This record, kept outside every repository, can: a write that would
 * seal new plaintext under a data key retired when a key was removed, or for a stanza of a key the
 * user removed from that file, or for a key outside the allow-list, is refused (sealable below)
 * until the file is rotated again. A data key retired by a plain rotation (no key left out) is
 * read by the same keys as the new one, so an older branch may still be written.
 *
 * The record is `retired.json` in the user's state folder (`$XDG_STATE_HOME/kms-envelope`, else
 * `~/.local/state/kms-envelope`; `%LOCALAPPDATA%\kms-envelope` on Windows), 0600 in a 0700
 * folder. It holds key commitments (a one-way function of a data key: they open nothing), key
 * ARNs and file paths, never a data key or a value. It is bounded (the newest entries are kept).
 */
import { promises as fs } from 'node:fs';
import { homedir } from 'node:os';
import path = require('node:path');
import type { FileKey } from './envelope';
import { KmsEnvelopeError } from './errors';
import type { KeyService } from './kms/key-service';
import { atomicWrite, readBounded } from './io';

/** Entries kept (the newest): a record that grows with every rotation stays small. */
export const MAX_ENTRIES = 20_000;
const MAX_BYTES = 8 * 1024 * 1024;

interface Entry {
  /** base64 of the retired data key's commitment. */
  readonly commitment: string;
  /** ISO time of the retirement. */
  readonly at: string;
  /** The file it was retired in (absolute), and the keys removed from it then. */
  readonly file: string;
  readonly removed: readonly string[];
}

/** Where a user's state lives without XDG_STATE_HOME. */
// Stryker disable next-line all: the Windows branch; the suites run on Linux, and set XDG_STATE_HOME
const defaultStateHome = (): string => (process.platform === 'win32' ? (process.env.LOCALAPPDATA ?? path.join(homedir(), 'AppData', 'Local')) : path.join(homedir(), '.local', 'state'));

export const stateDir = (): string => path.join(process.env.XDG_STATE_HOME || defaultStateHome(), 'kms-envelope');

const recordFile = (): string => path.join(stateDir(), 'retired.json');

/** The entries of the record; none when it does not exist. A damaged record is an error, not an empty one (that would undo every retirement). */
async function readRecord(): Promise<Entry[]> {
  let bytes: Buffer;
  try {
    bytes = await readBounded(recordFile(), MAX_BYTES);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  let json: { version?: unknown; retired?: unknown } | undefined;
  // Stryker disable BlockStatement: equivalent — json is undefined until the parse succeeds
  try {
    json = JSON.parse(bytes.toString('utf8')) as typeof json;
  } catch {
    json = undefined;
  }
  // Stryker restore BlockStatement
  // every entry whole, or the record is damaged: a dropped entry would forget a retirement
  if (json?.version !== 1 || !Array.isArray(json.retired) || !json.retired.every(isEntry)) {
    throw new KmsEnvelopeError('CONFIG', `${recordFile()} is damaged`, 'It lists the data keys you retired; restore it from a backup, or remove it to start a new record (rollbacks of earlier rotations are then no longer detected).');
  }
  return json.retired;
}

const isEntry = (e: unknown): e is Entry => {
  const x = e as Partial<Entry> | null;
  return typeof x?.commitment === 'string' && typeof x.at === 'string' && typeof x.file === 'string' && Array.isArray(x.removed) && x.removed.every((k) => typeof k === 'string');
};

const absolute = async (file: string): Promise<string> => fs.realpath(file).catch(() => path.resolve(file));

/** Records that `file`'s data key (`commitment`) was replaced, and which keys were removed from it then. */
export async function recordRetired(file: string, commitment: Uint8Array, removed: readonly string[]): Promise<void> {
  const entries = await readRecord();
  entries.push({ commitment: Buffer.from(commitment).toString('base64'), at: new Date().toISOString(), file: await absolute(file), removed: [...removed] });
  await writeRecord(entries);
}

async function writeRecord(entries: readonly Entry[]): Promise<void> {
  await fs.mkdir(stateDir(), { recursive: true, mode: 0o700 });
  await atomicWrite(recordFile(), JSON.stringify({ version: 1, retired: entries.slice(-MAX_ENTRIES) }, null, 1) + '\n', { mode: 0o600 });
}

/** The user gave `file` to `keyArn` again (rewrap --add-key): its earlier removal no longer stands. */
export async function recordAdded(file: string, keyArn: string): Promise<void> {
  const at = await absolute(file);
  const entries = await readRecord();
  await writeRecord(entries.map((e) => (e.file === at ? { ...e, removed: e.removed.filter((k) => k !== keyArn) } : e)));
}

/** Keys this user removed from `file` (by ARN). */
export async function removedFrom(file: string): Promise<string[]> {
  const at = await absolute(file);
  return [...new Set((await readRecord()).filter((e) => e.file === at).flatMap((e) => e.removed))];
}

const rotateHint = (file: string) =>
  `Nothing was written. Rotate the file first (kms-envelope rotate ${path.basename(file)}, or KMS Envelope: Rotate Data Key): its new data key is wrapped only for keys you allow and did not remove; then write again.`;
const rotateEditorHint = 'Nothing was written. Rotate the file first (KMS Envelope: Rotate Data Key, in the explorer menu): its new data key is wrapped only for keys you allow and did not remove; then save again.';

/**
 * Refuses to seal new plaintext under `key` (an existing file's data key) when a reader the user
 * did not choose could open it: the header names a key outside the allow-list, or a key this user
 * removed from the file, or the data key is one this user retired (the file is an older version).
 */
export async function sealable(file: string, key: { readonly stanzas: readonly Pick<FileKey['stanzas'][number], 'keyArn'>[]; readonly keys: Pick<FileKey['keys'], 'commitment'> }, svc: Pick<KeyService, 'allows'>): Promise<void> {
  for (const s of key.stanzas) {
    if (!(await svc.allows(s.keyArn))) {
      throw new KmsEnvelopeError(
        'KEY_NOT_ALLOWED',
        `${path.basename(file)} is also wrapped for ${s.keyArn}, which your allow-list does not accept: a value written now would be readable with that key`,
        `${rotateHint(file)} Or allow the key (--allowed-keys, KMS_ENVELOPE_ALLOWED_KEYS, or the user setting kmsEnvelope.allowedKeys) if you trust it.`,
        undefined,
        `${rotateEditorHint} Or allow the key (the user setting kmsEnvelope.allowedKeys) if you trust it.`,
      );
    }
  }
  const entries = await readRecord();
  const commitment = Buffer.from(key.keys.commitment).toString('base64');
  // A data key retired by a plain rotation is read by the same keys as its successor: writing under
  // it (an older branch) gives no one new access. One retired by a removal would give the removed key
  // what is written now, whatever the header says (its holder can re-sign a header without its stanza).
  const retired = entries.find((e) => e.commitment === commitment && e.removed.length > 0);
  if (retired) {
    throw new KmsEnvelopeError(
      'KEY_NOT_ALLOWED',
      `${path.basename(file)} uses a data key you retired on ${retired.at.slice(0, 10)} when you removed ${retired.removed.join(', ')}: it is an older version of the file (a rollback, or a branch from before the removal), and what is written under it that key could read`,
      `${rotateHint(file)} Review who committed the older version.`,
      undefined,
      `${rotateEditorHint} Review who committed the older version.`,
    );
  }
  const at = await absolute(file);
  const removed = new Set(entries.filter((e) => e.file === at).flatMap((e) => e.removed));
  const back = key.stanzas.find((s) => removed.has(s.keyArn));
  if (back) {
    throw new KmsEnvelopeError('KEY_NOT_ALLOWED', `${path.basename(file)} is wrapped again for ${back.keyArn}, which you removed from it`, rotateHint(file), undefined, rotateEditorHint);
  }
}
