import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { configuredKmsEndpoint, listProfiles } from '../../src/core/kms/profiles';
import { withEnv } from '../support/with-env';

const CONFIG = `[default]
region = eu-west-1

[profile sso-session]
sso_session = corp
[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
[profile sso-legacy]
sso_start_url = https://corp.awsapps.com/start
[profile web]
role_arn = arn:aws:iam::111122223333:role/ci
web_identity_token_file = /var/run/token
[profile assume]
role_arn = arn:aws:iam::111122223333:role/admin
source_profile = default
region = us-east-2
[profile proc]
credential_process = /usr/local/bin/creds
[profile bare]
[profile out]
output = json
[profile both]
region = ap-south-1

[profile local]
services = local-kms
endpoint_url = http://own-endpoint:1
[services local-kms]
kms =
  endpoint_url = http://127.0.0.1:4599
[profile own]
endpoint_url = http://own-endpoint:2
[profile no-such-services]
services = nowhere
endpoint_url = http://own-endpoint:3
`;

const CREDENTIALS = `[static]
aws_access_key_id = AKIAEXAMPLE
aws_secret_access_key = secret
[both]
aws_access_key_id = AKIAEXAMPLE2
aws_secret_access_key = secret2
region = us-west-1
`;

/**
 * The profile picker's list and a named profile's KMS endpoint, from the user's AWS config and
 * credentials files (temporary ones here), read by the SDK's own parser.
 */
describe('AWS profiles from the shared config files (kms/profiles.ts)', () => {
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), 'kms-envelope-profiles-'));
    await fs.writeFile(path.join(dir, 'config'), CONFIG);
    await fs.writeFile(path.join(dir, 'credentials'), CREDENTIALS);
    env = { AWS_CONFIG_FILE: path.join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials') };
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('lists every profile of both files once, default first, each with its kind and region (config over credentials), and no other section (an empty one is none: the SDK drops it)', async () => {
    const profiles = await withEnv(env, () => listProfiles());
    assert.deepEqual(profiles, [
      { name: 'default', kind: 'other', region: 'eu-west-1' },
      { name: 'assume', kind: 'role', region: 'us-east-2' },
      { name: 'both', kind: 'static', region: 'ap-south-1' },
      { name: 'local', kind: 'other' },
      { name: 'no-such-services', kind: 'other' },
      { name: 'out', kind: 'other' },
      { name: 'own', kind: 'other' },
      { name: 'proc', kind: 'process' },
      { name: 'sso-legacy', kind: 'sso' },
      { name: 'sso-session', kind: 'sso' },
      { name: 'static', kind: 'static' },
      { name: 'web', kind: 'web-identity' },
    ]);
  });

  it('reads the files again on every call: a profile added or an endpoint changed shows at once', async () => {
    const config = path.join(dir, 'config-changing');
    const files = { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'credentials-changing') };
    await fs.writeFile(config, '[profile one]\nendpoint_url = http://first\n');
    await withEnv(files, async () => {
      assert.deepEqual((await listProfiles()).map((p) => p.name), ['one']);
      assert.equal(await configuredKmsEndpoint('one', process.env), 'http://first');
      // each read right after a change, before the other function reads the files (and would refresh a cache)
      await fs.writeFile(config, '[profile one]\nendpoint_url = http://second\n');
      assert.equal(await configuredKmsEndpoint('one', process.env), 'http://second');
      await fs.writeFile(config, '[profile one]\nendpoint_url = http://second\n[profile two]\n[profile alpha]\nregion = y\n');
      await fs.writeFile(files.AWS_SHARED_CREDENTIALS_FILE, '[default]\naws_access_key_id = x\n');
      // default first also when it comes last (from the credentials file), after a name that sorts before it
      assert.deepEqual((await listProfiles()).map((p) => p.name), ['default', 'alpha', 'one']);
    });
  });

  it('no config files: no profiles', async () => {
    assert.deepEqual(await withEnv({ AWS_CONFIG_FILE: path.join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none') }, () => listProfiles()), []);
  });

  it('a named profile’s KMS endpoint: its services section’s, else its own, else none', async () => {
    await withEnv(env, async () => {
      assert.equal(await configuredKmsEndpoint('local', process.env), 'http://127.0.0.1:4599');
      assert.equal(await configuredKmsEndpoint('own', process.env), 'http://own-endpoint:2');
      assert.equal(await configuredKmsEndpoint('no-such-services', process.env), 'http://own-endpoint:3');
      assert.equal(await configuredKmsEndpoint('bare', process.env), undefined);
      assert.equal(await configuredKmsEndpoint('missing', process.env), undefined);
      assert.equal(await configuredKmsEndpoint(undefined, process.env), undefined);
    });
  });

  it('the environment’s endpoint settings win (left to the SDK), and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true turns the files’ off', async () => {
    await withEnv(env, async () => {
      for (const extra of [{ AWS_ENDPOINT_URL_KMS: 'http://env:1' }, { AWS_ENDPOINT_URL: 'http://env:2' }, { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'TRUE' }, { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }]) {
        assert.equal(await configuredKmsEndpoint('local', { ...process.env, ...extra }), undefined, JSON.stringify(extra));
      }
      for (const extra of [{ AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'false' }, { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true-ish' }, { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'untrue' }]) {
        assert.equal(await configuredKmsEndpoint('local', { ...process.env, ...extra }), 'http://127.0.0.1:4599', JSON.stringify(extra));
      }
    });
  });
});
