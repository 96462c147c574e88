/**
 * The user's allow-list of KMS keys: exact key ARNs, or patterns where `*` matches any run of
 * characters (`arn:aws:kms:*:111122223333:key/*`). Like the Encryption SDK's discovery filter:
 * a key named only by a file (which a pull request can edit) is never used unless it matches.
 *
 * There is no "allow everything": when the user lists nothing, the default is the keys the user
 * chose (`--key`, KMS_ENVELOPE_KEY, the selected key, keys allowed once from a warning), not
 * their accounts: in a shared account anyone who can create a key could otherwise forge files the
 * user's tools accept (security review F6). A list the user writes replaces that default; an
 * account pattern in it trusts every key of that account. With neither, nothing is allowed.
 */
import { KEY_ARN } from '../header';

export type AllowList = readonly string[];

const toRegExp = (pattern: string): RegExp =>
  new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`);

export const isAllowed = (keyArn: string, allow: AllowList): boolean =>
  // Stryker disable next-line StringLiteral: equivalent — a pattern without '*' made a regular expression matches exactly itself (everything else is escaped)
  allow.some((p) => (p.includes('*') ? toRegExp(p).test(keyArn) : p === keyArn));

export const parseAllowList = (text: string | undefined): string[] =>
  // Stryker disable next-line Regex: equivalent — splitting on single separators leaves more empty items, which are dropped all the same
  (text ?? '').split(/[,\s]+/).filter(Boolean);

const ACCOUNT_OF = /^arn:(aws[a-z-]*):kms:[a-z0-9-]+:(\d{12}):(?:key|alias)\//;

/** The account of a key or alias ARN, for messages and pickers. */
export const accountOf = (arn: string): string | undefined => ACCOUNT_OF.exec(arn)?.[2];

/** The alias a user's key reference names (`alias/x`, or an alias ARN), kept as a stanza's label. */
export const aliasOf = (ref: string): string | undefined =>
  ref.startsWith('alias/') ? ref : ref.includes(':alias/') ? ref.slice(ref.indexOf(':alias/') + 1) : undefined;

export const isKeyArn = (ref: string): boolean => KEY_ARN.test(ref);

export const NOTHING_ALLOWED_EDITOR_HINT =
  'Choose your key (KMS Envelope: Select KMS Key): that key is then allowed. Or list keys or accounts in the user setting kmsEnvelope.allowedKeys (e.g. "arn:aws:kms:*:111122223333:key/*").';

export const NOTHING_ALLOWED_HINT =
  'Name the key you use (--key or KMS_ENVELOPE_KEY; in VS Code, KMS Envelope: Select KMS Key): that key is then allowed. ' +
  'Or list keys or accounts (--allowed-keys / KMS_ENVELOPE_ALLOWED_KEYS, e.g. "arn:aws:kms:*:111122223333:key/*"; in VS Code the user setting kmsEnvelope.allowedKeys).';
