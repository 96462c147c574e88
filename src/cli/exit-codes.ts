import type { ErrorCode } from '../core/errors';

/** Distinct exit codes, so that scripts can tell a tampered file from a missing permission. */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  format: 3,
  credentials: 4,
  key: 5,
  unavailable: 6,
  notAllowed: 7,
} as const;

export const exitCodeOf = (code: ErrorCode): number =>
  ({
    USAGE: EXIT.usage,
    CONFIG: EXIT.usage,
    FORMAT: EXIT.format,
    TAMPERED: EXIT.format,
    NOT_ENCRYPTED: EXIT.format,
    ALREADY_ENCRYPTED: EXIT.format,
    NO_CREDENTIALS: EXIT.credentials,
    SSO_EXPIRED: EXIT.credentials,
    ACCESS_DENIED: EXIT.credentials,
    KEY_UNUSABLE: EXIT.key,
    INVALID_CIPHERTEXT: EXIT.key,
    KMS_UNAVAILABLE: EXIT.unavailable,
    KEY_NOT_ALLOWED: EXIT.notAllowed,
    CANCELLED: EXIT.unavailable,
  })[code];
