/**
 * Which keys encrypt which files: a committed rules file, `.kms-envelope.json`, like SOPS's
 * `creation_rules`, so that `.env.production` and `.env.staging` get their own keys and
 * encryption context without anyone remembering to pass them.
 *
 *     { "rules": [
 *         { "path": ".env.production", "keys": ["arn:aws:kms:eu-west-1:111122223333:key/…"], "context": { "env": "production" } },
 *         { "path": "services/*\/.env.staging", "keys": ["alias/staging"] } ] }
 *
 * The nearest rules file above a file applies (looked for up to the repository's root, where
 * `.git` is); its first matching rule wins. A `path` is a glob relative to the rules file's
 * folder (glob.ts). The file is committed, so it is untrusted: its size and shape are checked,
 * and its keys are used only where the user's allow-list accepts them (operations.ts).
 */
import { KmsEnvelopeError } from './errors';
import { matchesGlob } from './glob';
import { LIMITS } from './header';
import { readBounded } from './io';
import { findUp } from './find-up';

export const RULES_FILE = '.kms-envelope.json';
const MAX_RULES_BYTES = 64 * 1024;
const MAX_RULES = 200;

export interface Rule {
  readonly path: string;
  readonly keys: readonly string[];
  readonly context?: Readonly<Record<string, string>>;
}

export interface FoundRule {
  /** The rules file it came from. */
  readonly file: string;
  readonly rule: Rule;
}

const invalid = (file: string, what: string) =>
  new KmsEnvelopeError('FORMAT', `${file}: ${what}`, 'Fix the rules file: { "rules": [ { "path": "<glob>", "keys": ["<key ARN or alias>"], "context": { … } } ] }.');

/** Parses a rules file strictly: unknown fields, wrong types and oversized lists are refused. */
export function parseRules(text: string, file: string): Rule[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(file, 'not JSON');
  }
  const rules = (json as { rules?: unknown })?.rules;
  if (typeof json !== 'object' || json === null || Object.keys(json).some((k) => k !== 'rules') || !Array.isArray(rules)) throw invalid(file, 'expected an object with "rules": [ … ]');
  if (rules.length > MAX_RULES) throw invalid(file, `more than ${MAX_RULES} rules`);
  return rules.map((r: unknown, i) => {
    const where = `rule ${i + 1}`;
    const o = r as Record<string, unknown>;
    if (typeof r !== 'object' || r === null || Object.keys(o).some((k) => !['path', 'keys', 'context'].includes(k))) throw invalid(file, `${where}: expected "path", "keys" and optionally "context"`);
    if (typeof o.path !== 'string' || o.path === '' || o.path.startsWith('/') || o.path.split('/').includes('..')) throw invalid(file, `${where}: "path" must be a relative glob`);
    if (!Array.isArray(o.keys) || o.keys.length === 0 || o.keys.length > LIMITS.stanzas || o.keys.some((k) => typeof k !== 'string' || k.trim() === '')) {
      throw invalid(file, `${where}: "keys" must list 1 to ${LIMITS.stanzas} KMS keys`);
    }
    const ctx = o.context;
    if (ctx !== undefined && (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx) || Object.values(ctx).some((v) => typeof v !== 'string'))) {
      throw invalid(file, `${where}: "context" must map names to strings`);
    }
    return { path: o.path, keys: o.keys as string[], ...(ctx ? { context: ctx as Record<string, string> } : {}) };
  });
}

/** The first rule whose path matches `relPath` (slash-separated, relative to the rules file). */
export function matchRule(rules: readonly Rule[], relPath: string): Rule | undefined {
  return rules.find((r) => matchesGlob(r.path, relPath));
}

/** The nearest rules file above `file` (up to the repository root) and its rule for it, if any. */
export async function findRule(file: string): Promise<FoundRule | undefined> {
  const near = await findUp(file, RULES_FILE);
  if (!near) return undefined;
  const rules = parseRules((await readBounded(near.found, MAX_RULES_BYTES)).toString('utf8'), near.found);
  const rule = matchRule(rules, near.rel);
  return rule ? { file: near.found, rule } : undefined;
}
