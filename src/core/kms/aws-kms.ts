/**
 * AWS KMS behind the envelope's key seam: makes data keys, unwraps them (through the cache),
 * wraps them for more keys, within the user's allow-list. The requests themselves go through a
 * KmsTransport (transport.ts): the SDK in this thread by default, with credentials from the SDK
 * v3 provider chain for the chosen profile.
 */
import { b64 } from '../bytes';
import { KmsEnvelopeError } from '../errors';
import { contextJson, EncryptionContext, Header, LIMITS, Stanza } from '../header';
import { accountOf, aliasOf, AllowList, isAllowed, isKeyArn, NOTHING_ALLOWED_EDITOR_HINT, NOTHING_ALLOWED_HINT } from './allow-list';
import { DataKeyCache } from './cache';
import { CallSite, toKmsEnvelopeError } from './errors';
import { currentAbortSignal } from './abort';
import type { KeyRef, KeyService } from './key-service';
import { SdkTransport } from './sdk-transport';
import { KmsAction, KmsClientSpec, KmsRequestError, KmsRequests, KmsTransport } from './transport';

export interface KmsOptions {
  /** AWS profile; undefined uses the default chain (env, AWS_PROFILE, default profile, SSO, metadata…). */
  readonly profile?: string;
  /** Region for keys given by id or alias; a key ARN's own region always wins. */
  readonly region?: string;
  /** Key ARNs or patterns the user allows. When empty, `chosenKeys` are. */
  readonly allowedKeys?: AllowList;
  /** Keys the user chose (ARN, id or alias): with no `allowedKeys`, they are the allow-list (their accounts are not). */
  readonly chosenKeys?: readonly string[];
  readonly cache?: DataKeyCache;
  /** Attempts per KMS call, including the first (the SDK backs off between them). */
  readonly maxAttempts?: number;
  readonly requestTimeoutMs?: number;
  /** The longest one KMS call may take, all attempts together (a hung endpoint is given up). */
  readonly deadlineMs?: number;
  /** Told which keys a file names that the allow-list refuses (they are never asked). */
  readonly onIgnoredKeys?: (keyArns: string[]) => void;
  /**
   * Told, once per set of keys, when an allow-list the user wrote (an account pattern) accepts a
   * file wrapped only for keys the user never chose: in a shared account, anyone who can create
   * a key could have made it.
   */
  readonly onUnchosenOnly?: (keyArns: string[]) => void;
  /**
   * A store of unwrapped data keys beyond this process (the key agent, core/agent): asked after
   * the cache and before KMS, and given every key KMS unwraps. Only keys of usable stanzas (the
   * allow-list already applied) are asked for.
   */
  readonly agent?: DataKeyStore;
  /**
   * Use the profile and role a SOPS file names for its KMS entry (`aws_profile`, `role`), as sops does. Off unless
   * the user turns it on (--sops-profiles, KMS_ENVELOPE_SOPS_PROFILES=1, a user setting): a file
   * is committed text, and must not choose whose credentials act without the user's say.
   */
  readonly fileProfiles?: boolean;
  /** A role to assume (STS AssumeRole) with the profile's credentials: a SOPS entry's `role`, when fileProfiles allows it. */
  readonly role?: string;
  /**
   * Where the requests go (the extension: a worker thread). Its owner destroys it; by default the
   * provider sends them from this thread, and destroy() closes its connections.
   */
  readonly transport?: KmsTransport;
}

/** Data keys by the cache's id (a stanza's key ARN, wrapped blob and encryption context). */
export interface DataKeyStore {
  get(cacheId: string): Promise<Buffer | undefined>;
  put(cacheId: string, dek: Buffer): Promise<void>;
}

export interface KeyChoice {
  readonly arn: string;
  readonly alias?: string;
}

export interface AliasInfo {
  readonly alias: string;
  readonly keyId?: string;
  /** The AWS account the alias (and its key) lives in, from the alias ARN. */
  readonly account?: string;
}

const refText = (k: KeyRef): string => (typeof k === 'string' ? k : k.keyArn);

/** The region of a key ARN or alias ARN: the key lives there, whatever the default region. */
const regionOfArn = (ref: string): string | undefined => /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:(?:key|alias)\//.exec(ref)?.[1];

export class KmsKeyProvider implements KeyService {
  private readonly transport: KmsTransport;
  /** The transport this provider made (and so destroys); a given one is its giver's. */
  private readonly ownTransport?: SdkTransport;
  readonly cache: DataKeyCache;
  /** KMS calls made by this provider (for messages and tests). */
  calls = 0;
  /** Key ARNs of what the user typed, as KMS answered. */
  private readonly resolved = new Map<string, string>();
  private allowList?: Promise<string[]>;

