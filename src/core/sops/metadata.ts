/**
 * The `sops` metadata of a file, read strictly from committed text (stores/stores.go): which
 * values are encrypted (one of the suffix/regex rules, `_unencrypted` by default, and the comment
 * rules), the MAC and its `lastmodified`, and the recipients. Of the recipients only AWS KMS
 * entries are used here (as stanzas, within the user's allow-list); PGP, age, GCP, Azure and
 * Vault entries are kept untouched in the file for their holders.
 *
 * A committed file chooses none of the user's credentials: an entry's `aws_profile` and `role`
 * are kept as they are (sops users keep them) but not used, the user's own profile is (the same
 * rule as for workspace settings: text from a repository never picks whose AWS identity acts).
 */
import { KmsEnvelopeError } from '../errors';
import type { EncryptionContext, Stanza } from '../header';
import { fromB64 } from '../bytes';

/** One AWS KMS recipient of the data key. */
export interface KmsEntry {
  /** A key or alias ARN, as the file says it: resolved and checked against the allow-list before use. */
  readonly arn: string;
  readonly wrapped: Buffer;
  readonly context: EncryptionContext;
  readonly role?: string;
  readonly profile?: string;
}

export interface CryptRules {
  readonly unencryptedSuffix?: string;
  readonly encryptedSuffix?: string;
  readonly unencryptedRegex?: RegExp;
  readonly encryptedRegex?: RegExp;
  readonly unencryptedCommentRegex?: RegExp;
  readonly encryptedCommentRegex?: RegExp;
  readonly macOnlyEncrypted: boolean;
}

export interface SopsMetadata {
  readonly kms: readonly KmsEntry[];
  /** Recipients this product cannot use (pgp, age, gcp_kms, azure_kv, hc_vault): counted for messages. */
  readonly others: number;
  readonly rules: CryptRules;
  /** `lastmodified` as SOPS formats it for the MAC's additional data (RFC 3339, whole seconds). */
  readonly lastModified: string;
  readonly mac: string;
  readonly version: string;
}

const bad = (where: string, what: string): KmsEnvelopeError =>
  new KmsEnvelopeError('FORMAT', `${where}: ${what}`, 'The file is not a valid SOPS file; restore it from version control.');

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Go's time.Format(time.RFC3339) of a parsed RFC 3339 time: fractions dropped, a zero offset written Z. */
export function goRfc3339(text: string, where: string): string {
  const m = RFC3339.exec(text);
  if (!m || Number.isNaN(Date.parse(text))) throw bad(where, `lastmodified is not an RFC 3339 time ("${text.slice(0, 40)}")`);
  return m[1] + (m[2] === '+00:00' || m[2] === '-00:00' ? 'Z' : m[2]);
}

const MAX_PATTERN = 200;
/** The longest key a committed pattern is tried on: a pattern runs in the editor on text from the file. */
export const MAX_RULE_KEY = 1024;

/**
 * A committed pattern, as a JavaScript regular expression with the meaning Go's RE2 gives it for
 * the patterns SOPS users write. Patterns that could backtrack without bound (a quantified group
 * that holds a quantifier or an alternation, a backreference, a lookaround) are refused: RE2
 * runs in linear time, JavaScript does not, and a file must not be able to hang the editor.
 */
