/**
 * The Node API: load an encrypted `.env` at start-up.
 *
 *     const { config } = require('kms-envelope');
 *     await config({ path: '.env.production', profile: 'deploy', keys: ['alias/app'] });
 *
 * Values are exactly what `dotenv.parse` returns for the plaintext file. The hostile-repository
 * rules apply: a file without a kms-envelope header is refused unless `allowPlaintext`, only
 * allowed KMS keys are used, and `config` neither overrides variables already set nor takes
 * variables that change what code runs (PATH, LD_*, NODE_OPTIONS …) unless asked to.
 */
import { runningAgent } from './core/agent/client';
import { injectEnv } from './core/env-policy';
import { parseAllowList } from './core/kms/allow-list';
import { KmsKeyProvider } from './core/kms/aws-kms';
import { loadEnvFiles } from './core/operations';

export { KmsEnvelopeError } from './core/errors';

export interface LoadOptions {
  /** One file or several (later ones win). Default `.env`. */
  readonly path?: string | readonly string[];
  readonly profile?: string;
  readonly region?: string;
  /**
   * The keys you use (ARN, id or alias): keys of their accounts may decrypt. Default: the
   * KMS_ENVELOPE_KEY environment variable.
   */
  readonly keys?: readonly string[];
  /** More KMS key ARNs or patterns allowed to decrypt. Default: KMS_ENVELOPE_ALLOWED_KEYS. */
  readonly allowedKeys?: readonly string[];
  /** Accept files without a kms-envelope header (their values are then not authenticated). */
  readonly allowPlaintext?: boolean;
  /** Let a SOPS file's aws_profile choose the AWS profile for its key, as sops does. Default: KMS_ENVELOPE_SOPS_PROFILES=1. */
  readonly sopsProfiles?: boolean;
}

/** The variables of the file(s), decrypted; process.env is left alone. */
export async function load(options: LoadOptions = {}): Promise<Record<string, string>> {
  const files = typeof options.path === 'string' ? [options.path] : options.path ?? ['.env'];
  const kms = new KmsKeyProvider({
    profile: options.profile,
    region: options.region,
    chosenKeys: options.keys ?? parseAllowList(process.env.KMS_ENVELOPE_KEY),
    allowedKeys: options.allowedKeys ?? parseAllowList(process.env.KMS_ENVELOPE_ALLOWED_KEYS),
    agent: runningAgent(),
    fileProfiles: options.sopsProfiles ?? process.env.KMS_ENVELOPE_SOPS_PROFILES === '1',
  });
  try {
    return await loadEnvFiles(files, kms, { allowPlaintext: options.allowPlaintext });
  } finally {
    kms.cache.clear();
    kms.destroy();
  }
}

export interface ConfigOptions extends LoadOptions {
  /** Replace variables already set (dotenv's `override`). */
  readonly override?: boolean;
  /** Names to take from the file although they change what code runs (PATH, LD_*, NODE_OPTIONS …). */
  readonly allowEnv?: readonly string[];
}

/**
 * Loads the file(s) into process.env; like dotenv, existing variables win unless `override`.
 * Returns every value of the file(s), as `load` does.
 */
export async function config(options: ConfigOptions = {}): Promise<Record<string, string>> {
  const values = await load(options);
  injectEnv(process.env, values, { override: options.override, allow: options.allowEnv });
  return values;
}
