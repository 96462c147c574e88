/**
 * A real VS Code (code-server 4.100.3, VS Code 1.100.3: the newest that runs on Node 20),
 * installed on first use into .cache/ the way @vscode/test-electron caches VS Code, and
 * started with a scratch user-data folder. See design §5 for the facts behind each flag.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

export const CODE_SERVER_VERSION = '4.100.3';
const ROOT = path.join(__dirname, '../..');
const CACHE = path.join(ROOT, '.cache', `code-server-${CODE_SERVER_VERSION}`);
const ENTRY = path.join(CACHE, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

/** Packages the extension as a .vsix (esbuild bundles, minified, per .vscodeignore). */
export function packageVsix(out: string): string {
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--no-dependencies', '--no-rewrite-relative-links', '--out', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

export function ensureCodeServer(log: (s: string) => void = console.log): string {
  if (existsSync(ENTRY)) return ENTRY;
  for (const bin of ['/usr/bin/rg']) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run bash scripts/system-deps.sh (Debian packages ripgrep libkrb5-dev)`);
  }
  log(`installing code-server ${CODE_SERVER_VERSION} into ${path.relative(ROOT, CACHE)} (about a minute, once)…`);
  const tmp = path.join(CACHE, 'tmp');
  const rgCache = path.join(tmp, 'vscode-ripgrep-cache-1.15.11');
  mkdirSync(rgCache, { recursive: true });
  // @vscode/ripgrep downloads rg unless its cache holds this tarball: give it Debian's rg.
  execFileSync('tar', ['czf', path.join(rgCache, 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz'), '-C', '/usr/bin', 'rg']);
  // code-server's postinstall sets up VS Code's own modules, and argon2 (its password hashing) builds or
  // fetches its binary: the two install scripts this cache allows (npm 12 runs no others). npm calls
  // unsafe-perm unknown, but code-server's postinstall refuses to run as root without it.
  writeFileSync(path.join(CACHE, 'package.json'), JSON.stringify({ name: 'code-server-cache', private: true, allowScripts: { 'code-server': true, argon2: true } }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', `code-server@${CODE_SERVER_VERSION}`], {
    cwd: CACHE,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, TMPDIR: tmp, npm_config_nodedir: '/usr', npm_config_unsafe_perm: 'true', npm_config_yes: 'true' },
  });
  if (!existsSync(ENTRY)) throw new Error('code-server did not install');
  return ENTRY;
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

export interface CodeServer {
  readonly url: string;
  readonly port: number;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export interface CodeServerOptions {
  /** Scratch folder for user data, extensions, HOME, XDG and TMPDIR. */
  readonly scratch: string;
  readonly env: Record<string, string>;
  readonly userSettings: Record<string, unknown>;
  readonly port?: number;
  readonly extraArgs?: string[];
  /** .vsix files installed into this instance's extensions folder before it starts. */
  readonly install?: readonly string[];
  readonly log?: (line: string) => void;
}

export async function startCodeServer(o: CodeServerOptions): Promise<CodeServer> {
  const entry = ensureCodeServer();
  const port = o.port ?? (await freePort());
  const dirs = Object.fromEntries(['user-data', 'extensions', 'home', 'xdg-config', 'xdg-data', 'xdg-cache', 'tmp'].map((d) => [d, path.join(o.scratch, d)]));
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  mkdirSync(path.join(dirs['user-data'], 'User'), { recursive: true });
  writeFileSync(path.join(dirs['user-data'], 'User', 'settings.json'), JSON.stringify(o.userSettings, null, 2));
  for (const vsix of o.install ?? []) {
    execFileSync(process.execPath, [entry, '--extensions-dir', dirs.extensions, '--user-data-dir', dirs['user-data'], '--install-extension', vsix, '--force'], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, HOME: dirs.home },
    });
  }
  const config = path.join(o.scratch, 'config.yaml');
  writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const child = spawn(
    process.execPath,
    [entry, '--config', config, '--user-data-dir', dirs['user-data'], '--extensions-dir', dirs.extensions, '--disable-telemetry', '--disable-update-check', '--disable-getting-started-override', ...(o.extraArgs ?? [])],
    {
      detached: true, // its own process group, killed whole at the end
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: dirs.home,
        XDG_CONFIG_HOME: dirs['xdg-config'],
        XDG_DATA_HOME: dirs['xdg-data'],
        XDG_CACHE_HOME: dirs['xdg-cache'],
        TMPDIR: dirs.tmp,
        // the remote authority VS Code names this server's files by (Local History's folder names)
        KMS_ENVELOPE_TEST_AUTHORITY: `127.0.0.1:${port}`,
        ...o.env,
      },
    },
  );
  const log = o.log ?? (() => undefined);
  child.stdout!.on('data', (d) => log(String(d)));
  child.stderr!.on('data', (d) => log(String(d)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error('code-server did not start within 60 s');
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    port,
    extensionsDir: dirs.extensions,
    userDataDir: dirs['user-data'],
    process: child,
    async stop() {
      if (child.exitCode !== null || child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        return;
      }
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    },
  };
}
