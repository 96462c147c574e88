import { KeyService } from '../../src/core/kms/key-service';
import { VECTOR_DEK, VECTOR_STANZA } from './fixtures';

/**
 * `inner`, with every data key it makes or unwraps kept in `deks`: the very buffers the caller
 * gets, so a test can see whether the caller wiped them when it was done.
 */
export function recordingDeks(inner: KeyService): { svc: KeyService; deks: Buffer[] } {
  const deks: Buffer[] = [];
  const svc: KeyService = {
    generate: async (keys, context) => {
      const made = await inner.generate(keys, context);
      deks.push(made.dek);
      return made;
    },
    reEncrypt: (from, key, context) => inner.reEncrypt(from, key, context),
    allows: (arn) => inner.allows(arn),
    resolve: (key) => inner.resolve(key),
    unwrapWith: async (header) => {
      const unwrapped = await inner.unwrapWith(header);
      deks.push(unwrapped.dek);
      return unwrapped;
    },
  };
  return { svc, deks };
}

/** `inner`, whose unwrapping fails with `err` (a provider's bug, or a failure nobody mapped). */
export const failingUnwrap = (inner: KeyService, err: unknown): KeyService => ({ ...recordingDeks(inner).svc, unwrapWith: () => Promise.reject(err) });

export const allWiped = (deks: readonly Buffer[]): boolean => deks.every((dek) => dek.every((b) => b === 0));

/**
 * KMS left out: every data key is a copy of `dek` (the test vectors' by default), wrapped in the
 * vectors' stanza, and every key is allowed. For measuring what the envelope costs beside KMS.
 */
export const fixedKeyService = (dek: Buffer = VECTOR_DEK): KeyService => ({
  generate: async () => ({ dek: Buffer.from(dek), stanzas: [VECTOR_STANZA] }),
  unwrapWith: async () => ({ dek: Buffer.from(dek), via: VECTOR_STANZA }),
  reEncrypt: async () => VECTOR_STANZA,
  allows: async () => true,
  resolve: async (key) => key,
});
