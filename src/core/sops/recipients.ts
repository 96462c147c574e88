/**
 * SOPS files made and re-keyed: a new file for the keys of `.sops.yaml`'s creation rule (or the
 * user's), a new data key (rotate), and a KMS key added or removed. Every KMS key is used within
 * the user's allow-list. Recipients of other kinds (PGP, age, GCP, Azure, Vault) are kept as they
 * are when a key is added; a new data key cannot be wrapped for them here, so rotating or removing
 * a key of such a file is refused (sops rotate does it, with those keys at hand).
 */
import path = require('node:path');
import { b64 } from '../bytes';
import { KmsEnvelopeError } from '../errors';
import { atomicWrite, decodeUtf8, readBounded } from '../io';
import type { KeyRef, KeyService } from '../kms/key-service';
import type { EncryptionContext, Stanza } from '../header';
import { openSops, readsBack, readsBackWith, sealSops, SopsOpened, sopsTime, splice, STORES } from './document';
import { emitMetadata, MetadataMap, SOPS_VERSION } from './emit';
import { dataKeyId, OpenableStore, openSopsFile, readSopsFile, sopsSealable, sopsUnwrap, withSops } from './files';
import { recordAdded, recordRetired, removedFrom } from '../retired';
import { readMetadata } from './metadata';
import { findCreationRule } from './creation-rules';
import { plainToEncrypt } from '../operations';

/** The store sops gives a new file by its name (cmd/sops/common: .yaml/.yml, .json, .env, .ini; any other is binary). */
export function storeForName(file: string): OpenableStore {
  const name = path.basename(file).toLowerCase();
  if (/\.ya?ml$/.test(name)) return 'yaml';
  if (name.endsWith('.json')) return 'json';
  if (name.endsWith('.env')) return 'dotenv';
  if (name.endsWith('.ini')) return 'ini';
  return 'binary';
}

const PLACEHOLDER_TIME = '0001-01-01T00:00:00Z';
const PLACEHOLDER_MAC = 'ENC[AES256_GCM,data:,iv:AAAA,tag:AAAA,type:str]';

const kmsEntry = (s: Stanza, context: EncryptionContext, createdAt: string): Record<string, unknown> => ({
  arn: s.keyArn,
  aws_profile: '',
  ...(Object.keys(context).length ? { context: { ...context } } : {}),
  created_at: createdAt,
  enc: b64(s.wrapped),
});

/** Seals a plaintext view under `key` with the metadata `meta` (its lastmodified and MAC made here). */
function sealNew(store: OpenableStore, view: string, name: string, key: Buffer, meta: MetadataMap): string {
  const withPlaceholders = { ...meta, lastmodified: PLACEHOLDER_TIME, mac: PLACEHOLDER_MAC };
  const emitted = emitMetadata(withPlaceholders, store);
  const shell = store === 'binary' ? `{\n\t"data": ""${emitted.text}\n}\n` : '';
  const pseudo: SopsOpened = {
    store: STORES[store],
    plaintext: '\0', // never a view: every save seals
    metadata: readMetadata(withPlaceholders, name),
    key,
    roots: [],
    decrypted: [],
    source: { metadataText: emitted.text, lastModified: emitted.lastModified, mac: emitted.mac, stash: new Map(), commentAad: new Map(), text: shell },
  };
  return sealSops(pseudo, view, name);
}

/** Crypt-rule fields of a file's metadata, kept when it is re-keyed. */
const cryptFields = (m: MetadataMap): MetadataMap =>
  Object.fromEntries(Object.entries(m).filter(([k]) => /^(?:un)?encrypted_(?:suffix|regex|comment_regex)$|^mac_only_encrypted$/.test(k)));

export interface SopsCreateOptions {
  readonly keys: readonly KeyRef[];
  readonly context?: EncryptionContext;
  /** Fields of the creation rule that become the metadata (encrypted_regex …). */
  readonly crypt?: Readonly<Record<string, string | boolean>>;
}

/** Encrypts a plaintext file in place as a SOPS file (its store by its name, as sops chooses it). */
export async function encryptSopsFile(file: string, svc: KeyService, opts: SopsCreateOptions): Promise<OpenableStore> {
  await plainToEncrypt(file);
  return createSopsFile(file, decodeUtf8(await readBounded(file, 64 * 1024 * 1024), file), svc, opts);
}

/** Writes `view` (a plaintext in the store's syntax) to `file` as a new SOPS file; only ciphertext is written. */
export async function createSopsFile(file: string, view: string, svc: KeyService, opts: SopsCreateOptions): Promise<OpenableStore> {
  const store = storeForName(file);
  STORES[store].parse(store === 'binary' ? '{"data": ""}' : view, file); // a view the store cannot read is refused before any KMS call
  const context = opts.context ?? {};
  const { dek, stanzas } = await svc.generate(opts.keys, context);
  try {
    const now = sopsTime(new Date());
    const meta: MetadataMap = {
      kms: stanzas.map((s) => kmsEntry(s, context, now)),
      ...(Object.keys(opts.crypt ?? {}).length ? opts.crypt : { unencrypted_suffix: '_unencrypted' }),
      version: SOPS_VERSION,
    };
    const sealed = sealNew(store, view, file, dek, meta);
    await readsBackWith(dek, store, sealed, view, file);
    await atomicWrite(file, sealed);
    return store;
  } finally {
    dek.fill(0);
  }
}

