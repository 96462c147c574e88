/**
 * SOPS files on disk: opened through the same KeyService as kms-envelope files (allow-list,
 * cache, key agent), decrypted to a stream or file, read as variables, and written back
 * atomically. Nothing of the plaintext is written anywhere but where the user asks.
 */
import { createHmac } from 'node:crypto';
import { KmsEnvelopeError } from '../errors';
import { decodeUtf8, readBounded } from '../io';
import type { KeyService } from '../kms/key-service';
import { MAX_TEXT_BYTES } from '../envelope';
import { sopsStoreOfText, SopsStoreName } from './detect';
import { openSops, readSops, SopsOpened, SopsUnwrap } from './document';
import { stanzaGroups } from './metadata';
import { Node, visits } from './tree';
import { sealable } from '../retired';

/** A SOPS binary file holds its content base64'd in JSON: allowed larger than the structured stores. */
const MAX_SOPS_BYTES = 64 * 1024 * 1024;

export type OpenableStore = SopsStoreName;

/** The store of a SOPS text (within the size limits). */
export function openableStore(text: string, name: string): OpenableStore | undefined {
  const store = sopsStoreOfText(text, name);
  if (store !== 'binary' && store !== undefined && Buffer.byteLength(text) > MAX_TEXT_BYTES) {
    throw new KmsEnvelopeError('USAGE', `${name} is larger than ${MAX_TEXT_BYTES / 1024 / 1024} MiB, the limit for SOPS text files`);
  }
  return store;
}

/** The key ARN an entry's arn names: an alias ARN (a name someone else can move) resolved to its key now; the arn as it is if that fails. */
export const keyArnOf = async (svc: KeyService, arn: string): Promise<string> => (arn.includes(':alias/') ? svc.resolve(arn).catch(() => arn) : arn);

/** The data key of a SOPS file from its AWS KMS recipients: within the allow-list, through the cache and the agent. */
export const sopsUnwrap =
  (svc: KeyService, name: string): SopsUnwrap =>
  async (metadata) => {
    if (metadata.kms.length === 0) {
      throw new KmsEnvelopeError(
        'KEY_NOT_ALLOWED',
        `${name} has no AWS KMS key among its recipients${metadata.others ? ` (only ${metadata.others} PGP, age, GCP, Azure or Vault key${metadata.others > 1 ? 's' : ''})` : ''}`,
        'Decrypt it with sops, or have someone who can open it add a KMS key (sops updatekeys with a kms key in .sops.yaml, or sops --add-kms).',
      );
    }
    // an alias ARN names a key by a name someone else can move: the key ARN it names now is what the allow-list judges
    const entries = await Promise.all(metadata.kms.map(async (e) => ({ ...e, keyArn: await keyArnOf(svc, e.arn) })));
    let first: unknown;
    // an entry's aws_profile and role are used only where the user allowed files to choose them (forFileProfile)
    const byProvider = new Map<KeyService, typeof entries>();
    for (const e of entries) {
      const provider = (e.profile || e.role ? svc.forFileProfile?.(e.profile, e.role) : undefined) ?? svc;
      byProvider.set(provider, [...(byProvider.get(provider) ?? []), e]);
    }
    for (const [provider, some] of byProvider) {
      for (const group of stanzaGroups(some)) {
        try {
          return (await provider.unwrapWith(group)).dek;
        } catch (err) {
          first ??= err;
        }
      }
    }
    throw first;
  };

export async function readSopsFile(file: string): Promise<{ text: string; store: OpenableStore } | undefined> {
  const text = decodeUtf8(await readBounded(file, MAX_SOPS_BYTES), file);
  const store = openableStore(text, file);
  return store ? { text, store } : undefined;
}

export async function openSopsFile(file: string, svc: KeyService): Promise<SopsOpened> {
  const read = await readSopsFile(file);
  if (!read) throw new KmsEnvelopeError('NOT_ENCRYPTED', `${file} is not a SOPS file`);
  return openSops(read.text, read.store, file, sopsUnwrap(svc, file));
}

/** Runs `use` with an opened file; its data key is wiped whatever happens. */
export async function withSops<T>(opened: SopsOpened, use: (o: SopsOpened) => T | Promise<T>): Promise<T> {
  try {
    return await use(opened);
  } finally {
    opened.key.fill(0);
  }
}

