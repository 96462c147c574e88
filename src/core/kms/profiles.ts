/**
 * The profiles of the user's shared AWS config and credentials files, with what kind of
 * credentials each resolves to, for the profile picker. Parsing is the SDK's own
 * (@smithy/shared-ini-file-loader), so the picker sees what the provider chain will.
 */
import { loadSharedConfigFiles } from '@smithy/shared-ini-file-loader';

export type ProfileKind = 'sso' | 'role' | 'process' | 'static' | 'web-identity' | 'other';

export interface ProfileInfo {
  readonly name: string;
  readonly kind: ProfileKind;
  readonly region?: string;
}

type Section = Record<string, string | undefined>;

const kindOf = (s: Section): ProfileKind =>
  s.sso_session || s.sso_start_url
    ? 'sso'
    : s.role_arn && s.web_identity_token_file
      ? 'web-identity'
      : s.role_arn
        ? 'role'
        : s.credential_process
          ? 'process'
          : s.aws_access_key_id
            ? 'static'
            : 'other';

/** The config file's other sections, which the SDK keeps under their type (`[sso-session corp]` is `sso-session.corp`). */
const NOT_A_PROFILE = /^(?:sso-session|services)\./;

export async function listProfiles(): Promise<ProfileInfo[]> {
  const { configFile, credentialsFile } = await loadSharedConfigFiles({ ignoreCache: true });
  const profiles = Object.keys(configFile).filter((name) => !NOT_A_PROFILE.test(name));
  const names = [...new Set([...profiles, ...Object.keys(credentialsFile)])].sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b)));
  return names.map((name) => {
    const merged: Section = { ...(credentialsFile[name] ?? {}), ...(configFile[name] ?? {}) };
    return { name, kind: kindOf(merged), ...(merged.region ? { region: merged.region } : {}) };
  });
}

/**
 * The KMS endpoint a profile configures (`endpoint_url` in its `services` section, or its own
 * `endpoint_url`), for a profile chosen by name: the SDK applies these only to the profile named
 * by AWS_PROFILE, not to a client's `profile` option. Environment settings keep precedence and
 * are left to the SDK. Never read from an encrypted file.
 */
export async function configuredKmsEndpoint(profile: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (!profile || env.AWS_ENDPOINT_URL_KMS || env.AWS_ENDPOINT_URL || env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true') return undefined;
  const { configFile } = await loadSharedConfigFiles({ ignoreCache: true });
  const section: Section = configFile[profile] ?? {};
  const services: Section = (section.services && configFile[`services.${section.services}`]) || {};
  return services['kms.endpoint_url'] ?? section.endpoint_url;
}