/** The file's metadata map as written, and the text with the metadata replaced by `meta`. */
async function rewriteMetadata(file: string, change: (meta: MetadataMap, opened: SopsOpened) => Promise<MetadataMap>, svc: KeyService): Promise<MetadataMap> {
  const read = await readSopsFile(file);
  if (!read) throw new KmsEnvelopeError('NOT_ENCRYPTED', `${file} is not a SOPS file`);
  const opened = await openSops(read.text, read.store, file, sopsUnwrap(svc, file));
  return withSops(opened, async (o) => {
    const parsed = o.store.parse(read.text, file);
    const before = parsed.metadata!.value as MetadataMap;
    const after = await change(before, o);
    const emitted = emitMetadata(after, read.store).text;
    const spans = parsed.metadata!.spans;
    // in the place of the first span; JSON's member after others keeps its comma, a first member gets one after it
    const firstText = read.text.slice(spans[0].start, spans[0].end);
    const text = read.store === 'json' || read.store === 'binary' ? (firstText.startsWith(',') ? emitted : `${emitted.replace(/^,\s*/, '')},\n\t`) : emitted;
    const rewritten = splice(read.text, spans.map((s, i) => ({ ...s, text: i === 0 ? text : '' })));
    await readsBack(o, rewritten, o.plaintext, file);
    await atomicWrite(file, rewritten);
    return after;
  });
}

/**
 * Wraps the data key for one more KMS key (KMS ReEncrypt: the key never leaves KMS): a new `kms`
 * entry; values, MAC and other recipients unchanged, as `sops updatekeys` leaves them.
 */
export async function addSopsKey(file: string, svc: KeyService, key: string): Promise<string[]> {
  const arn = await svc.resolve(key);
  const after = await rewriteMetadata(file, async (meta, o) => {
    if (o.metadata.kms.some((k) => k.arn === arn)) throw new KmsEnvelopeError('USAGE', `the file is already wrapped for ${arn}`);
    await sopsSealable(file, o, svc);
    const via = o.metadata.kms.find((k) => k.arn.includes(':key/'));
    if (!via || !(await svc.allows(via.arn))) throw new KmsEnvelopeError('KEY_NOT_ALLOWED', `${file} has no allowed KMS key to re-wrap its data key from`);
    const added = await svc.reEncrypt({ type: 'aws-kms', keyArn: via.arn, wrapped: via.wrapped }, key, via.context);
    const entry = kmsEntry(added, via.context, sopsTime(new Date()));
    if (Array.isArray(meta.key_groups) && meta.key_groups.length) {
      const [group, ...rest] = meta.key_groups as MetadataMap[];
      return { ...meta, key_groups: [{ ...group, kms: [...((group.kms as unknown[]) ?? []), entry] }, ...rest] };
    }
    return { ...meta, kms: [...((meta.kms as unknown[]) ?? []), entry] };
  }, svc);
  await recordAdded(file, arn);
  return kmsArns(after);
}

const kmsArns = (meta: MetadataMap): string[] => {
  const groups = Array.isArray(meta.key_groups) && meta.key_groups.length ? (meta.key_groups as MetadataMap[]) : [meta];
  return groups.flatMap((g) => ((g.kms as { arn: string }[] | undefined) ?? []).map((k) => k.arn));
};

export interface SopsRotateOptions {
  readonly keys?: readonly string[];
  readonly without?: readonly string[];
}

/**
 * A new data key: every value encrypted again and wrapped for the file's allowed KMS keys (less
 * `without`, plus `keys`). Refused for files with recipients of other kinds, which only sops can
 * wrap a new key for.
 */
