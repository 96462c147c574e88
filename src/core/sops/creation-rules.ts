/**
 * A repository's `.sops.yaml` (sops's config/config.go): the first `creation_rules` entry whose
 * `path_regex` matches the file's path relative to the config's folder chooses the keys and the
 * encryption rules of a new SOPS file. The nearest `.sops.yaml` above the file applies (looked
 * for up to the repository's root).
 *
 * The file is committed text: its patterns are refused when they could backtrack without bound,
 * its KMS keys are used only within the user's allow-list (the caller checks), and its
 * `aws_profile` is not used (a repository does not choose whose AWS identity acts).
 */
import { parse } from 'yaml';
import { KmsEnvelopeError } from '../errors';
import { readBounded } from '../io';
import { findUp } from '../find-up';
import { committedRegex } from './metadata';

export const SOPS_CONFIG = '.sops.yaml';
const MAX_CONFIG_BYTES = 256 * 1024;

/** The fields of a rule that become the new file's metadata (how its values are chosen for encryption). */
const CRYPT_FIELDS = ['unencrypted_suffix', 'encrypted_suffix', 'unencrypted_regex', 'encrypted_regex', 'unencrypted_comment_regex', 'encrypted_comment_regex', 'mac_only_encrypted'] as const;

export interface CreationRule {
  readonly config: string;
  readonly kms: readonly { readonly arn: string; readonly context?: Record<string, string> }[];
  readonly crypt: Readonly<Record<string, string | boolean>>;
  /** Recipients of other kinds the rule names (pgp, age, …), which this product cannot add. */
  readonly others: readonly string[];
}

const invalid = (file: string, what: string) => new KmsEnvelopeError('FORMAT', `${file}: ${what}`, 'Fix .sops.yaml (see the sops documentation for creation_rules).');

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function kmsOf(v: unknown, file: string): { arn: string; context?: Record<string, string> }[] {
  if (v === undefined || v === null || v === '') return [];
  const items = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v : undefined;
  if (!items) throw invalid(file, 'kms is not a list or a comma-separated string');
  return items.map((k) => {
    if (typeof k === 'string') return { arn: k.trim().split('+')[0] };
    if (!isRecord(k) || typeof k.arn !== 'string') throw invalid(file, 'a kms entry without arn');
    const context = isRecord(k.context) ? Object.fromEntries(Object.entries(k.context).map(([n, x]) => [n, String(x)])) : undefined;
    return { arn: k.arn, ...(context ? { context } : {}) };
  }).filter((k) => k.arn !== '');
}

/** The rule of a parsed config for a path relative to it (slash-separated). */
export function matchCreationRule(config: unknown, rel: string, file: string): CreationRule | undefined {
  if (!isRecord(config)) throw invalid(file, 'not a map');
  const rules = config.creation_rules;
  if (rules === undefined || rules === null) return undefined;
  if (!Array.isArray(rules)) throw invalid(file, 'creation_rules is not a list');
  for (const [i, r] of rules.entries()) {
    if (!isRecord(r)) throw invalid(file, `creation rule ${i + 1} is not a map`);
    const re = committedRegex(r.path_regex, file, `creation rule ${i + 1}: path_regex`);
    if (re && !re.test(rel)) continue;
    const groups = Array.isArray(r.key_groups) ? r.key_groups.filter(isRecord) : [];
    if (groups.length > 1) throw new KmsEnvelopeError('USAGE', `${file}: creation rule ${i + 1} splits the data key between key groups (Shamir)`, 'Not supported yet: create this file with sops.');
    const kms = [...kmsOf(r.kms, file), ...groups.flatMap((g) => kmsOf(g.kms, file))];
    const others = ['pgp', 'age', 'gcp_kms', 'azure_keyvault', 'hc_vault_transit_uri'].filter((k) => r[k] || groups.some((g) => g[k]));
    const crypt: Record<string, string | boolean> = {};
    for (const f of CRYPT_FIELDS) {
      const v = r[f];
      if (v === undefined || v === null || v === '' || v === false) continue;
      if (f === 'mac_only_encrypted' ? v !== true : typeof v !== 'string') throw invalid(file, `creation rule ${i + 1}: ${f} has the wrong type`);
      if (f.endsWith('_regex')) committedRegex(v, file, `creation rule ${i + 1}: ${f}`);
      crypt[f] = v as string | boolean;
    }
    return { config: file, kms, crypt, others };
  }
  return undefined;
}

/** The nearest `.sops.yaml` above `file` (up to the repository root) and its rule for the file, if any. */
export async function findCreationRule(file: string): Promise<CreationRule | undefined> {
  const near = await findUp(file, SOPS_CONFIG);
  if (!near) return undefined;
  let config: unknown;
  try {
    config = parse((await readBounded(near.found, MAX_CONFIG_BYTES)).toString('utf8'), { maxAliasCount: 0 });
  } catch (err) {
    if (err instanceof KmsEnvelopeError) throw err;
    throw invalid(near.found, 'not valid YAML');
  }
  return matchCreationRule(config, near.rel, near.found);
}