  constructor(private readonly options: KmsOptions = {}) {
    this.cache = options.cache ?? new DataKeyCache();
    // Stryker disable next-line ConditionalExpression: equivalent — an SdkTransport never sent a request holds nothing (its clients are made on the first)
    if (!options.transport) this.ownTransport = new SdkTransport();
    this.transport = options.transport ?? this.ownTransport!;
  }

  get profile(): string | undefined {
    return this.options.profile;
  }

  /** The region a key is called in: its ARN's, else the one configured ('' leaves it to the SDK's chain). */
  private regionOf(key: string): string {
    return regionOfArn(key) ?? this.options.region ?? '';
  }

  /**
   * One KMS request: bounded by the deadline, aborted with the work that waits for it (withAbort),
   * and any failure turned into a KmsEnvelopeError that names the action, key, profile and a
   * non-default endpoint.
   */
  private async call<A extends KmsAction>(site: Omit<CallSite, 'profile'>, action: A, input: KmsRequests[A]['input']): Promise<KmsRequests[A]['output']> {
    this.calls++;
    const cancel = currentAbortSignal();
    const deadline = this.options.deadlineMs ? AbortSignal.timeout(this.options.deadlineMs) : undefined;
    const abortSignal = AbortSignal.any([cancel, deadline].filter((s): s is AbortSignal => s !== undefined));
    const region = this.regionOf(site.key);
    const spec: KmsClientSpec = {
      region,
      ...(this.options.profile ? { profile: this.options.profile } : {}),
      ...(this.options.role ? { role: this.options.role, roleRegion: this.options.region } : {}),
      maxAttempts: this.options.maxAttempts ?? 3,
      requestTimeoutMs: this.options.requestTimeoutMs ?? 10_000,
    };
    try {
      return await this.transport.send(spec, action, input, abortSignal);
    } catch (err) {
      const failed = err instanceof KmsRequestError ? err : new KmsRequestError(err, undefined);
      const where = { ...site, profile: this.options.profile, endpoint: failed.endpoint, region: region || undefined };
      if (cancel?.aborted || failed.stopped) throw new KmsEnvelopeError('CANCELLED', `cancelled while waiting for ${site.action}`, 'Nothing was changed.');
      if (deadline?.aborted) throw toKmsEnvelopeError(Object.assign(new Error(), { name: 'TimeoutError' }), { ...where, waitedMs: this.options.deadlineMs });
      throw toKmsEnvelopeError(failed.reason, where);
    }
  }

  /**
   * A fresh data key wrapped under `keys[0]` (GenerateDataKey) and each further key (Encrypt):
   * one KMS call per key. Every key is a full ARN by the time it wraps (KMS's own answer), is
   * checked against the allow-list, and wraps once however often it was named.
   */
  async generate(keys: readonly KeyRef[], context: EncryptionContext): Promise<{ dek: Buffer; stanzas: Stanza[] }> {
    const unique = [...new Map(keys.map((k) => [refText(k), k])).values()];
    if (unique.length === 0) throw new KmsEnvelopeError('CONFIG', 'no KMS key chosen', 'Choose a key: --key (or KMS_ENVELOPE_KEY); in VS Code, KMS Envelope: Select KMS Key.', undefined, 'Choose a key: KMS Envelope: Select KMS Key.');
    if (unique.length > LIMITS.stanzas) throw new KmsEnvelopeError('USAGE', `${unique.length} KMS keys; a file can be wrapped for at most ${LIMITS.stanzas}`);
    const [first, ...more] = unique;
    const firstRef = refText(first);
    const out = await this.call({ action: 'kms:GenerateDataKey', key: firstRef }, 'GenerateDataKey', { KeyId: firstRef, KeySpec: 'AES_256', EncryptionContext: { ...context } });
    const dek = Buffer.from(out.Plaintext!);
    out.Plaintext!.fill(0);
    try {
      this.resolved.set(firstRef, out.KeyId!);
      await this.mustAllow(out.KeyId!, firstRef);
      const stanzas = [stanzaOf(out.KeyId!, out.CiphertextBlob!, first)];
      for (const key of more) {
        const arn = await this.resolve(refText(key));
        if (stanzas.some((s) => s.keyArn === arn)) continue;
        await this.mustAllow(arn, refText(key));
        stanzas.push(await this.wrap(dek, arn, context, key));
      }
      this.cache.put(cacheId(stanzas[0], context), dek);
      return { dek, stanzas };
    } catch (err) {
      dek.fill(0);
      throw err;
    }
  }

  /** Wraps a data key we hold for one more key (KMS Encrypt), by its ARN. */
  private async wrap(dek: Buffer, keyArn: string, context: EncryptionContext, label: KeyRef): Promise<Stanza> {
    const out = await this.call({ action: 'kms:Encrypt', key: keyArn }, 'Encrypt', { KeyId: keyArn, Plaintext: dek, EncryptionContext: { ...context } });
    return stanzaOf(out.KeyId!, out.CiphertextBlob!, label);
  }