export async function rotateSopsFile(file: string, svc: KeyService, opts: SopsRotateOptions = {}): Promise<{ refused: string[]; arns: string[] }> {
  const opened = await openSopsFile(file, svc);
  return withSops(opened, async (o) => {
    if (o.metadata.others) {
      throw new KmsEnvelopeError('USAGE', `${file} is also encrypted for ${o.metadata.others} PGP, age, GCP, Azure or Vault key${o.metadata.others > 1 ? 's' : ''}, which kms-envelope cannot wrap a new data key for`, 'Rotate it with sops (sops rotate -i), which has those keys at hand.');
    }
    const keep: string[] = [];
    const refused: string[] = [];
    // keys removed now, and keys this user removed from the file before: left out again
    const without = [...(opts.without ?? []), ...(await removedFrom(file))];
    const left: string[] = [];
    for (const k of o.metadata.kms) {
      // not keyArnOf, which keeps an alias it cannot resolve: a rotation checks each key it wraps
      // the new data key for against the allow-list by its key ARN, so it stops instead
      const arn = k.arn.includes(':alias/') ? await svc.resolve(k.arn) : k.arn;
      if (without.includes(arn) || without.includes(k.arn)) {
        left.push(arn);
        continue;
      }
      if (await svc.allows(arn)) keep.push(arn);
      else refused.push(arn);
    }
    const targets = [...new Set([...(opts.keys ?? []), ...keep])];
    if (targets.length === 0) throw new KmsEnvelopeError('KEY_NOT_ALLOWED', `none of the keys of ${file} is allowed, and no key was named`, 'Name the key to wrap the new data key for (--key).');
    const context = o.metadata.kms[0]?.context ?? {};
    const { dek, stanzas } = await svc.generate(targets, context);
    try {
      const before = o.store.parse(o.source.text, file).metadata!.value as MetadataMap;
      const now = sopsTime(new Date());
      const meta: MetadataMap = { kms: stanzas.map((s) => kmsEntry(s, context, now)), ...cryptFields(before), version: SOPS_VERSION };
      const sealed = sealNew(o.store.name as OpenableStore, o.plaintext, file, dek, meta);
      await readsBackWith(dek, o.store.name as OpenableStore, sealed, o.plaintext, file);
      // the old data key, retired with the keys left out: a later write into an older version is refused
      await recordRetired(file, dataKeyId(o.key), [...new Set([...left, ...refused])]);
      await atomicWrite(file, sealed);
      return { refused, arns: stanzas.map((s) => s.keyArn) };
    } finally {
      dek.fill(0);
    }
  });
}

/** Removes a KMS key: a rotation without it (the removed key still opens older versions in history). */
export async function removeSopsKey(file: string, svc: KeyService, key: string): Promise<{ refused: string[]; arns: string[] }> {
  const arn = await svc.resolve(key);
  const opened = await openSopsFile(file, svc);
  const arns = await withSops(opened, (o) => o.metadata.kms.map((k) => k.arn));
  if (!arns.includes(arn) && !arns.includes(key)) throw new KmsEnvelopeError('USAGE', `the file has no KMS entry for ${arn}`);
  if (arns.length === 1) throw new KmsEnvelopeError('USAGE', 'cannot remove the last KMS key: nobody could decrypt the file with kms-envelope', 'Add another key first.');
  return rotateSopsFile(file, svc, { without: [arn, key] });
}

export interface SopsKeyPlan extends SopsCreateOptions {
  /** The .sops.yaml whose rule chose the keys, if one did. */
  readonly config?: string;
  /** Keys the rule named that are not allowed (or could not be looked up): reported, not used. */
  readonly refused: string[];
  /** Recipients of other kinds the rule names, which this product cannot add. */
  readonly others: readonly string[];
}

/**
 * The keys and rules of a new SOPS file: the matching creation rule of the nearest `.sops.yaml`,
 * its KMS keys within the allow-list (a committed file's keys are used only where the user allows
 * them), else the user's own keys. Keys the user names explicitly skip the rules' keys.
 */
export async function planSopsKeys(file: string, svc: KeyService, user: { keys: readonly KeyRef[]; explicit?: boolean }): Promise<SopsKeyPlan> {
  const rule = await findCreationRule(file);
  if (!rule) return { keys: user.keys, refused: [], others: [] };
  const keys: KeyRef[] = [];
  const refused: string[] = [];
  for (const k of user.explicit ? [] : rule.kms) {
    const arn = await svc.resolve(k.arn).catch(() => undefined);
    if (arn && (await svc.allows(arn))) keys.push(arn);
    else refused.push(arn && arn !== k.arn ? `${k.arn} (${arn})` : k.arn);
  }
  const contexts = new Set(rule.kms.map((k) => JSON.stringify(Object.entries(k.context ?? {}).sort())));
  if (contexts.size > 1) throw new KmsEnvelopeError('USAGE', `${rule.config}: the rule's KMS keys have different encryption contexts`, 'Not supported: give its keys one context, or create this file with sops.');
  return { keys: keys.length ? keys : user.keys, context: rule.kms[0]?.context, crypt: rule.crypt, config: rule.config, refused, others: rule.others };
}

/** Sets one variable of a SOPS dotenv file (every other value keeps its ciphertext), as `sops set` would. */
export async function setSopsValue(file: string, svc: KeyService, name: string, value: string): Promise<void> {
  const opened = await openSopsFile(file, svc);
  await withSops(opened, async (o) => {
    if (o.store.name !== 'dotenv') throw new KmsEnvelopeError('USAGE', `${file} is a SOPS ${o.store.name} file: set changes SOPS dotenv files`, 'Edit it in VS Code (it opens decrypted), or use sops set.');
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || value.includes('\n')) throw new KmsEnvelopeError('USAGE', 'a SOPS dotenv variable is a name of letters, digits and _ with a one-line value');
    const lines = o.plaintext.split('\n');
    const at = lines.findIndex((l) => l.startsWith(`${name}=`));
    if (at >= 0) lines[at] = `${name}=${value}`;
    else lines.splice(lines[lines.length - 1] === '' ? lines.length - 1 : lines.length, 0, `${name}=${value}`);
    const view = lines.join('\n');
    await sopsSealable(file, o, svc);
    const sealed = sealSops(o, view, file);
    await readsBack(o, sealed, view, file);
    await atomicWrite(file, sealed);
  });
}
