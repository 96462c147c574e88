/**
 * KMS requests sent by the AWS SDK in this thread: one client per region and credentials, the
 * credentials from the SDK v3 provider chain for the profile (and a role's through it), the
 * endpoint only from the SDK's standard settings (never from a file).
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import * as Sdk from './sdk';
import { configuredKmsEndpoint } from './profiles';
import { KmsAction, KmsClientSpec, KmsRequestError, KmsRequests, KmsTransport } from './transport';

type Credentials = ReturnType<typeof Sdk.fromNodeProviderChain>;

/** The SDK command of an action (looked up when sent: the CLI's `Sdk` loads the SDK on first use). */
function commandFor(action: KmsAction, input: KmsRequests[KmsAction]['input']): Parameters<KMSClient['send']>[0] {
  const Command = {
    GenerateDataKey: Sdk.GenerateDataKeyCommand,
    Encrypt: Sdk.EncryptCommand,
    ReEncrypt: Sdk.ReEncryptCommand,
    Decrypt: Sdk.DecryptCommand,
    DescribeKey: Sdk.DescribeKeyCommand,
    ListAliases: Sdk.ListAliasesCommand,
  }[action] as new (input: KmsRequests[KmsAction]['input']) => Parameters<KMSClient['send']>[0];
  return new Command(input);
}

export class SdkTransport implements KmsTransport {
  /** By region, profile and role: the client, and the endpoint it uses when not AWS's own. */
  private readonly clients = new Map<string, Promise<{ client: KMSClient; endpoint?: string }>>();
  /** By profile and role: one provider chain each, whose credentials the SDK caches and refreshes. */
  private readonly chains = new Map<string, Credentials>();

  async send<A extends KmsAction>(spec: KmsClientSpec, action: A, input: KmsRequests[A]['input'], signal: AbortSignal): Promise<KmsRequests[A]['output']> {
    let endpoint: string | undefined;
    try {
      const made = await this.client(spec);
      endpoint = made.endpoint;
      // the command's output type is the action's (KmsRequests maps them as the SDK does)
      return (await made.client.send(commandFor(action, input), { abortSignal: signal })) as KmsRequests[A]['output'];
    } catch (err) {
      throw new KmsRequestError(err, endpoint);
    }
  }

  private client(spec: KmsClientSpec): Promise<{ client: KMSClient; endpoint?: string }> {
    // Stryker disable next-line StringLiteral,LogicalOperator: equivalent — the id only tells specs apart, which any filler for a missing part does; the STS region is not seen by the local STS (see credentials)
    const id = [spec.region, spec.profile ?? '', spec.role ?? '', spec.roleRegion ?? '', spec.maxAttempts, spec.requestTimeoutMs].join('\0');
    let made = this.clients.get(id);
    // Stryker disable next-line ConditionalExpression: equivalent — a client made again for every call acts the same, only slower
    if (!made) {
      made = configuredKmsEndpoint(spec.profile).then((endpoint) => ({
        client: new Sdk.KMSClient({
          ...(spec.region ? { region: spec.region } : {}),
          ...(spec.profile ? { profile: spec.profile } : {}),
          ...(endpoint ? { endpoint } : {}),
          credentials: this.credentials(spec),
          maxAttempts: spec.maxAttempts,
          requestHandler: { requestTimeout: spec.requestTimeoutMs, connectionTimeout: 5_000, throwOnRequestTimeout: true },
        }),
        endpoint: endpoint ?? process.env.AWS_ENDPOINT_URL_KMS ?? process.env.AWS_ENDPOINT_URL,
      }));
      this.clients.set(id, made);
    }
    return made;
  }

  /** The credentials: the provider chain for the profile, and through it a role's, when one is set. */
  private credentials(spec: KmsClientSpec): Credentials {
    // Stryker disable next-line StringLiteral,LogicalOperator: equivalent — the id only tells (profile, role) pairs apart, which any filler for a missing part does; the STS region is not seen by the local STS
    const id = [spec.profile ?? '', spec.role ?? '', spec.roleRegion ?? ''].join('\0');
    let chain = this.chains.get(id);
    if (!chain) {
      // Stryker disable next-line ConditionalExpression,ObjectLiteral: equivalent with this SDK — the chain also takes the profile from the client's own config (passed above); kept explicit so as not to hang on that
      const base = Sdk.fromNodeProviderChain(spec.profile ? { profile: spec.profile } : {});
      // as sops does: the role assumed with the profile's credentials, in a session named for this
      // tool (the local STS of the tests checks neither the name nor the region STS is called in)
      // Stryker disable next-line StringLiteral,ConditionalExpression,ObjectLiteral: the local STS accepts any session name and region; AWS requires a name of 2-64 characters
      chain = spec.role ? Sdk.fromTemporaryCredentials({ params: { RoleArn: spec.role, RoleSessionName: 'kms-envelope' }, masterCredentials: base, clientConfig: spec.roleRegion ? { region: spec.roleRegion } : {} }) : base;
      this.chains.set(id, chain);
    }
    return chain;
  }

  destroy(): void {
    for (const made of this.clients.values()) void made.then(({ client }) => client.destroy(), () => undefined);
    this.clients.clear();
    this.chains.clear();
  }
}
