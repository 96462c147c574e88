/**
 * A local KMS plus temporary AWS config and credentials files, wired into the environment the
 * way a user's machine would be (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, and the SDK's
 * standard AWS_ENDPOINT_URL_KMS), so that the real SDK and provider chain reach the server.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { LocalKms } from '../local-kms/server';
export { LOCAL_ACCOUNT_KEYS, OTHER_ACCOUNT } from './accounts';

export const ADMIN = { accessKeyId: 'AKIAADMIN0000000LOCAL', secretAccessKey: 'admin-secret-key-for-local-kms-tests' };
export const READER = { accessKeyId: 'AKIAREADER000000LOCAL', secretAccessKey: 'reader-secret-key-for-local-kms-tests' };
export const NOBODY = { accessKeyId: 'AKIANOBODY000000LOCAL', secretAccessKey: 'nobody-secret-key-for-local-kms-tests' };
/** A role of the local account (STS AssumeRole on the same server): what a SOPS entry's `role` names. */
export const ROLE_ARN = 'arn:aws:iam::000000000000:role/sops-decrypt';
export const PROCESS = { accessKeyId: 'AKIAPROCESS00000LOCAL', secretAccessKey: 'process-secret-key-for-local-kms-tests', sessionToken: 'process-session-token' };

export interface Sandbox {
  readonly kms: LocalKms;
  readonly dir: string;
  readonly keyArn: string;
  readonly otherKeyArn: string;
  readonly env: Record<string, string>;
  /** Applies `env` to process.env (restored by `close`). */
  apply(): void;
  close(): Promise<void>;
}

const ENV_KEYS = ['AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_ENDPOINT_URL_KMS', 'AWS_ENDPOINT_URL_STS', 'AWS_REGION', 'AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_DEFAULT_REGION', 'AWS_EC2_METADATA_DISABLED'];

export async function startSandbox(): Promise<Sandbox> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kms-envelope-test-'));
  const kms = new LocalKms({
    accounts: [ADMIN, { ...READER, actions: ['Decrypt', 'DescribeKey'] }, { ...NOBODY, actions: [] }, PROCESS],
    adminToken: randomBytes(16).toString('hex'),
    // a role the NOBODY credentials (no KMS action of their own) may assume, which may decrypt
    roles: [{ arn: ROLE_ARN, actions: ['Decrypt', 'DescribeKey'], assumableBy: [NOBODY.accessKeyId] }],
  });
  const url = await kms.start();
  const keyArn = kms.createKey('test key');
  const otherKeyArn = kms.createKey('second key');
  kms.createAlias('alias/test', keyArn);
  kms.createAlias('alias/other', otherKeyArn);

  const ssoCache = path.join(dir, 'home', '.aws', 'sso', 'cache');
  mkdirSync(ssoCache, { recursive: true });
  const startUrl = 'https://example.awsapps.com/start';
  writeFileSync(
    path.join(ssoCache, `${createHash('sha1').update(startUrl).digest('hex')}.json`),
    JSON.stringify({ startUrl, region: 'us-east-1', accessToken: 'expired-token', expiresAt: '2020-01-01T00:00:00Z' }),
  );
  const helper = path.join(dir, 'credential-process.js');
  writeFileSync(helper, `process.stdout.write(JSON.stringify({Version:1,AccessKeyId:${JSON.stringify(PROCESS.accessKeyId)},SecretAccessKey:${JSON.stringify(PROCESS.secretAccessKey)},SessionToken:${JSON.stringify(PROCESS.sessionToken)}}))`);
  chmodSync(helper, 0o700);

  const credentials = path.join(dir, 'credentials');
  writeFileSync(
    credentials,
    [
      `[default]\naws_access_key_id = ${ADMIN.accessKeyId}\naws_secret_access_key = ${ADMIN.secretAccessKey}\n`,
      `[reader]\naws_access_key_id = ${READER.accessKeyId}\naws_secret_access_key = ${READER.secretAccessKey}\n`,
      `[nobody]\naws_access_key_id = ${NOBODY.accessKeyId}\naws_secret_access_key = ${NOBODY.secretAccessKey}\n`,
      `[svc]\naws_access_key_id = ${ADMIN.accessKeyId}\naws_secret_access_key = ${ADMIN.secretAccessKey}\n`,
    ].join('\n'),
  );
  const config = path.join(dir, 'config');
  writeFileSync(
    config,
    [
      `[default]\nregion = us-east-1\n`,
      `[profile reader]\nregion = us-east-1\n`,
      `[profile nobody]\nregion = us-east-1\n`,
      `[profile proc]\nregion = us-east-1\ncredential_process = ${process.execPath} ${helper}\n`,
      `[profile sso-expired]\nregion = us-east-1\nsso_start_url = ${startUrl}\nsso_region = us-east-1\nsso_account_id = 000000000000\nsso_role_name = Dev\n`,
      `[profile empty]\nregion = us-east-1\n`,
      // a profile that names its own KMS endpoint (tests remove AWS_ENDPOINT_URL_KMS to use it)
      `[profile svc]\nregion = us-east-1\nservices = local-kms\n`,
      `[services local-kms]\nkms =\n  endpoint_url = ${url}\n`,
    ].join('\n'),
  );
  const env: Record<string, string> = {
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: credentials,
    AWS_ENDPOINT_URL_KMS: url,
    AWS_ENDPOINT_URL_STS: url,
    AWS_EC2_METADATA_DISABLED: 'true',
    HOME: path.join(dir, 'home'),
    // the record of retired data keys (core/retired.ts): the sandbox's, never the developer's
    XDG_STATE_HOME: path.join(dir, 'home', '.local', 'state'),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const saved = new Map<string, string | undefined>();
  return {
    kms,
    dir,
    keyArn,
    otherKeyArn,
    env,
    apply() {
      for (const k of [...ENV_KEYS, 'HOME', 'XDG_STATE_HOME']) {
        saved.set(k, process.env[k]);
        delete process.env[k];
      }
      Object.assign(process.env, env);
    },
    async close() {
      for (const [k, v] of saved) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await kms.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A describe block's sandbox, and the folder of the test that is running. */
export interface SuiteSandbox {
  readonly sb: Sandbox;
  readonly dir: string;
  /** A path in the running test's folder. */
  at(name: string): string;
}

/**
 * For a describe block that calls the core in this process: one sandbox for the block, its AWS
 * settings applied to this process's environment, and a fresh folder in it for each test.
 */
export function sandboxPerSuite(prefix: string): SuiteSandbox {
  let sb: Sandbox | undefined;
  let dir = '';
  before(async () => {
    sb = await startSandbox();
    sb.apply();
  });
  after(() => sb?.close());
  beforeEach(() => {
    dir = mkdtempSync(path.join(sb!.dir, prefix));
  });
  return {
    get sb() {
      return sb!;
    },
    get dir() {
      return dir;
    },
    at: (name) => path.join(dir, name),
  };
}
