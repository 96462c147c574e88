import assert from 'node:assert/strict';
import { DisabledException, IncorrectKeyException, InvalidCiphertextException, KeyUnavailableException, KMSInvalidStateException, KMSServiceException, NotFoundException } from '@aws-sdk/client-kms';
import { KmsEnvelopeError } from '../../src/core/errors';
import { CallSite, toKmsEnvelopeError } from '../../src/core/kms/errors';

/**
 * What each AWS failure becomes: a code, a message that names the action, key and profile, and a
 * hint that says what to do (the SDK's own exception classes, as the client throws them).
 */
const meta = { httpStatusCode: 400, attempts: 1, totalRetryDelay: 0 };
/** An error of the KMS service by its name, as the SDK makes one for an exception it has no class for. */
const service = (name: string, message = name, httpStatusCode = 400) => new KMSServiceException({ name, $fault: 'client', message, $metadata: { ...meta, httpStatusCode } });
const error = (name: string, message: string, extra: object = {}) => Object.assign(new Error(message), { name }, extra);

const DECRYPT: CallSite = { action: 'kms:Decrypt', key: 'arn:aws:kms:eu-west-1:111122223333:key/k1', profile: 'dev' };
const GENERATE: CallSite = { action: 'kms:GenerateDataKey', key: 'alias/app' };

const mapped = (err: unknown, site: CallSite) => {
  const e = toKmsEnvelopeError(err, site);
  return [e.code, e.message, e.hint, e.profile];
};

