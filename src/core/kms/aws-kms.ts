/**
 * AWS KMS behind the envelope's key seam: makes data keys, unwraps them (through the cache),
 * wraps them for more keys. Credentials come from the SDK v3 provider chain for the chosen
 * profile; the endpoint only from the SDK's standard settings (never from a file).
 */
import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ListAliasesCommand,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { b64 } from '../bytes';
import { KmsEnvelopeError } from '../errors';
import { contextJson, EncryptionContext, Header, Stanza } from '../header';
import { AllowList, isAllowed } from './allow-list';
import { DataKeyCache } from './cache';
import { CallSite, toKmsEnvelopeError } from './errors';
import { configuredKmsEndpoint } from './profiles';
import type { KeyService } from './key-service';

export interface KmsOptions {
  /** AWS profile; undefined uses the default chain (env, AWS_PROFILE, default profile, SSO, metadata…). */
  readonly profile?: string;
  /** Region for keys given by id or alias; a key ARN's own region always wins. */
  readonly region?: string;
  readonly allowedKeys?: AllowList;
  readonly cache?: DataKeyCache;
  /** Attempts per KMS call, including the first (the SDK backs off between them). */
  readonly maxAttempts?: number;
  readonly requestTimeoutMs?: number;
  /** Told which keys a file names that the allow-list refuses (they are never asked). */
  readonly onIgnoredKeys?: (keyArns: string[]) => void;
}

export interface KeyChoice {
  readonly arn: string;
  readonly alias?: string;
}

export interface AliasInfo {
  readonly alias: string;
  readonly keyId?: string;
}

/** The region of a key ARN or alias ARN: the key lives there, whatever the default region. */
const regionOfArn = (ref: string): string | undefined => /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:(?:key|alias)\//.exec(ref)?.[1];

export class KmsKeyProvider implements KeyService {
  private readonly clients = new Map<string, Promise<KMSClient>>();
  private readonly credentials;
  readonly cache: DataKeyCache;
  /** KMS calls made by this provider (for messages and tests). */
  calls = 0;

  constructor(private readonly options: KmsOptions = {}) {
    this.credentials = fromNodeProviderChain(options.profile ? { profile: options.profile } : {});
    this.cache = options.cache ?? new DataKeyCache();
  }

  get profile(): string | undefined {
    return this.options.profile;
  }

  private client(keyId: string): Promise<KMSClient> {
    const region = regionOfArn(keyId) ?? this.options.region ?? '';
    let client = this.clients.get(region);
    if (!client) {
      client = configuredKmsEndpoint(this.options.profile).then(
        (endpoint) =>
          new KMSClient({
            ...(region ? { region } : {}),
            ...(this.options.profile ? { profile: this.options.profile } : {}),
            ...(endpoint ? { endpoint } : {}),
            credentials: this.credentials,
            maxAttempts: this.options.maxAttempts ?? 3,
            requestHandler: { requestTimeout: this.options.requestTimeoutMs ?? 10_000, connectionTimeout: 5_000, throwOnRequestTimeout: true },
          }),
      );
      this.clients.set(region, client);
    }
    return client;
  }

  private async call<T>(site: Omit<CallSite, 'profile'>, run: (c: KMSClient) => Promise<T>): Promise<T> {
    this.calls++;
    try {
      return await run(await this.client(site.key));
    } catch (err) {
      throw toKmsEnvelopeError(err, { ...site, profile: this.options.profile });
    }
  }

  /**
   * A fresh data key wrapped under `keys[0]` (GenerateDataKey) and each further key (Encrypt):
   * one KMS call per key. Aliases are resolved to key ARNs by KMS's own answer.
   */
  async generate(keys: readonly string[], context: EncryptionContext): Promise<{ dek: Buffer; stanzas: Stanza[] }> {
    if (keys.length === 0) throw new KmsEnvelopeError('CONFIG', 'no KMS key chosen', 'Choose a key (KMS Envelope: Select KMS Key, or --key).');
    const [first, ...more] = keys;
    const out = await this.call({ action: 'kms:GenerateDataKey', key: first }, (c) =>
      c.send(new GenerateDataKeyCommand({ KeyId: first, KeySpec: 'AES_256', EncryptionContext: { ...context } })),
    );
    const dek = Buffer.from(out.Plaintext!);
    out.Plaintext!.fill(0);
    const stanzas = [stanzaOf(out.KeyId!, out.CiphertextBlob!, first)];
    try {
      for (const key of more) stanzas.push(await this.wrap(dek, key, context));
    } catch (err) {
      dek.fill(0);
      throw err;
    }
    this.cache.put(cacheId(stanzas[0], context), dek);
    return { dek, stanzas };
  }

  /** Wraps a data key we hold for one more key (KMS Encrypt). */
  async wrap(dek: Buffer, key: string, context: EncryptionContext): Promise<Stanza> {
    const out = await this.call({ action: 'kms:Encrypt', key }, (c) =>
      c.send(new EncryptCommand({ KeyId: key, Plaintext: dek, EncryptionContext: { ...context } })),
    );
    return stanzaOf(out.KeyId!, out.CiphertextBlob!, key);
  }

