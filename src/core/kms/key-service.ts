import type { EncryptionContext, Header, Stanza } from '../header';

/**
 * The key seam (typage's Recipient/Identity): what the envelope needs from a key provider.
 * AWS KMS (KmsKeyProvider) is the one implementation; a second cloud or a local key for
 * offline use would stand beside it without touching the formats. Types only, so that the
 * extension can name it without loading the AWS SDK.
 *
 * Every key a provider wraps for or unwraps with is a full key ARN checked against the
 * allow-list; an alias in a file is a label and never reaches KMS.
 */
/** A key to wrap for: what the user typed (ARN, id or alias), or a stanza's ARN with its label. */
export type KeyRef = string | Pick<Stanza, 'keyArn' | 'alias'>;

export interface KeyService {
  /**
   * A fresh data key wrapped for every key given (the first by GenerateDataKey): keys the
   * user chose, each resolved to its ARN by KMS and checked against the allow-list.
   */
  generate(keys: readonly KeyRef[], context: EncryptionContext): Promise<{ dek: Buffer; stanzas: Stanza[] }>;
  /** The data key of a header and the stanza it came from; never asks a key outside the allow-list. */
  unwrapWith(header: Pick<Header, 'stanzas' | 'context'>): Promise<{ dek: Buffer; via: Stanza }>;
  /** Wraps a stanza's data key for another (allowed) key inside KMS. */
  reEncrypt(from: Stanza, key: string, context: EncryptionContext): Promise<Stanza>;
  /** Whether the allow-list accepts a key ARN. */
  allows(keyArn: string): Promise<boolean>;
  /** The key ARN a key id, alias or ARN names (an ARN is returned as it is). */
  resolve(key: string): Promise<string>;
  /**
   * The same provider under the profile and role a SOPS file's entry names (`aws_profile`,
   * `role`), when the user has allowed files to choose them; undefined otherwise (the user's own
   * credentials are then used).
   */
  forFileProfile?(profile: string | undefined, role?: string): KeyService | undefined;
}