  /** Re-wraps a stanza's data key for another key inside KMS (ReEncrypt): the key never leaves KMS. */
  async reEncrypt(from: Stanza, key: string, context: EncryptionContext): Promise<Stanza> {
    const keyArn = await this.resolve(key);
    await this.mustAllow(keyArn, key);
    const out = await this.call({ action: 'kms:ReEncrypt', key: keyArn }, 'ReEncrypt', {
      CiphertextBlob: from.wrapped,
      SourceKeyId: from.keyArn,
      SourceEncryptionContext: { ...context },
      DestinationKeyId: keyArn,
      DestinationEncryptionContext: { ...context },
    });
    return stanzaOf(out.KeyId!, out.CiphertextBlob!, key);
  }

  /**
   * The allow-list in force: the user's own list when there is one; otherwise the keys the user
   * chose (resolved once: a key ARN needs no call, an alias one DescribeKey).
   * Never "everything".
   */
  private effectiveAllowList(): Promise<string[]> {
    this.allowList ??= (async () => {
      if (this.options.allowedKeys?.length) return [...this.options.allowedKeys];
      const keys: string[] = [];
      for (const ref of this.options.chosenKeys ?? []) keys.push(this.resolved.get(ref) ?? (isKeyArn(ref) ? ref : await this.resolve(ref)));
      return [...new Set(keys)];
    })();
    const list = this.allowList;
    list.catch(() => (this.allowList = undefined)); // a failed resolution is tried again next time
    return list;
  }

  private readonly saidUnchosen = new Set<string>();
  /** An explicit allow-list let a file in whose keys are none the user chose (known without a KMS call): say so once. */
  private sayIfUnchosen(usable: readonly Stanza[]): void {
    if (!this.options.allowedKeys?.length || !this.options.onUnchosenOnly || usable.length === 0) return;
    // Stryker disable next-line ArrayDeclaration: equivalent — a name that is neither an ARN nor resolved is dropped by the filter
    const chosen = (this.options.chosenKeys ?? []).map((r) => (isKeyArn(r) ? r : this.resolved.get(r))).filter((a): a is string => !!a);
    if (chosen.length === 0 || usable.some((s) => chosen.includes(s.keyArn))) return;
    const arns = usable.map((s) => s.keyArn);
    // Stryker disable next-line StringLiteral: equivalent — key ARNs, each starting "arn:", join unambiguously without a separator
    const id = arns.join(',');
    if (this.saidUnchosen.has(id)) return;
    this.saidUnchosen.add(id);
    this.options.onUnchosenOnly(arns);
  }

  async allows(keyArn: string): Promise<boolean> {
    return isAllowed(keyArn, await this.effectiveAllowList());
  }

  private async mustAllow(keyArn: string, asked: string): Promise<void> {
    if (await this.allows(keyArn)) return;
    const list = await this.effectiveAllowList();
    throw new KmsEnvelopeError(
      'KEY_NOT_ALLOWED',
      `KMS key ${keyArn}${asked !== keyArn ? ` (${asked})` : ''} is not in the allow-list${list.length ? ` (${list.join(', ')})` : ': nothing is allowed yet'}`,
      NOTHING_ALLOWED_HINT,
      undefined,
      NOTHING_ALLOWED_EDITOR_HINT,
    );
  }

  /** The key ARN that a key id, alias or ARN names: an ARN as it is, anything else by DescribeKey. */
  async resolve(key: string): Promise<string> {
    if (isKeyArn(key)) return key;
    const known = this.resolved.get(key);
    if (known) return known;
    const arn = (await this.describe(key)).arn;
    this.resolved.set(key, arn);
    return arn;
  }

  /**
   * The data key of a header: from the cache (0 calls) or from the first usable stanza that
   * KMS unwraps (1 call when it is the first). Keys outside the allow-list are never asked.
   */
  async unwrap(header: Pick<Header, 'stanzas' | 'context'>): Promise<Buffer> {
    return (await this.unwrapWith(header)).dek;
  }