  /** Re-wraps a stanza's data key for another key inside KMS (ReEncrypt): the key never leaves KMS. */
  async reEncrypt(from: Stanza, key: string, context: EncryptionContext): Promise<Stanza> {
    const out = await this.call({ action: 'kms:ReEncrypt', key }, (c) =>
      c.send(
        new ReEncryptCommand({
          CiphertextBlob: from.wrapped,
          SourceKeyId: from.keyArn,
          SourceEncryptionContext: { ...context },
          DestinationKeyId: key,
          DestinationEncryptionContext: { ...context },
        }),
      ),
    );
    return stanzaOf(out.KeyId!, out.CiphertextBlob!, key);
  }

  /** The stanzas of a header that the allow-list lets us use, in file order. */
  usableStanzas(header: Pick<Header, 'stanzas'>): Stanza[] {
    return header.stanzas.filter((s) => isAllowed(s.keyArn, this.options.allowedKeys ?? []));
  }

  /**
   * The data key of a header: from the cache (0 calls) or from the first usable stanza that
   * KMS unwraps (1 call when it is the first). Keys outside the allow-list are never asked.
   */
  async unwrap(header: Pick<Header, 'stanzas' | 'context'>): Promise<Buffer> {
    return (await this.unwrapWith(header)).dek;
  }

  allowsForWrapping(keyArn: string): boolean {
    const allow = this.options.allowedKeys ?? [];
    return allow.length > 0 && isAllowed(keyArn, allow);
  }

  async unwrapWith(header: Pick<Header, 'stanzas' | 'context'>): Promise<{ dek: Buffer; via: Stanza }> {
    const usable = this.usableStanzas(header);
    const ignored = header.stanzas.filter((s) => !usable.includes(s)).map((s) => s.keyArn);
    if (ignored.length && usable.length) this.options.onIgnoredKeys?.(ignored);
    if (usable.length === 0) {
      throw new KmsEnvelopeError(
        'KEY_NOT_ALLOWED',
        `the file names only KMS keys outside the allow-list: ${header.stanzas.map((s) => s.keyArn).join(', ')}`,
        'If you trust these keys, add them to kmsEnvelope.allowedKeys (or --allowed-keys).',
      );
    }
    for (const s of usable) {
      const hit = this.cache.get(cacheId(s, header.context));
      if (hit) return { dek: hit, via: s };
    }
    let firstError: unknown;
    for (const s of usable) {
      try {
        const out = await this.call({ action: 'kms:Decrypt', key: s.keyArn }, (c) =>
          c.send(new DecryptCommand({ CiphertextBlob: s.wrapped, KeyId: s.keyArn, EncryptionContext: { ...header.context } })),
        );
        const dek = Buffer.from(out.Plaintext!);
        out.Plaintext!.fill(0);
        if (dek.length !== 32) throw new KmsEnvelopeError('INVALID_CIPHERTEXT', `the key wrapped under ${s.keyArn} is not a 32-byte data key`);
        this.cache.put(cacheId(s, header.context), dek);
        return { dek, via: s };
      } catch (err) {
        firstError ??= err;
      }
    }
    throw firstError;
  }

  /** Key ARN and alias for what the user typed (key id, ARN, alias name or alias ARN). */
  async describe(key: string): Promise<KeyChoice> {
    const out = await this.call({ action: 'kms:DescribeKey', key }, (c) => c.send(new DescribeKeyCommand({ KeyId: key })));
    return { arn: out.KeyMetadata!.Arn!, ...(key.startsWith('alias/') ? { alias: key } : {}) };
  }

  async listAliases(): Promise<AliasInfo[]> {
    const aliases: AliasInfo[] = [];
    let marker: string | undefined;
    do {
      const out = await this.call({ action: 'kms:ListAliases', key: '*' }, (c) => c.send(new ListAliasesCommand({ Marker: marker })));
      for (const a of out.Aliases ?? []) if (a.AliasName && !a.AliasName.startsWith('alias/aws/')) aliases.push({ alias: a.AliasName, keyId: a.TargetKeyId });
      marker = out.Truncated ? out.NextMarker : undefined;
    } while (marker);
    return aliases;
  }

  destroy(): void {
    for (const c of this.clients.values()) void c.then((client) => client.destroy(), () => undefined);
    this.clients.clear();
  }
}

const stanzaOf = (keyArn: string, blob: Uint8Array, asked: string): Stanza => ({
  type: 'aws-kms',
  keyArn,
  wrapped: Buffer.from(blob),
  ...(asked.startsWith('alias/') ? { alias: asked } : asked.includes(':alias/') ? { alias: asked.slice(asked.indexOf(':alias/') + 1) } : {}),
});

const cacheId = (s: Stanza, context: EncryptionContext): string => `${s.keyArn}\0${b64(s.wrapped)}\0${contextJson(context)}`;