export function committedRegex(pattern: unknown, where: string, field: string): RegExp | undefined {
  if (pattern === undefined || pattern === null || pattern === '') return undefined;
  if (typeof pattern !== 'string' || pattern.length > MAX_PATTERN) throw bad(where, `${field} is not a pattern of at most ${MAX_PATTERN} characters`);
  let source = pattern;
  let flags = '';
  if (source.startsWith('(?i)')) [source, flags] = [source.slice(4), 'i'];
  const unbounded = source.replace(/\\./g, '').replace(/\[[^\]]*\]/g, 'x').match(/[*+]|\{\d+,\}/g)?.length ?? 0;
  if (/\\[1-9k]|\(\?[=!<]/.test(source) || /\((?:[^()\\]|\\.)*[*+?{|](?:[^()\\]|\\.)*\)[*+?{]/.test(source) || /\)[*+{][*+?{]/.test(source) || unbounded > 2) {
    throw bad(where, `${field} "${pattern}" is a pattern that can take exponential time (a repeated group, a backreference, a lookaround, or more than two * or +); write it more simply`);
  }
  try {
    return new RegExp(source, flags);
  } catch {
    throw bad(where, `${field} "${pattern}" is not a regular expression`);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown, where: string, field: string): string => {
  if (typeof v !== 'string') throw bad(where, `${field} is missing or not a string`);
  return v;
};
const optionalText = (v: unknown, where: string, field: string): string | undefined => (v === undefined || v === null || v === '' ? undefined : text(v, where, field));

const OTHER_RECIPIENTS = ['pgp', 'age', 'gcp_kms', 'azure_kv', 'hc_vault'] as const;

function kmsEntries(list: unknown, where: string): KmsEntry[] {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw bad(where, 'kms is not a list');
  return list.map((e, i) => {
    const at = `kms entry ${i + 1}`;
    if (!isRecord(e)) throw bad(where, `${at} is not a map`);
    const arn = text(e.arn, where, `${at}: arn`);
    if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key|alias)\/[A-Za-z0-9/_-]+$/.test(arn)) throw bad(where, `${at}: arn is not a KMS key or alias ARN`);
    const wrapped = fromB64(text(e.enc, where, `${at}: enc`));
    if (!wrapped || wrapped.length === 0 || wrapped.length > 6144) throw bad(where, `${at}: enc is not a KMS ciphertext blob`);
    const context: Record<string, string> = {};
    if (e.context !== undefined && e.context !== null) {
      if (!isRecord(e.context)) throw bad(where, `${at}: context is not a map`);
      for (const [k, v] of Object.entries(e.context)) context[k] = text(v, where, `${at}: context ${k}`);
    }
    return { arn, wrapped, context, role: optionalText(e.role, where, `${at}: role`), profile: optionalText(e.aws_profile, where, `${at}: aws_profile`) };
  });
}

const countOthers = (m: Record<string, unknown>): number =>
  OTHER_RECIPIENTS.reduce((n, k) => n + (Array.isArray(m[k]) ? (m[k] as unknown[]).length : 0), 0);

/** Reads the metadata map of a file (already unflattened for dotenv and INI). */
export function readMetadata(m: unknown, where: string): SopsMetadata {
  if (!isRecord(m)) throw bad(where, 'the sops metadata is not a map');
  let kms = kmsEntries(m.kms, where);
  let others = countOthers(m);
  if (m.key_groups !== undefined && m.key_groups !== null && !(Array.isArray(m.key_groups) && m.key_groups.length === 0)) {
    if (!Array.isArray(m.key_groups)) throw bad(where, 'key_groups is not a list');
    if (kms.length || others) throw bad(where, 'both key_groups and top-level keys');
    if (m.key_groups.length > 1) {
      throw new KmsEnvelopeError('USAGE', `${where}: the data key is split between ${m.key_groups.length} key groups (Shamir)`, 'Files with more than one key group are not supported yet: decrypt this one with sops.');
    }
    const group = m.key_groups[0];
    if (!isRecord(group)) throw bad(where, 'a key group is not a map');
    kms = kmsEntries(group.kms, where);
    others = countOthers(group);
  }
  const rules = [m.unencrypted_suffix, m.encrypted_suffix, m.unencrypted_regex, m.encrypted_regex, m.unencrypted_comment_regex, m.encrypted_comment_regex].filter((r) => r !== undefined && r !== null && r !== '');
  if (rules.length > 1) throw bad(where, 'more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex and unencrypted_comment_regex');
  const macOnly = m.mac_only_encrypted;
  if (macOnly !== undefined && macOnly !== null && typeof macOnly !== 'boolean') throw bad(where, 'mac_only_encrypted is not true or false');
  return {
    kms,
    others,
    rules: {
      unencryptedSuffix: rules.length === 0 ? '_unencrypted' : optionalText(m.unencrypted_suffix, where, 'unencrypted_suffix'),
      encryptedSuffix: optionalText(m.encrypted_suffix, where, 'encrypted_suffix'),
      unencryptedRegex: committedRegex(m.unencrypted_regex, where, 'unencrypted_regex'),
      encryptedRegex: committedRegex(m.encrypted_regex, where, 'encrypted_regex'),
      unencryptedCommentRegex: committedRegex(m.unencrypted_comment_regex, where, 'unencrypted_comment_regex'),
      encryptedCommentRegex: committedRegex(m.encrypted_comment_regex, where, 'encrypted_comment_regex'),
      macOnlyEncrypted: macOnly === true,
    },
    lastModified: goRfc3339(text(m.lastmodified, where, 'lastmodified'), where),
    mac: text(m.mac, where, 'mac'),
    version: typeof m.version === 'string' ? m.version : String(m.version ?? ''),
  };
}

/**
 * Whether a value at `path` is encrypted (sops.go shouldBeEncrypted). `comments` holds, per level,
 * the comments seen since the last value at that level; `isComment` marks a comment itself.
 */
export function shouldEncrypt(rules: CryptRules, path: readonly string[], comments: readonly (readonly string[])[], isComment: boolean): boolean {
  const test = (re: RegExp, s: string): boolean => s.length <= MAX_RULE_KEY && re.test(s);
  let encrypted = true;
  if (rules.unencryptedSuffix && path.some((k) => k.endsWith(rules.unencryptedSuffix!))) encrypted = false;
  if (rules.encryptedSuffix) encrypted = path.some((k) => k.endsWith(rules.encryptedSuffix!));
  if (rules.unencryptedRegex && path.some((k) => test(rules.unencryptedRegex!, k))) encrypted = false;
  if (rules.encryptedRegex) encrypted = path.some((k) => test(rules.encryptedRegex!, k));
  if (rules.unencryptedCommentRegex && comments.some((level) => level.some((c) => test(rules.unencryptedCommentRegex!, c)))) encrypted = false;
  if (rules.encryptedCommentRegex) {
    const last = comments.length - 1;
    // a comment that matches is not itself encrypted; only what follows it is
    encrypted = comments.some((level, i) => level.some((c, j) => !(isComment && i === last && j === level.length - 1) && test(rules.encryptedCommentRegex!, c)));
  }
  return encrypted;
}

/** The stanzas of the KMS entries, grouped by encryption context (each group is one unwrap). */
export function stanzaGroups(entries: readonly (KmsEntry & { keyArn: string })[]): { context: EncryptionContext; stanzas: Stanza[] }[] {
  const groups = new Map<string, { context: EncryptionContext; stanzas: Stanza[] }>();
  for (const e of entries) {
    const id = JSON.stringify(Object.entries(e.context).sort());
    if (!groups.has(id)) groups.set(id, { context: e.context, stanzas: [] });
    groups.get(id)!.stanzas.push({ type: 'aws-kms', keyArn: e.keyArn, wrapped: e.wrapped, ...(e.arn.includes(':alias/') ? { alias: e.arn.slice(e.arn.indexOf(':alias/') + 1) } : {}) });
  }
  return [...groups.values()];
}