/**
 * The variables of a SOPS file as `sops exec-env` exports them: the top-level values, as text
 * (numbers in decimal, booleans true/false); a file with nested values is refused, as sops refuses it.
 */
export function sopsVariables(opened: SopsOpened, name: string): Record<string, string> {
  const plainOf = new Map(opened.decrypted.map((d) => [d.visit.node, d.plain]));
  const env: Record<string, string> = {};
  for (const item of opened.roots[0]?.items ?? []) {
    if (item.kind !== 'pair') continue;
    const v: Node = item.value;
    if (v !== null && v.kind !== 'leaf') {
      throw new KmsEnvelopeError('USAGE', `${name}: ${item.key} is a nested value, which cannot be an environment variable`, 'sops exec-env refuses such files too: keep env files flat (KEY: value).');
    }
    const plain = v && plainOf.get(v);
    if (!plain) continue;
    env[item.key] = plain.type === 'bool' ? plain.text.toLowerCase() : plain.type === 'float' ? String(Number(plain.text)) : plain.text;
  }
  return env;
}

/**
 * A short fingerprint of a data key for reviewers (a rotation changes it): an HMAC of a fixed
 * label under the key, like a key check value. It tells nothing about the key itself.
 */
export const dataKeyFingerprint = (key: Buffer): string => dataKeyId(key).toString('base64').slice(0, 12);

/** A one-way id of a SOPS file's data key (an HMAC under it): what the record of retired data keys holds (retired.ts). */
export const dataKeyId = (key: Buffer): Buffer => createHmac('sha256', key).update('kms-envelope sops data key id').digest();

/**
 * Refuses to seal new values under an opened SOPS file's data key when a reader the user did not
 * choose could open them (retired.ts sealable, as for kms-envelope files): a KMS entry outside the
 * allow-list or one this user removed, or a data key this user retired when removing a key (the
 * file is an older version). PGP, age and other recipients cannot be judged here: they show in
 * review (textconv counts them) and in the metadata.
 */
export async function sopsSealable(file: string, opened: SopsOpened, svc: KeyService): Promise<void> {
  const stanzas = await Promise.all(opened.metadata.kms.map(async (k) => ({ keyArn: await keyArnOf(svc, k.arn) })));
  await sealable(file, { stanzas, keys: { commitment: dataKeyId(opened.key) } }, svc);
}

/** Who can read a SOPS version, for textconv: its KMS keys, other recipients, and the data key's fingerprint. */
export function sopsAccessLines(opened: SopsOpened): string[] {
  const kms = opened.metadata.kms.map((k) => k.arn);
  const others = opened.metadata.others ? ` (+${opened.metadata.others} non-KMS recipient${opened.metadata.others > 1 ? 's' : ''})` : '';
  return [`[kms-envelope] sops keys: ${kms.join(', ') || '(none)'}${others}`, `[kms-envelope] data key: ${dataKeyFingerprint(opened.key)}`];
}

/**
 * What is wrong with a SOPS file without its key (the pre-commit guard): metadata that does not
 * parse, or a value in clear where the file's rules say it is encrypted (a hand edit that sops
 * itself would refuse to decrypt). Undefined when nothing is.
 */
export function sopsProblem(text: string, name: string): string | undefined {
  try {
    const store = openableStore(text, name);
    if (!store) return undefined;
    const { parsed, metadata } = readSops(text, store, name);
    const clear = visits(parsed.roots, metadata.rules).filter(
      (v) => v.encrypted && v.node.kind === 'leaf' && v.node.value !== null && !(v.node.value.type === 'str' && (v.node.value.text === '' || v.node.value.text.startsWith('ENC[AES256_GCM,'))),
    );
    return clear.length ? `a SOPS file with ${clear.length} value${clear.length > 1 ? 's' : ''} in clear where it should be encrypted (${clear.map((v) => v.path.join('.')).slice(0, 3).join(', ')})` : undefined;
  } catch (err) {
    return err instanceof KmsEnvelopeError ? err.message : String(err);
  }
}

/** The KMS key ARNs a SOPS file names (no key needed: for pickers and messages). */
export async function sopsKmsKeys(file: string): Promise<string[]> {
  const read = await readSopsFile(file);
  if (!read) throw new KmsEnvelopeError('NOT_ENCRYPTED', `${file} is not a SOPS file`);
  return readSops(read.text, read.store, file).metadata.kms.map((k) => k.arn);
}
