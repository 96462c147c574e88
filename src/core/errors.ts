/**
 * Every failure the core reports is a KmsEnvelopeError with a stable `code`, a message that
 * says what happened and a `hint` that says what to do. Messages never carry plaintext:
 * they name entries, lines, header fields, keys and profiles, never values.
 */
export type ErrorCode =
  | 'FORMAT' // the file is not a well-formed kms-envelope file (header, token, payload)
  | 'TAMPERED' // a MAC, tag or key commitment did not verify
  | 'NOT_ENCRYPTED'
  | 'ALREADY_ENCRYPTED'
  | 'NO_CREDENTIALS'
  | 'SSO_EXPIRED'
  | 'ACCESS_DENIED'
  | 'KEY_UNUSABLE' // disabled, pending deletion, not found
  | 'INVALID_CIPHERTEXT' // KMS could not unwrap: wrong key, wrong context, corrupt blob
  | 'KEY_NOT_ALLOWED' // the allow-list refused every key the file names
  | 'KMS_UNAVAILABLE' // throttling, 5xx, network, timeout after the SDK's retries
  | 'CONFIG'
  | 'CANCELLED' // the user cancelled the wait
  | 'USAGE';

export class KmsEnvelopeError extends Error {
  override readonly name = 'KmsEnvelopeError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    /** The AWS profile involved, when the error is about credentials (for "aws sso login"). */
    readonly profile?: string,
    /** What to do in the editor, where the hint names CLI flags or variables (the editor shows this instead). */
    readonly editorHint?: string,
  ) {
    super(message);
  }
}

/**
 * True for a KmsEnvelopeError from any bundle: the extension and its lazily loaded SDK bundle
 * each carry a copy of this class, so `instanceof` is not enough.
 */
export const isKmsEnvelopeError = (e: unknown): e is KmsEnvelopeError =>
  e instanceof KmsEnvelopeError || (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'KmsEnvelopeError' && typeof (e as { code?: unknown }).code === 'string');

export const formatError = (where: string, what: string): KmsEnvelopeError =>
  new KmsEnvelopeError('FORMAT', `${where}: ${what}`, 'The file is not a valid kms-envelope v1 file; restore it from version control.');

export const tamperError = (where: string): KmsEnvelopeError =>
  new KmsEnvelopeError(
    'TAMPERED',
    `${where} failed authentication: the file was modified outside kms-envelope or is corrupt`,
    'Nothing was decrypted. Restore the file from version control and compare the change.',
  );

/**
 * A file whose only change is LF turned into CRLF (git `core.autocrlf` on a clone without the
 * attributes `git setup` writes, an editor's line-ending setting): refused like any change, but
 * named, with the fix. Readers say it only after proving it (the document verifies with every CRLF
 * folded back to LF, or a whole file's first line, which no writer ends in CRLF).
 */
export const lineEndingsError = (where: string): KmsEnvelopeError =>
  new KmsEnvelopeError(
    'TAMPERED',
    `${where}: its line endings were converted from LF to CRLF after it was encrypted (git core.autocrlf, or an editor's line-ending setting); nothing else changed`,
    'Nothing was decrypted. Convert the file back to LF (in VS Code: the "CRLF" item of the status bar), or check it out again after `kms-envelope git setup`, which marks encrypted files so that git leaves their line endings alone.',
  );