  async unwrapWith(header: Pick<Header, 'stanzas' | 'context'>): Promise<{ dek: Buffer; via: Stanza }> {
    const allow = await this.effectiveAllowList();
    const usable = header.stanzas.filter((s) => isAllowed(s.keyArn, allow));
    const ignored = header.stanzas.filter((s) => !usable.includes(s)).map((s) => s.keyArn);
    if (ignored.length && usable.length) this.options.onIgnoredKeys?.(ignored);
    this.sayIfUnchosen(usable);
    if (usable.length === 0) {
      throw new KmsEnvelopeError(
        'KEY_NOT_ALLOWED',
        allow.length
          ? `the file names only KMS keys outside the allow-list: ${header.stanzas.map((s) => s.keyArn).join(', ')}`
          : `no KMS key is allowed yet, and the file names ${header.stanzas.map((s) => s.keyArn).join(', ')}`,
        allow.length ? 'If you trust these keys, add them (or their account) to the allow-list: --allowed-keys / KMS_ENVELOPE_ALLOWED_KEYS, or the user setting kmsEnvelope.allowedKeys.' : NOTHING_ALLOWED_HINT,
        undefined,
        allow.length ? 'If you trust these keys, allow them: Allow These Keys in the warning about them, or the user setting kmsEnvelope.allowedKeys.' : NOTHING_ALLOWED_EDITOR_HINT,
      );
    }
    for (const s of usable) {
      const hit = this.cache.get(cacheId(s, header.context));
      if (hit) return { dek: hit, via: s };
    }
    const agent = this.options.agent;
    for (const s of agent ? usable : []) {
      const id = cacheId(s, header.context);
      const held = await agent!.get(id);
      if (!held) continue;
      this.cache.put(id, held);
      return { dek: held, via: s };
    }
    let firstError: unknown;
    for (const s of usable) {
      try {
        const out = await this.call({ action: 'kms:Decrypt', key: s.keyArn }, 'Decrypt', { CiphertextBlob: s.wrapped, KeyId: s.keyArn, EncryptionContext: { ...header.context } });
        const dek = Buffer.from(out.Plaintext!);
        out.Plaintext!.fill(0);
        if (dek.length !== 32) throw new KmsEnvelopeError('INVALID_CIPHERTEXT', `the key wrapped under ${s.keyArn} is not a 32-byte data key`);
        const id = cacheId(s, header.context);
        this.cache.put(id, dek);
        await agent?.put(id, dek);
        return { dek, via: s };
      } catch (err) {
        firstError ??= err;
      }
    }
    throw firstError;
  }

  /** Key ARN and alias for what the user typed (key id, ARN, alias name or alias ARN). */
  async describe(key: string): Promise<KeyChoice> {
    const out = await this.call({ action: 'kms:DescribeKey', key }, 'DescribeKey', { KeyId: key });
    return { arn: out.KeyMetadata!.Arn!, ...(key.startsWith('alias/') ? { alias: key } : {}) };
  }

  async listAliases(): Promise<AliasInfo[]> {
    const aliases: AliasInfo[] = [];
    let marker: string | undefined;
    do {
      const out = await this.call({ action: 'kms:ListAliases', key: '*' }, 'ListAliases', { Marker: marker });
      // Stryker disable next-line StringLiteral: equivalent — no account is found in any string that is not an alias ARN (and KMS always sends one)
      for (const a of out.Aliases ?? []) if (a.AliasName && !a.AliasName.startsWith('alias/aws/')) aliases.push({ alias: a.AliasName, keyId: a.TargetKeyId, account: accountOf(a.AliasArn ?? '') });
      marker = out.Truncated ? out.NextMarker : undefined;
    } while (marker);
    return aliases;
  }

  private readonly byProfile = new Map<string, KmsKeyProvider>();
  /**
   * This provider under a file's profile and role (the cache and allow-list shared), if the user
   * allowed files to choose them; undefined otherwise.
   */
  forFileProfile(profile: string | undefined, role?: string): KmsKeyProvider | undefined {
    if (!this.options.fileProfiles) return undefined;
    const chosen = { profile: profile ?? this.options.profile, role: role ?? this.options.role };
    if (chosen.profile === this.options.profile && chosen.role === this.options.role) return this;
    // Stryker disable next-line StringLiteral: equivalent — the id only tells (profile, role) pairs apart, which any filler for a missing part does
    const id = `${chosen.profile ?? ''}\0${chosen.role ?? ''}`;
    let p = this.byProfile.get(id);
    // the same transport: its clients and credentials are keyed by profile and role
    if (!p) this.byProfile.set(id, (p = new KmsKeyProvider({ ...this.options, ...chosen, cache: this.cache, transport: this.transport })));
    return p;
  }

  destroy(): void {
    this.ownTransport?.destroy();
    for (const p of this.byProfile.values()) p.destroy();
    this.byProfile.clear();
  }
}

/** A new stanza; its alias label is the one the user typed, or the one it had. */
function stanzaOf(keyArn: string, blob: Uint8Array, asked: KeyRef): Stanza {
  const alias = typeof asked !== 'string' ? asked.alias : aliasOf(asked);
  return { type: 'aws-kms', keyArn, wrapped: Buffer.from(blob), ...(alias ? { alias } : {}) };
}

const cacheId = (s: Stanza, context: EncryptionContext): string => `${s.keyArn}\0${b64(s.wrapped)}\0${contextJson(context)}`;
