/**
 * Requires a bundle with a V8 code cache, so that a CLI started in every CI job does not compile
 * the AWS SDK (~330 KB) from source each time: about half of what loading it costs. The extension
 * loads its SDK and commands bundles the same way: that load is one stretch of the extension
 * host's thread, on the first open of a decrypted view (~60 ms compiled from source).
 *
 * The cache is V8's bytecode for our own code, made after the command ran (so it holds the
 * functions that ran, not only the top level), never any value the program computed: no secret
 * reaches it. It lives in the user's cache folder (`$XDG_CACHE_HOME/kms-envelope`, else
 * `~/.cache/kms-envelope`; `%LOCALAPPDATA%` on Windows), never in a repository or a shared
 * temporary folder, where someone else could plant one: a cache file is used only when it is a
 * regular file of our own user that no one else can write. V8 itself refuses a cache made from
 * other source or by another V8 (and the name carries a hash of both). Anything wrong with the
 * cache (missing, refused, unreadable folder) only means compiling from source as before.
 * `KMS_ENVELOPE_CODE_CACHE=0` turns it off. The bundle must not use import(): Node 20 cannot resolve
 * one in a script compiled from a cache (scripts/build.mjs turns them into require()).
 *
 * Hand-written rather than `v8-compile-cache`: that package keeps its cache under the shared
 * temporary folder, and Node's own `module.enableCompileCache` exists only from Node 22.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { Script } from 'node:vm';
import path = require('node:path');

const cacheDir = (): string =>
  path.join(process.env.XDG_CACHE_HOME || (process.platform === 'win32' ? (process.env.LOCALAPPDATA ?? path.join(homedir(), 'AppData', 'Local')) : path.join(homedir(), '.cache')), 'kms-envelope');

/** The cache's bytes, when it is a regular file of ours that only we can write (no symlink followed). */
function readOwnFile(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    const st = fstatSync(fd);
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || (process.platform !== 'win32' && (st.mode & 0o022) !== 0)) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Temp + rename, 0600 in a 0700 folder: a reader never sees half a cache. */
function writeOwnFile(file: string, bytes: Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    writeSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temp, file);
  } catch (err) {
    unlinkSync(temp);
    throw err;
  }
}

/** `<bundle>-<hash>.v8`: the bundle's name, then 32 hex digits of the hash of its source and of Node. */
const CACHE_NAME = /^(.+)-[0-9a-f]{32}\.v8$/;

/** Caches of this bundle for other versions (of it, or of Node) are dead weight once a new one is made. */
function removeOlder(dir: string, bundle: string, keep: string): void {
  for (const name of readdirSync(dir)) {
    if (name !== keep && CACHE_NAME.exec(name)?.[1] === bundle) rmSync(path.join(dir, name), { force: true });
  }
}

/** The same wrapper Node gives a CommonJS module: a cache is V8's for exactly this text. */
export const commonJsWrapper = (source: string): string => `(function (exports, require, module, __filename, __dirname) { ${source}\n})`;

export interface CacheOptions {
  /**
   * The cache's name, before its hash (default: the bundle's). A process of another Node (the
   * extension host's, beside the CLI's) names its caches apart: each keeps only its latest.
   */
  readonly name?: string;
  /** Made this long after the load, in a process that may never exit cleanly (the extension host); default: at exit. */
  readonly saveAfterMs?: number;
}

/** `require(file)` for a self-contained CommonJS bundle, through the code cache. */
export function requireCached(file: string, options: CacheOptions = {}): unknown {
  if (process.env.KMS_ENVELOPE_CODE_CACHE === '0') return require(file);
  const source = readFileSync(file, 'utf8');
  const hash = createHash('sha256').update(`${process.version} ${process.arch} ${process.versions.v8}\n`).update(source).digest('hex').slice(0, 32);
  const bundle = options.name ?? path.basename(file, '.js');
  const dir = cacheDir();
  const name = `${bundle}-${hash}.v8`;
  const cacheFile = path.join(dir, name);
  const cachedData = readOwnFile(cacheFile);
  const script = new Script(commonJsWrapper(source), { filename: file, cachedData });
  const mod = { exports: {} as unknown };
  (script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: typeof mod, f: string, d: string) => void)(mod.exports, createRequire(file), mod, file, path.dirname(file));
  if (!cachedData || script.cachedDataRejected) {
    // later, so that the functions the command ran are compiled and cached too
    const save = () => {
      try {
        writeOwnFile(cacheFile, script.createCachedData());
        removeOlder(dir, bundle, name);
      } catch {
        // a read-only home or full disk: the next run compiles from source, as this one did
      }
    };
    if (options.saveAfterMs === undefined) process.once('exit', save);
    else setTimeout(save, options.saveAfterMs).unref();
  }
  return mod.exports;
}
