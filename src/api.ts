/**
 * The Node API: load an encrypted `.env` at start-up.
 *
 *     const { config } = require('kms-envelope');
 *     await config({ path: '.env.production', profile: 'deploy' });
 *
 * Values are exactly what `dotenv.parse` returns for the plaintext file.
 */
import { parseAllowList } from './core/kms/allow-list';
import { KmsKeyProvider } from './core/kms/aws-kms';
import { loadEnvFiles } from './core/operations';

export { KmsEnvelopeError } from './core/errors';

export interface LoadOptions {
  /** One file or several (later ones win). Default `.env`. */
  readonly path?: string | readonly string[];
  readonly profile?: string;
  readonly region?: string;
  /** KMS key ARNs or patterns allowed to decrypt; default: any key the file names. */
  readonly allowedKeys?: readonly string[];
}

/** The variables of the file(s), decrypted; process.env is left alone. */
export async function load(options: LoadOptions = {}): Promise<Record<string, string>> {
  const files = typeof options.path === 'string' ? [options.path] : options.path ?? ['.env'];
  const kms = new KmsKeyProvider({
    profile: options.profile,
    region: options.region,
    allowedKeys: options.allowedKeys ?? parseAllowList(process.env.KMS_ENVELOPE_ALLOWED_KEYS),
  });
  try {
    return await loadEnvFiles(files, kms);
  } finally {
    kms.cache.clear();
    kms.destroy();
  }
}

/** Loads the file(s) into process.env; like dotenv, existing variables win unless `override`. */
export async function config(options: LoadOptions & { override?: boolean } = {}): Promise<Record<string, string>> {
  const values = await load(options);
  for (const [k, v] of Object.entries(values)) if (options.override || process.env[k] === undefined) process.env[k] = v;
  return values;
}
