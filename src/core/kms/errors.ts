/**
 * AWS SDK and KMS failures as KmsEnvelopeErrors that say what to do. The SDK has already
 * retried throttling and transient errors (with backoff) by the time one arrives here.
 */
import { isKmsEnvelopeError, KmsEnvelopeError } from '../errors';

export interface CallSite {
  readonly action: string; // e.g. kms:Decrypt
  readonly key: string; // key ARN, alias or id
  readonly profile?: string;
  /** The endpoint, when it is not AWS's own (a local KMS, a VPC endpoint, a proxy). */
  readonly endpoint?: string;
  readonly region?: string;
  /** The deadline that ran out, if that is what ended the call. */
  readonly waitedMs?: number;
}

const who = (s: CallSite): string => (s.profile ? `profile "${s.profile}"` : 'the default credential chain');

interface AwsLikeError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

export function toKmsEnvelopeError(err: unknown, site: CallSite): KmsEnvelopeError {
  if (isKmsEnvelopeError(err)) return err;
  const e = (typeof err === 'object' && err ? err : {}) as AwsLikeError;
  const name = e.name ?? '';
  const msg = e.message ?? String(err);
  const profileFlag = site.profile ? ` --profile ${site.profile}` : '';

  if (/sso/i.test(msg) && /(expired|refresh|token)/i.test(msg)) {
    return new KmsEnvelopeError(
      'SSO_EXPIRED',
      `the AWS SSO session of ${who(site)} has expired or is missing`,
      `Run: aws sso login${profileFlag}`,
      site.profile,
    );
  }
  if (name === 'CredentialsProviderError' || /could not load credentials|credential is missing|Unable to find/i.test(msg)) {
    return new KmsEnvelopeError(
      'NO_CREDENTIALS',
      `no AWS credentials found for ${who(site)}`,
      'Choose an AWS profile (KMS Envelope: Select AWS Profile, or --profile), or configure credentials.',
      site.profile,
      'Choose an AWS profile (KMS Envelope: Select AWS Profile), or configure credentials in ~/.aws.',
    );
  }
  if (name === 'ExpiredTokenException' || name === 'UnrecognizedClientException' || name === 'InvalidSignatureException') {
    return new KmsEnvelopeError(
      'NO_CREDENTIALS',
      `AWS rejected the credentials of ${who(site)} (${name})`,
      'Refresh the credentials (or log in again) and retry.',
      site.profile,
    );
  }
  if (name === 'AccessDeniedException') {
    return new KmsEnvelopeError(
      'ACCESS_DENIED',
      `access denied: ${site.action} on ${site.key} for ${who(site)}`,
      `Ask for ${site.action} on this key in its key policy or IAM policy, or choose another profile.`,
      site.profile,
    );
  }
  if (name === 'DisabledException' || name === 'NotFoundException' || name === 'KMSInvalidStateException' || name === 'KeyUnavailableException') {
    const state = name === 'DisabledException' ? 'disabled' : name === 'NotFoundException' ? 'not found' : 'not usable now';
    // only what applies: a new encryption needs another key; an existing file, another stanza
    const owner = `Its owner can check it (aws kms describe-key --key-id ${site.key}) and enable it (aws kms enable-key)`;
    const hint =
      site.action === 'kms:Decrypt'
        ? `${owner}; if the file is also wrapped for another key, allow that one, or restore access and rewrap the file.`
        : `${owner}, or choose another key (--key / KMS_ENVELOPE_KEY).`;
    const editorHint = site.action === 'kms:Decrypt' ? undefined : `${owner}, or choose another key (KMS Envelope: Select KMS Key).`;
    return new KmsEnvelopeError('KEY_UNUSABLE', `KMS key ${site.key} is ${state} (${site.action})`, hint, site.profile, editorHint);
  }
  if (name === 'InvalidCiphertextException' || name === 'IncorrectKeyException') {
    return new KmsEnvelopeError(
      'INVALID_CIPHERTEXT',
      `header key stanza: KMS could not unwrap the data key with ${site.key}: the wrapped key or its encryption context was changed`,
      'The file header was modified or is corrupt; restore it from version control.',
      site.profile,
    );
  }
  if (/region is missing/i.test(msg)) {
    return new KmsEnvelopeError('CONFIG', 'no AWS region configured', 'Set a region (setting kmsEnvelope.region, --region, AWS_REGION, or region= in the profile).', site.profile, 'Set a region: the setting kmsEnvelope.region, or region= in the profile.');
  }
  const status = e.$metadata?.httpStatusCode;
  const detail = name && name !== 'Error' ? name : e.code ?? (status ? `HTTP ${status}` : 'network error');
  const hint =
    name === 'ThrottlingException'
      ? 'KMS is throttling requests for this account and region: retry in a moment, or ask for a higher KMS request quota. Nothing was changed.'
      : /timeout/i.test(`${name} ${msg}`)
        ? 'KMS did not answer in time: check the network, a proxy or VPN, and the region, then retry. Nothing was changed.'
        : 'Check the network and the region, then retry. Nothing was changed.';
  const where = site.endpoint ? ` at ${site.endpoint}${site.region ? ` (region ${site.region})` : ''}` : '';
  const when = site.waitedMs ? `within ${Math.round(site.waitedMs / 100) / 10} s` : 'after retries';
  return new KmsEnvelopeError('KMS_UNAVAILABLE', `KMS did not answer ${site.action} on ${site.key}${where} ${when} (${detail})`, hint, site.profile);
}
