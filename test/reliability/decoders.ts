/**
 * Every decoder run on one input, with the verdict the reliability checks use: a typed
 * refusal, or success with exactly the values that were encrypted. Anything else (another
 * exception, different plaintext) is a finding.
 */
import { isKmsEnvelopeError } from '../../src/core/errors';
import { openDocument, splitDocument } from '../../src/core/envelope';
import { dotenvEntries } from '../../src/core/formats/dotenv';
import { findTokens, parseToken } from '../../src/core/formats/token';
import { parseHeader } from '../../src/core/header';
import { openFileStream } from '../../src/core/whole-file';
import { unwrap } from '../support/local-keyring';
import { DOTENV_PLAIN, FILE_PLAIN, sameValues, YAML_SECRETS } from './samples';

export type Verdict = { ok: true; outcome: 'refused' | 'same'; message?: string } | { ok: false; finding: string };

const refusedOr = (err: unknown): Verdict =>
  isKmsEnvelopeError(err) ? { ok: true, outcome: 'refused', message: err.message } : { ok: false, finding: `untyped ${(err as Error)?.name}: ${(err as Error)?.message?.slice(0, 120)}` };

/** Text decoders: the header parser, the dotenv lexer, the token scanner and the full open. */
export async function decodeText(text: string, kind: 'dotenv' | 'text'): Promise<Verdict> {
  try {
    dotenvEntries(text); // a lexer: must never throw
  } catch (err) {
    return { ok: false, finding: `lexer threw ${(err as Error)?.name}` };
  }
  try {
    for (const t of findTokens(text)) parseToken(text.slice(t.start, t.end)); // may refuse a near-miss token, typed
  } catch (err) {
    if (!isKmsEnvelopeError(err)) return refusedOr(err);
  }
  try {
    parseHeader(text);
  } catch (err) {
    if (!isKmsEnvelopeError(err)) return refusedOr(err);
  }
  try {
    const doc = splitDocument(text);
    if (!doc) return { ok: true, outcome: 'refused', message: 'line 1: not a kms-envelope file' };
    const out = await openDocument(doc, unwrap);
    if (kind === 'dotenv' ? sameValues(out.plaintext, DOTENV_PLAIN) : secretsInOrder(out.plaintext)) return { ok: true, outcome: 'same' };
    return { ok: false, finding: 'decrypted to different values' };
  } catch (err) {
    return refusedOr(err);
  }
}

function secretsInOrder(text: string): boolean {
  let at = 0;
  for (const s of YAML_SECRETS) {
    at = text.indexOf(s, at);
    if (at < 0) return false;
  }
  return findTokens(text).length === 0;
}

/** The whole-file decoder, fed in uneven pieces. */
export async function decodeFile(bytes: Buffer, expected: Buffer = FILE_PLAIN): Promise<Verdict> {
  try {
    const opened = await openFileStream(pieces(bytes), unwrap);
    const parts: Buffer[] = [];
    for await (const p of opened.plaintext) parts.push(p);
    return Buffer.concat(parts).equals(expected) ? { ok: true, outcome: 'same' } : { ok: false, finding: 'decrypted to different bytes' };
  } catch (err) {
    return refusedOr(err);
  }
}

async function* pieces(buf: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0, n = 1; i < buf.length; i += n, n = (n * 31 + 7) % 9000 + 1) yield buf.subarray(i, i + n);
}
