import { createHash } from 'node:crypto';
import type { Random } from '../../src/core/cipher';
import { FileKey, makeFileKey } from '../../src/core/envelope';
import { defaultContext, Stanza } from '../../src/core/header';

/** Deterministic bytes (SHA-256 in counter mode over a label), for vectors and reproducible tests. */
export function seededRandom(label: string): Random {
  let counter = 0;
  return (n) => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i += 32) createHash('sha256').update(`${label}/${counter++}`).digest().copy(out, i);
    return out;
  };
}

export const VECTOR_DEK = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));
export const VECTOR_STANZA: Stanza = {
  type: 'aws-kms',
  keyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
  wrapped: Buffer.from('wrapped data key bytes as returned by KMS'),
  alias: 'alias/app',
};

/** A second key (another region and account), for the several-stanzas vector. */
export const VECTOR_STANZA_2: Stanza = {
  type: 'aws-kms',
  keyArn: 'arn:aws:kms:eu-west-1:444455556666:key/mrk-1234abcd12ab34cd56ef1234567890ab',
  wrapped: Buffer.from('the same data key wrapped under a second key'),
};

/** A file key that needs no KMS: for the pure format tests. */
export const testKey = (dek: Buffer = VECTOR_DEK): FileKey => makeFileKey(Buffer.from(dek), [VECTOR_STANZA], defaultContext({ project: 'demo' }));
export const unwrapTo = (dek: Buffer = VECTOR_DEK) => async (): Promise<Buffer> => Buffer.from(dek);

/** The IVs and salts of the FORMAT.md vectors: call k returns bytes 0x10·(k+1) + j. */
export function countingRandom(): Random {
  let k = 0;
  return (n) => {
    k++;
    return Buffer.from(Array.from({ length: n }, (_, j) => (0x10 * k + j) & 0xff));
  };
}
