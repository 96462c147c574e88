/**
 * Which of a file's variables may reach a program's environment. A `.env` in a repository is
 * written by committers; variables that change how programs find and load code are never
 * taken from it unless the user names them, and by default a file does not override what the
 * parent environment already has (dotenv's own rule).
 */

/*
 * The policy holds by namespace, not by a list of known-bad names: a variable is left out when
 * its name (upper-cased: `http_proxy` and `npm_config_*` are read in lower case too) starts with
 * a prefix below, ends with a suffix below, is one of the names below, or is not a plain
 * identifier. The prefixes are the namespaces of the shells, loaders, runtimes, package managers
 * and tools that read their configuration (which code, which config file, which endpoint, which
 * credentials, which CA) from the environment; the suffixes are the conventions every tool uses
 * for library and plug-in paths, extra options, proxies, hooks and CA files. An application's own names (DB_HOST, STRIPE_KEY,
 * APP_*) are outside all of them. What a file may still set is listed in docs/SECURITY.md; the
 * user names a left-out variable with --allow-env (KMS_ENVELOPE_CONFIG_ALLOW_ENV for the preload).
 */
const RESERVED_PREFIXES = [
  // loaders and the C library
  'LD_', 'DYLD_', 'MALLOC_', 'GLIBC_', 'GCONV_',
  // shells
  'BASH_', 'BASH_FUNC_', 'ZSH_', 'SHELL',
  // runtimes and their package managers
  'NODE_', 'NPM_', 'YARN_', 'PNPM_', 'COREPACK_', 'BUN_', 'DENO_', 'ELECTRON_',
  'PYTHON', 'PIP_', 'PIPENV_', 'POETRY_', 'UV_', 'CONDA', 'VIRTUAL_ENV',
  'PERL', 'RUBY', 'GEM_', 'BUNDLE_', 'IRBRC',
  'JAVA', 'JDK_', '_JAVA_', 'JRE_', 'MAVEN_', 'GRADLE_', 'SBT_', 'ANT_',
  'DOTNET_', 'CORECLR_', 'COMPLUS_', 'NUGET_', 'MSBUILD',
  'PHP', 'COMPOSER_', 'LUA_', 'R_', 'JULIA_', 'ERL_', 'ELIXIR_', 'MIX_', 'HEX_',
  'CARGO_', 'RUSTUP_', 'RUSTC', 'RUSTDOC',
  // tools that run commands or choose what they talk to and with which credentials
  'GIT_', 'SSH_', 'GNUPG', 'GPG_', 'AWS_', 'AZURE_', 'GOOGLE_APPLICATION_', 'CLOUDSDK_',
  'KUBE', 'DOCKER_', 'HELM_', 'TF_CLI_', 'VAULT_', 'XDG_', 'LESS', 'MANPAGER', 'SYSTEMD_',
  'SSL_', 'OPENSSL_', 'CURL_', 'REQUESTS_CA_', 'KMS_ENVELOPE_',
];
const RESERVED_SUFFIXES = ['LIBRARY_PATH', 'PLUGIN_PATH', 'MODULE_PATH', 'MODULES_PATH', 'TYPELIB_PATH', '_OPTS', '_OPTIONS', '_PROXY', '_HOOKS', '_INIT', '_STARTUP', '_PRELOAD', '_EDITOR', '_PAGER', '_ASKPASS', '_SHELL', '_CONFIG_FILE', '_CA_BUNDLE', '_CA_CERTS'];
const RESERVED_NAMES = new Set([
  'PATH', 'ENV', 'IFS', 'PS4', 'PROMPT_COMMAND', 'SHELLOPTS', 'BASHOPTS', 'ZDOTDIR', 'HOME', 'TMPDIR', 'TMP', 'TEMP', 'USER', 'LOGNAME',
  'EDITOR', 'VISUAL', 'PAGER', 'BROWSER', 'TERMINFO', 'HOSTALIASES', 'LOCPATH', 'NLSPATH', 'CLASSPATH', 'NO_PROXY',
  'MANPATH', 'CDPATH', 'FPATH', 'INFOPATH', 'PKG_CONFIG_PATH', 'INPUTRC', 'WGETRC', 'CURL_HOME',
  'GOPATH', 'GOROOT', 'GOFLAGS', 'GOPROXY', 'GOTOOLCHAIN', 'GOENV', 'GOPRIVATE', 'GONOSUMDB', 'GOINSECURE', 'GOEXPERIMENT', 'GODEBUG',
  'CFLAGS', 'CXXFLAGS', 'CPPFLAGS', 'LDFLAGS', 'RUSTFLAGS', 'LIBS',
  'CC', 'CXX', 'CPP', 'LD', 'AR', 'MAKE', 'MAKEFLAGS', 'MAKELEVEL', 'DISPLAY', 'WAYLAND_DISPLAY', 'DBUS_SESSION_BUS_ADDRESS',
]);
/**
 * Names inside those namespaces that are values an application reads, not configuration of code
 * or of where a tool connects: the ones `.env` files hold every day. (AWS credentials and region
 * are values like a database password; the AWS SDK's files, endpoints and credential URLs stay out.)
 */
const APPLICATION_NAMES = new Set(['NODE_ENV', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_DEFAULT_REGION']);
/** A plain identifier: what shells and dotenv both take as a variable name. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Whether a variable is left out of what a file may set: it changes which code runs, how, or what a tool trusts. */
export function changesLoadedCode(name: string): boolean {
  if (!IDENTIFIER.test(name)) return true;
  const upper = name.toUpperCase();
  if (APPLICATION_NAMES.has(name)) return false;
  return RESERVED_NAMES.has(upper) || RESERVED_PREFIXES.some((p) => upper.startsWith(p)) || RESERVED_SUFFIXES.some((s) => upper.endsWith(s));
}

export interface EnvPolicy {
  /** Let the file's values replace variables the parent already has. */
  readonly override?: boolean;
  /** Names the user allows from the file although they change loaded code. */
  readonly allow?: readonly string[];
}

export interface Merged {
  readonly env: Record<string, string | undefined>;
  /** Loader variables the file set and the policy left out (names only). */
  readonly blocked: string[];
  /** Variables the file set that the parent already had (kept as the parent's). */
  readonly kept: string[];
}

/** The child's environment: the parent's, plus the file's values the policy lets through. */
export function mergeEnv(parent: NodeJS.ProcessEnv, fromFile: Record<string, string>, policy: EnvPolicy = {}): Merged {
  const env: Record<string, string | undefined> = { ...parent };
  const blocked: string[] = [];
  const kept: string[] = [];
  for (const [name, value] of Object.entries(fromFile)) {
    if (changesLoadedCode(name) && !policy.allow?.includes(name)) blocked.push(name);
    else if (parent[name] !== undefined && !policy.override) kept.push(name);
    else env[name] = value;
  }
  return { env, blocked, kept };
}

/**
 * Sets the file's values in `target` (process.env) under the policy, as dotenv's `config` does:
 * only the variables the merge let through are written.
 */
export function injectEnv(target: NodeJS.ProcessEnv, fromFile: Record<string, string>, policy: EnvPolicy = {}): Merged {
  const merged = mergeEnv(target, fromFile, policy);
  for (const name of Object.keys(fromFile)) {
    const value = merged.env[name];
    if (value !== undefined) target[name] = value;
  }
  return merged;
}
