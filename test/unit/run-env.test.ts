import assert from 'node:assert/strict';
import { mergeEnv } from '../../src/core/env-policy';
import { foldDebugEnv, OpenedEnvFile } from '../../src/core/run-env';

describe('debug env files: encrypted files folded into env the way debug adapters apply envFile then env', () => {
  const enc = (file: string, values: Record<string, string>): OpenedEnvFile => ({ file, kind: 'encrypted', values });
  const plain = (file: string, ...names: string[]): OpenedEnvFile => ({ file, kind: 'plain', names });

  it('an encrypted file\'s values go into env and the file leaves envFile; a value already in env wins, and null keeps a variable unset', () => {
    const r = foldDebugEnv({ MODE: 'debug', TOKEN: null }, [enc('/w/.env', { DB: 'secret', MODE: 'prod', TOKEN: 't' })]);
    assert.deepEqual(r.env, { MODE: 'debug', TOKEN: null, DB: 'secret' });
    assert.deepEqual(r.envFile, []);
    assert.deepEqual(r.blocked, []);
  });

  it('with several files a later one wins, and a variable a later plain file sets is left to that file (the adapter reads it)', () => {
    const r = foldDebugEnv(undefined, [enc('/w/.env', { A: 'enc-1', B: 'enc-1', C: 'enc-1' }), plain('/w/.env.local', 'B'), enc('/w/.env.prod', { C: 'enc-2' }), { file: '/w/.env.missing', kind: 'missing' }]);
    assert.deepEqual(r.env, { A: 'enc-1', C: 'enc-2' });
    assert.deepEqual(r.envFile, ['/w/.env.local', '/w/.env.missing']);
  });

  it('variables that change what code runs are left out and named, even when the configuration sets none', () => {
    const r = foldDebugEnv({}, [enc('/w/.env', { NODE_OPTIONS: '--require /tmp/x.js', LD_PRELOAD: '/tmp/x.so', OK: '1' })]);
    assert.deepEqual(r.env, { OK: '1' });
    assert.deepEqual(r.blocked.sort(), ['LD_PRELOAD', 'NODE_OPTIONS']);
  });

  it('a plain file before an encrypted one does not keep its variables from it (the later file wins)', () => {
    const r = foldDebugEnv(undefined, [plain('/w/.env.defaults', 'B'), enc('/w/.env', { B: 'enc' })]);
    assert.deepEqual(r.env, { B: 'enc' });
    assert.deepEqual(r.envFile, ['/w/.env.defaults']);
  });
});

describe('mergeEnv: the child’s environment from the parent’s and a file’s', () => {
  it('names exactly what it kept (the parent’s) and blocked, and nothing when it let everything through', () => {
    const clean = mergeEnv({ PATH: '/bin' }, { A: '1' });
    assert.deepEqual(clean, { env: { PATH: '/bin', A: '1' }, blocked: [], kept: [] });
    const r = mergeEnv({ PATH: '/bin', A: 'parent' }, { A: 'file', NODE_OPTIONS: '-r x', B: '2' });
    assert.deepEqual(r, { env: { PATH: '/bin', A: 'parent', B: '2' }, blocked: ['NODE_OPTIONS'], kept: ['A'] });
    assert.deepEqual(mergeEnv({ A: 'parent' }, { A: 'file' }, { override: true }), { env: { A: 'file' }, blocked: [], kept: [] });
  });
});

describe('which variables a file may set (security review F4): by namespace, for run, the preload, the API, debug, tasks and terminals', () => {
  // every name the review listed, and the review's GIT_CONFIG_* repro
  const leftOut = [
    'GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'GIT_CONFIG_VALUE_0', 'GIT_CONFIG_PARAMETERS', 'GIT_CONFIG_GLOBAL', 'GIT_DIR', 'GIT_ASKPASS', 'SSH_ASKPASS',
    'GIT_PAGER', 'GIT_EDITOR', 'GIT_EXTERNAL_DIFF', 'GIT_PROXY_COMMAND', 'XDG_CONFIG_HOME', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE',
    'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_KMS', 'npm_config_script_shell', 'npm_config_userconfig', 'NPM_CONFIG_USERCONFIG', 'PHPRC', 'PHP_INI_SCAN_DIR',
    'LUA_INIT', 'DOTNET_STARTUP_HOOKS', 'CORECLR_PROFILER', 'COMPlus_EnableDiagnostics', 'MAVEN_OPTS', 'GRADLE_OPTS', 'JAVA_OPTS', 'PYTHONBREAKPOINT',
    'PYTHONUSERBASE', 'GEM_PATH', 'BUNDLE_GEMFILE', 'R_PROFILE_USER', 'KUBECONFIG', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'NODE_EXTRA_CA_CERTS',
    'SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'PATH', 'Path', 'NODE_OPTIONS', 'node_env', 'AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'LD_PRELOAD', 'DYLD_INSERT_LIBRARIES', 'BASH_ENV',
    'PERL5OPT', 'RUBYOPT', 'CLASSPATH', 'GOFLAGS', 'LESSOPEN', 'EDITOR', 'HOME', 'QT_PLUGIN_PATH', 'KMS_ENVELOPE_KEY', 'A.B', 'A-B', '1A',
  ];
  const taken = ['DB_HOST', 'DB_PASSWORD', 'STRIPE_KEY', 'APP_SECRET', 'DATABASE_URL', 'UPLOAD_PATH', 'FEATURE_FLAGS', 'GOOGLE_API_KEY', 'REDIS_URL', 'PORT', 'db_user', 'NODE_ENV', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION'];

  it('leaves out every variable that runs code, changes a tool\'s config, endpoint, credentials, proxy or CA, and takes an application\'s own', () => {
    const file = Object.fromEntries([...leftOut, ...taken].map((n) => [n, 'x']));
    const r = mergeEnv({}, file);
    assert.deepEqual(r.blocked.sort(), [...leftOut].sort());
    assert.deepEqual(Object.keys(r.env).sort(), [...taken].sort());
  });

  it('a name the user allows is taken', () => {
    assert.deepEqual(mergeEnv({}, { GIT_DIR: '/x', KUBECONFIG: 'k' }, { allow: ['KUBECONFIG'] }), { env: { KUBECONFIG: 'k' }, blocked: ['GIT_DIR'], kept: [] });
  });
});
