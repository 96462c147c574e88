/**
 * An in-process stand-in for KMS's wrap/unwrap, for checks that run millions of decryptions
 * (fuzz, tamper): the data key is wrapped with AES-GCM under a fixed key, bound to the
 * stanza's key ARN and the encryption context like KMS binds them, so a changed stanza or
 * context fails to unwrap as it would against KMS. (The KMS-level behaviour itself is tested
 * against the local KMS server over HTTP.)
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { KmsEnvelopeError } from '../../src/core/errors';
import { contextJson, EncryptionContext, Header, Stanza } from '../../src/core/header';
import { FileKey, makeFileKey } from '../../src/core/envelope';
import { seededRandom, VECTOR_DEK, VECTOR_STANZA } from './fixtures';

const KEK = Buffer.alloc(32, 0x5a);
const aad = (arn: string, ctx: EncryptionContext) => Buffer.from(`${arn}\0${contextJson(ctx)}`);

export function wrap(dek: Buffer, keyArn: string, context: EncryptionContext): Stanza {
  const iv = seededRandom(`wrap/${keyArn}`)(12);
  const c = createCipheriv('aes-256-gcm', KEK, iv);
  c.setAAD(aad(keyArn, context));
  return { type: 'aws-kms', keyArn, wrapped: Buffer.concat([iv, c.update(dek), c.final(), c.getAuthTag()]) };
}

export async function unwrap(header: Pick<Header, 'stanzas' | 'context'>): Promise<Buffer> {
  for (const s of header.stanzas) {
    try {
      const d = createDecipheriv('aes-256-gcm', KEK, s.wrapped.subarray(0, 12));
      d.setAAD(aad(s.keyArn, header.context));
      d.setAuthTag(s.wrapped.subarray(s.wrapped.length - 16));
      return Buffer.concat([d.update(s.wrapped.subarray(12, s.wrapped.length - 16)), d.final()]);
    } catch {
      /* the next stanza */
    }
  }
  throw new KmsEnvelopeError('INVALID_CIPHERTEXT', `header key stanza: KMS could not unwrap the data key with ${header.stanzas[0]?.keyArn}: the wrapped key or its encryption context was changed`);
}

/** The fixed test data key, wrapped for the vector ARN: what the reliability samples use. */
export function keyringKey(context: EncryptionContext): FileKey {
  return makeFileKey(Buffer.from(VECTOR_DEK), [{ ...wrap(VECTOR_DEK, VECTOR_STANZA.keyArn, context), alias: 'alias/app' }], context);
}
