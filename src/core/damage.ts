/**
 * Damaged is not plain: a text whose kms-envelope header is gone or broken but which still holds
 * what kms-envelope writes (value tokens, header lines) was encrypted and lost its header. Taking
 * it for a plain file would invite encrypting it again (programs would then get token strings as
 * their secrets) or reading token strings as values; every reader and writer says "damaged:
 * restore it" instead. Small and pure, for the editor's guard as much as the CLI.
 */
import { KmsEnvelopeError } from './errors';
import { isDotenvName } from './formats/comment-syntax';
import { TOKEN_MARK } from './formats/token';
import { readHead } from './io';

/** How much of a file without a header is looked at for remnants. */
export const REMNANT_BYTES = 64 * 1024;

/** A header line of any store (`# kms-envelope v1`, a stanza, the context, commitment or MAC line), in `#` or `//` comments. */
const HEADER_LINE = /^\uFEFF?(?:#|\/\/) (?:kms-envelope v\d+(?: \S+)?\r?$|-> aws-kms arn:|context \{"|(?:commitment|mac) [A-Za-z0-9+/]{40,}={0,2}\r?$)/m;

/**
 * What of kms-envelope a text without a valid header still holds, in words; null when nothing (a
 * plain text). Tokens alone count in a `.env` and where a selection is sealed; in any other file
 * they may be an example in documentation, so there only header lines do (`tokens: false`).
 */
export function remnantsOf(text: string, opts: { tokens: boolean } = { tokens: true }): string | null {
  const tokens = opts.tokens && text.includes(TOKEN_MARK);
  const header = HEADER_LINE.test(text);
  if (tokens && header) return 'encrypted values and header lines';
  if (tokens) return 'encrypted values (ENC[kmsenv:…])';
  if (header) return 'kms-envelope header lines';
  return null;
}

/** The error for a damaged file: what it holds, and how to get it back. */
export const damagedError = (file: string, remnants: string): KmsEnvelopeError =>
  new KmsEnvelopeError(
    'FORMAT',
    `${file} is damaged: it holds ${remnants} but no valid kms-envelope header`,
    `Nothing was read or changed. Restore the header or the whole file from version control (git checkout -- ${file}, or git diff to see what changed); do not encrypt it again.`,
  );

/** Throws the damaged error when a text without a header still holds kms-envelope's remnants. */
export function refuseDamaged(file: string, text: string, opts?: { tokens: boolean }): void {
  const remnants = remnantsOf(text, opts);
  if (remnants) throw damagedError(file, remnants);
}

/** The remnants in a file's first bytes (tokens count in a `.env` unless told otherwise); null for none, or for a file that cannot be read. */
export async function remnantsOfFile(file: string, opts: { tokens: boolean } = { tokens: isDotenvName(file) }): Promise<string | null> {
  // Stryker disable next-line StringLiteral: equivalent — any text without kms-envelope's marks has no remnants, as the empty one
  return remnantsOf(await readHead(file, REMNANT_BYTES).catch(() => ''), opts);
}
