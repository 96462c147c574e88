/**
 * Where KMS requests go: the seam between the key provider (allow-list, cache, messages: what
 * kms-envelope decides) and the AWS SDK (credentials, signing, HTTP: what AWS decides). The CLI
 * sends from its own thread (SdkTransport); the extension from a worker thread (WorkerTransport),
 * so that the editor's host never loads, compiles or runs the SDK.
 */
import type {
  DecryptCommandInput,
  DecryptCommandOutput,
  DescribeKeyCommandInput,
  DescribeKeyCommandOutput,
  EncryptCommandInput,
  EncryptCommandOutput,
  GenerateDataKeyCommandInput,
  GenerateDataKeyCommandOutput,
  ListAliasesCommandInput,
  ListAliasesCommandOutput,
  ReEncryptCommandInput,
  ReEncryptCommandOutput,
} from '@aws-sdk/client-kms';

/** The KMS actions kms-envelope calls, with what each takes and gives (the SDK's own shapes). */
export interface KmsRequests {
  GenerateDataKey: { input: GenerateDataKeyCommandInput; output: GenerateDataKeyCommandOutput };
  Encrypt: { input: EncryptCommandInput; output: EncryptCommandOutput };
  ReEncrypt: { input: ReEncryptCommandInput; output: ReEncryptCommandOutput };
  Decrypt: { input: DecryptCommandInput; output: DecryptCommandOutput };
  DescribeKey: { input: DescribeKeyCommandInput; output: DescribeKeyCommandOutput };
  ListAliases: { input: ListAliasesCommandInput; output: ListAliasesCommandOutput };
}

export type KmsAction = keyof KmsRequests;

/** Whose credentials a request is signed with, and where it goes. */
export interface KmsClientSpec {
  /** '' leaves the region to the SDK's chain (the profile's, AWS_REGION…). */
  readonly region: string;
  /** undefined: the default credential chain. */
  readonly profile?: string;
  /** A role assumed with the profile's credentials (a SOPS entry's, when the user allows it). */
  readonly role?: string;
  /** The region STS is called in for that role. */
  readonly roleRegion?: string;
  readonly maxAttempts: number;
  readonly requestTimeoutMs: number;
}

export interface KmsTransport {
  /** One KMS request; fails with a KmsRequestError. `signal` aborts it (the work was cancelled, or its deadline passed). */
  send<A extends KmsAction>(spec: KmsClientSpec, action: A, input: KmsRequests[A]['input'], signal: AbortSignal): Promise<KmsRequests[A]['output']>;
  /** Closes its connections (a CLI then exits at once) and lets go of its credentials. */
  destroy(): void;
}

/** A request that failed: the SDK's error, and the endpoint it went to when not AWS's own (named in messages). */
export class KmsRequestError extends Error {
  constructor(
    readonly reason: unknown,
    readonly endpoint: string | undefined,
    /** Ended by its transport's destroy() (the user locked, or changed a setting), not by KMS. */
    readonly stopped = false,
  ) {
    super(reason instanceof Error ? reason.message : String(reason));
  }
}
