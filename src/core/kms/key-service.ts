import type { EncryptionContext, Header, Stanza } from '../header';

/**
 * The key seam (typage's Recipient/Identity): what the envelope needs from a key provider.
 * AWS KMS (KmsKeyProvider) is the one implementation; a second cloud or a local key for
 * offline use would stand beside it without touching the formats. Types only, so that the
 * extension can name it without loading the AWS SDK.
 */
export interface KeyService {
  /** A fresh data key wrapped for every key given (the first by GenerateDataKey). */
  generate(keys: readonly string[], context: EncryptionContext): Promise<{ dek: Buffer; stanzas: Stanza[] }>;
  /** The data key of a header and the stanza it came from; never asks a key outside the allow-list. */
  unwrapWith(header: Pick<Header, 'stanzas' | 'context'>): Promise<{ dek: Buffer; via: Stanza }>;
  /** Wraps a stanza's data key for another key inside KMS. */
  reEncrypt(from: Stanza, key: string, context: EncryptionContext): Promise<Stanza>;
  /** The header's stanzas that the allow-list accepts. */
  usableStanzas(header: Pick<Header, 'stanzas'>): Stanza[];
  /** Whether the allow-list accepts a key ARN (an empty list accepts none for wrapping). */
  allowsForWrapping(keyArn: string): boolean;
}
