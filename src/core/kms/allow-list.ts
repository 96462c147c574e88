/**
 * The user's allow-list of KMS keys: exact key ARNs, or patterns where `*` matches any run of
 * characters (`arn:aws:kms:*:111122223333:key/*`). Like the Encryption SDK's discovery filter:
 * a key named only by a file (which a pull request can edit) is never used unless it matches.
 * An empty list allows every key for decryption, and nothing beyond the user's own key for
 * wrapping (see KmsKeyProvider).
 */
export type AllowList = readonly string[];

const toRegExp = (pattern: string): RegExp =>
  new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`);

export function isAllowed(keyArn: string, allow: AllowList): boolean {
  return allow.length === 0 || allow.some((p) => (p.includes('*') ? toRegExp(p).test(keyArn) : p === keyArn));
}

export const parseAllowList = (text: string | undefined): string[] =>
  (text ?? '')
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