describe('KMS and credential failures as errors that say what to do (kms/errors.ts)', () => {
  it('an error of ours passes through unchanged', () => {
    const ours = new KmsEnvelopeError('CANCELLED', 'cancelled');
    assert.equal(toKmsEnvelopeError(ours, DECRYPT), ours);
  });

  it('an expired or missing SSO session: log in again, with the profile', () => {
    const sso = error('Error', 'The SSO session associated with this profile has expired or is otherwise invalid');
    assert.deepEqual(mapped(sso, DECRYPT), ['SSO_EXPIRED', 'the AWS SSO session of profile "dev" has expired or is missing', 'Run: aws sso login --profile dev', 'dev']);
    assert.deepEqual(mapped(error('Error', 'Token is expired. To refresh this SSO session run aws sso login'), GENERATE), ['SSO_EXPIRED', 'the AWS SSO session of the default credential chain has expired or is missing', 'Run: aws sso login', undefined]);
    // SSO without a word of expiry, or a token without SSO, is something else
    assert.equal(toKmsEnvelopeError(error('Error', 'the sso_region is not valid'), DECRYPT).code, 'KMS_UNAVAILABLE');
    assert.equal(toKmsEnvelopeError(error('Error', 'the token was refused'), DECRYPT).code, 'KMS_UNAVAILABLE');
  });

  it('no credentials at all: by the provider chain’s error, or its words', () => {
    const none = ['NO_CREDENTIALS', 'no AWS credentials found for profile "dev"', 'Choose an AWS profile (KMS Envelope: Select AWS Profile, or --profile), or configure credentials.', 'dev'];
    assert.deepEqual(mapped(error('CredentialsProviderError', 'whatever it says'), DECRYPT), none);
    for (const words of ['Could not load credentials from any providers', 'Credential is missing', 'Unable to find a region or credentials']) assert.deepEqual(mapped(error('Error', words), DECRYPT), none, words);
  });

  it('credentials AWS refused: refresh them, naming the refusal', () => {
    for (const name of ['ExpiredTokenException', 'UnrecognizedClientException', 'InvalidSignatureException']) {
      assert.deepEqual(mapped(service(name), GENERATE), ['NO_CREDENTIALS', `AWS rejected the credentials of the default credential chain (${name})`, 'Refresh the credentials (or log in again) and retry.', undefined]);
    }
  });

  it('access denied: the action, key and profile, and where to grant it', () => {
    assert.deepEqual(mapped(service('AccessDeniedException', 'User is not authorized'), DECRYPT), [
      'ACCESS_DENIED',
      'access denied: kms:Decrypt on arn:aws:kms:eu-west-1:111122223333:key/k1 for profile "dev"',
      'Ask for kms:Decrypt on this key in its key policy or IAM policy, or choose another profile.',
      'dev',
    ]);
  });

  it('a key that cannot be used: its state, and for a decryption the other stanzas, for an encryption another key', () => {
    const owner = (key: string) => `Its owner can check it (aws kms describe-key --key-id ${key}) and enable it (aws kms enable-key)`;
    const decryptHint = `${owner(DECRYPT.key)}; if the file is also wrapped for another key, allow that one, or restore access and rewrap the file.`;
    const encryptHint = `${owner('alias/app')}, or choose another key (--key / KMS_ENVELOPE_KEY).`;
    const cases: [KMSServiceException, string][] = [
      [new DisabledException({ message: 'disabled', $metadata: meta }), 'disabled'],
      [new NotFoundException({ message: 'not found', $metadata: meta }), 'not found'],
      [new KMSInvalidStateException({ message: 'pending deletion', $metadata: meta }), 'not usable now'],
      [new KeyUnavailableException({ message: 'unavailable', $metadata: meta }), 'not usable now'],
    ];
    for (const [err, state] of cases) {
      assert.deepEqual(mapped(err, DECRYPT), ['KEY_UNUSABLE', `KMS key ${DECRYPT.key} is ${state} (kms:Decrypt)`, decryptHint, 'dev'], err.name);
      assert.deepEqual(mapped(err, GENERATE), ['KEY_UNUSABLE', `KMS key alias/app is ${state} (kms:GenerateDataKey)`, encryptHint, undefined], err.name);
      // in the editor, its own command instead of the CLI's flag and variable; a decryption's hint names none
      assert.equal(toKmsEnvelopeError(err, GENERATE).editorHint, `${owner('alias/app')}, or choose another key (KMS Envelope: Select KMS Key).`);
      assert.equal(toKmsEnvelopeError(err, DECRYPT).editorHint, undefined);
    }
  });

  it('a wrapped key KMS cannot unwrap: the header was changed', () => {
    for (const err of [new InvalidCiphertextException({ message: 'x', $metadata: meta }), new IncorrectKeyException({ message: 'x', $metadata: meta })]) {
      assert.deepEqual(mapped(err, DECRYPT), [
        'INVALID_CIPHERTEXT',
        `header key stanza: KMS could not unwrap the data key with ${DECRYPT.key}: the wrapped key or its encryption context was changed`,
        'The file header was modified or is corrupt; restore it from version control.',
        'dev',
      ]);
    }
  });

  it('no region: where to set one', () => {
    assert.deepEqual(mapped(error('Error', 'Region is missing'), GENERATE), ['CONFIG', 'no AWS region configured', 'Set a region (setting kmsEnvelope.region, --region, AWS_REGION, or region= in the profile).', undefined]);
  });

  describe('KMS not answering: what failed, where, after how long, and nothing was changed', () => {
    const retry = 'Check the network and the region, then retry. Nothing was changed.';
    const cases: [string, unknown, CallSite, string, string][] = [
      ['throttled', service('ThrottlingException', 'Rate exceeded'), GENERATE, 'KMS did not answer kms:GenerateDataKey on alias/app after retries (ThrottlingException)', 'KMS is throttling requests for this account and region: retry in a moment, or ask for a higher KMS request quota. Nothing was changed.'],
      ['timed out (by name)', error('TimeoutError', 'x'), GENERATE, 'KMS did not answer kms:GenerateDataKey on alias/app after retries (TimeoutError)', 'KMS did not answer in time: check the network, a proxy or VPN, and the region, then retry. Nothing was changed.'],
      ['timed out (by message), within the deadline', error('Error', 'socket Timeout', { code: 'ETIMEDOUT' }), { ...GENERATE, waitedMs: 2549 }, 'KMS did not answer kms:GenerateDataKey on alias/app within 2.5 s (ETIMEDOUT)', 'KMS did not answer in time: check the network, a proxy or VPN, and the region, then retry. Nothing was changed.'],
      ['refused, at a local endpoint in a region', error('Error', 'connect ECONNREFUSED', { code: 'ECONNREFUSED' }), { ...GENERATE, endpoint: 'http://127.0.0.1:4599', region: 'eu-west-1' }, 'KMS did not answer kms:GenerateDataKey on alias/app at http://127.0.0.1:4599 (region eu-west-1) after retries (ECONNREFUSED)', retry],
      ['at an endpoint without a region', error('Error', 'x', { code: 'EAI_AGAIN' }), { ...GENERATE, endpoint: 'https://kms.example' }, 'KMS did not answer kms:GenerateDataKey on alias/app at https://kms.example after retries (EAI_AGAIN)', retry],
      ['a server error by its status', error('', 'x', { $metadata: { httpStatusCode: 503 } }), GENERATE, 'KMS did not answer kms:GenerateDataKey on alias/app after retries (HTTP 503)', retry],
      ['an internal error of KMS', service('KMSInternalException', 'x', 500), GENERATE, 'KMS did not answer kms:GenerateDataKey on alias/app after retries (KMSInternalException)', retry],
      ['nothing to go by', error('Error', 'x'), GENERATE, 'KMS did not answer kms:GenerateDataKey on alias/app after retries (network error)', retry],
      ['not even an object', 'socket hang up', GENERATE, 'KMS did not answer kms:GenerateDataKey on alias/app after retries (network error)', retry],
      ['null', null, GENERATE, 'KMS did not answer kms:GenerateDataKey on alias/app after retries (network error)', retry],
    ];
    for (const [what, err, site, message, hint] of cases) {
      it(what, () => assert.deepEqual(mapped(err, site), ['KMS_UNAVAILABLE', message, hint, site.profile]));
    }
  });

  it('the editor\'s words for missing credentials and a missing region name no CLI flag', () => {
    const none = toKmsEnvelopeError(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), DECRYPT);
    assert.equal(none.editorHint, 'Choose an AWS profile (KMS Envelope: Select AWS Profile), or configure credentials in ~/.aws.');
    const region = toKmsEnvelopeError(new Error('Region is missing'), DECRYPT);
    assert.equal(region.editorHint, 'Set a region: the setting kmsEnvelope.region, or region= in the profile.');
  });
});
