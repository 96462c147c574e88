/**
 * File I/O at the edge of the core: atomic writes, and reading files a repository may have
 * planted (bounded in size, never through a symlink the user did not name).
 *
 * A write goes to a temporary sibling created 0600 with O_EXCL, is fsynced and renamed over the
 * target, so that a crash or a failed KMS call leaves the old file intact. Ciphertext keeps the
 * target's permissions; plaintext is always 0600 (readable by the user alone). A writer killed
 * with SIGKILL can leave its temporary file (0600) behind; the next write to the same target
 * removes it, and a caught signal removes it at once.
 */
import { randomBytes } from 'node:crypto';
import { close, constants, fstat, open, promises as fs, read, unlinkSync } from 'node:fs';
import path = require('node:path');
import { KmsEnvelopeError } from './errors';
import { SIDECAR_SUFFIX } from './formats/comment-syntax';
import { MAX_HEADER_BYTES } from './header';
import { succeeds } from './succeeds';

export type Content = string | Uint8Array | AsyncIterable<Uint8Array>;

const TEMP_SUFFIX = '.kms-envelope-tmp';

/** `.<name>.<pid>.<random>.kms-envelope-tmp`: the pid tells a crashed writer's leftover from a live one. */
const tempName = (target: string): string =>
  path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // Stryker disable next-line ConditionalExpression,StringLiteral: not testable as root (CI, these machines), who may signal any process: EPERM is another user's live process
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Removes temporary siblings left by writers that were killed mid-write. */
export async function removeStaleTemps(target: string): Promise<number> {
  const prefix = `.${path.basename(target)}.`;
  const names = await fs.readdir(path.dirname(target)).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)\.[0-9a-f]{12}\.kms-envelope-tmp$/.exec(name.slice(prefix.length)) : null;
    if (m && !alive(Number(m[1]))) {
      await fs.unlink(path.join(path.dirname(target), name)).then(() => removed++, () => undefined);
    }
  }
  return removed;
}

/** Temporary files of this process, removed if it is stopped by a signal it can catch. */
const liveTemps = new Set<string>();
let cleanupInstalled = false;
function removeTempsOnSignal(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const t of liveTemps) {
        try {
          unlinkSync(t);
        } catch {
          // already gone
        }
      }
      process.kill(process.pid, sig);
    });
  }
}

/** Runs `write` with `tmp` among the files a signal removes. */
async function whileLive(tmp: string, write: () => Promise<void>): Promise<void> {
  removeTempsOnSignal();
  liveTemps.add(tmp);
  // Stryker disable next-line BlockStatement: the finally only frees memory (a finished write's temporary name is gone: renamed or removed, so a signal's clean-up of it finds nothing); an empty try would be a write that writes nothing, which every write test sees
  try { await write(); } finally { liveTemps.delete(tmp); }
}

export interface WriteOptions {
  /** The content is plaintext: the file is 0600 whatever the target's mode was. */
  readonly plaintext?: boolean;
  /** The file's mode, whatever the target's was (a script: 0755). */
  readonly mode?: number;
}

/** Writes `content` to `target` atomically. Ciphertext keeps the target's permissions (0600 for a new file). */
export async function atomicWrite(target: string, content: Content, opts: WriteOptions = {}): Promise<void> {
  await removeStaleTemps(target);
  const mode = opts.plaintext ? 0o600 : (opts.mode ?? (await fs.stat(target).then((s) => s.mode & 0o777, () => 0o600)));
  const tmp = tempName(target);
  const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  await whileLive(tmp, async () => {
    try {
      if (typeof content === 'string' || content instanceof Uint8Array) await handle.writeFile(content);
      else await writeStream(handle, content);
      // Stryker disable next-line ConditionalExpression: equivalent — the file was created 0600
      if (mode !== 0o600) await handle.chmod(mode);
      await handle.sync();
      await handle.close();
      await fs.rename(tmp, target);
    } catch (err) {
      await handle.close().catch(() => undefined);
      await fs.unlink(tmp).catch(() => undefined);
      throw err;
    }
  });
}

/** How much a streamed write gathers before it writes: see writeStream. */
const WRITE_BATCH_BYTES = 1024 * 1024;

/**
 * Writes a stream's chunks in batches of about a MiB, one batch on its way to the disk while the
 * next is made: a write per chunk, awaited, left the producer (the cipher) idle for every one of
 * them. A chunk must not be changed by its producer once given (every producer here makes a new
 * one each time).
 */
async function writeStream(handle: fs.FileHandle, content: AsyncIterable<Uint8Array>): Promise<void> {
  let writing: Promise<unknown> = Promise.resolve();
  let batch: Uint8Array[] = [];
  let batched = 0;
  const flush = async (): Promise<void> => {
    await writing;
    // a failed write is awaited at the next flush; caught here so that it is not "unhandled" meanwhile
    const done = handle.writev(batch);
    writing = done;
    done.catch(() => undefined);
    batch = [];
    batched = 0;
  };
  for await (const chunk of content) {
    batch.push(chunk);
    batched += chunk.length;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent as true and > (a write per chunk, or a batch a byte later, writes the same bytes); false and <, batches never written until the end, are what "a streamed write reaches the disk as it goes" refuses, but one comment disables a mutator's every form
    if (batched >= WRITE_BATCH_BYTES) await flush();
  }
  await flush();
  await writing;
}

/**
 * A file's bytes in pieces of `size`, read into two buffers in turn: the next piece is read while
 * the caller works on this one, and no piece is fresh memory (a fresh megabyte each read cost
 * more than decrypting it). A piece is valid until the next one is asked for: a caller keeps a
 * copy of what it needs longer.
 */
export async function* readPieces(file: string, size: number): AsyncGenerator<Buffer> {
  const handle = await fs.open(file, 'r');
  let next: Promise<{ bytesRead: number; buffer: Buffer }> | undefined;
  const buffers = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(size)];
  try {
    let turn = 0;
    const readInto = (buf: Buffer) => handle.read(buf, 0, size, null);
    next = readInto(buffers[turn]);
    for (;;) {
      const { bytesRead, buffer } = await next;
      if (bytesRead === 0) return;
      turn ^= 1;
      next = readInto(buffers[turn]);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    // a caller that stops early leaves a read on its way: it ends before the file is closed
    await next?.catch(() => undefined);
    await handle.close();
    for (const b of buffers) b.fill(0); // what encryption reads is plaintext
  }
}

/** A sidecar holds a header only: this is more than any valid one. */
export const MAX_SIDECAR_BYTES = MAX_HEADER_BYTES;

/**
 * The sidecar header of a file, if it has one. A sidecar is only ever a regular file of bounded
 * size: a symlink (to /dev/zero, to a secret elsewhere), a device or an oversized file is refused.
 */
export async function readSidecar(target: string): Promise<string | undefined> {
  const file = target + SIDECAR_SUFFIX;
  const st = await fs.lstat(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
    throw e;
  });
  if (!st) return undefined;
  if (!st.isFile()) throw new KmsEnvelopeError('FORMAT', `${file} is not a regular file (a symlink or device); refusing to read it`, 'A sidecar is a small text file next to its file; restore it from version control.');
  if (st.size > MAX_SIDECAR_BYTES) throw new KmsEnvelopeError('FORMAT', `${file} is larger than any kms-envelope header`, 'Restore it from version control.');
  return (await readBounded(file, MAX_SIDECAR_BYTES)).toString('utf8');
}

/** Whether a file has a sidecar (without reading it). */
export const hasSidecar = (target: string): Promise<boolean> => succeeds(fs.lstat(target + SIDECAR_SUFFIX));

/**
 * Opening for a read never waits: a FIFO (or a device that blocks) opened without O_NONBLOCK holds
 * a thread of libuv's small pool until someone writes to it. It has no effect on regular files.
 */
const READ_NOW = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** A file's bytes, refused past `limit` (checked before reading, without following a final symlink). */
export async function readBounded(file: string, limit: number): Promise<Buffer> {
  const handle = await fs.open(file, READ_NOW | constants.O_NOFOLLOW).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ELOOP') throw new KmsEnvelopeError('USAGE', `${file} is a symlink; name the file it points to`);
    throw e;
  });
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new KmsEnvelopeError('USAGE', `${file} is not a regular file`);
    if (st.size > limit) throw new KmsEnvelopeError('FORMAT', `${file} is larger than ${Math.round(limit / 1024 / 1024) || limit} ${limit >= 1024 * 1024 ? 'MiB' : 'bytes'}, the limit for this kind of file`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    // Stryker disable EqualityOperator,ArithmeticOperator,ConditionalExpression: a regular file is read whole by the first read; a second comes only for a file that changed size meanwhile
    while (off < st.size) {
      const { bytesRead } = await handle.read(buf, off, st.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    // Stryker restore all
    return buf.subarray(0, off);
  } finally {
    await handle.close();
  }
}

/** Text that must be valid UTF-8: a file that is not is refused, never rewritten with U+FFFD. */
export function decodeUtf8(bytes: Uint8Array, name: string): string {
  try {
    // a decoder per call (a few µs; one kept for the process would hide its options from mutation testing, which
    // runs every test in one process); ignoreBOM keeps a BOM in the text: it is part of the file, and comes back
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new KmsEnvelopeError('USAGE', `${name} is not valid UTF-8 text`, 'kms-envelope encrypts .env files and selections as UTF-8 text; encrypt other files whole (any non-.env file is).');
  }
}

/**
 * The first bytes of a file, to tell its store without reading it all. The callback API: a
 * FileHandle costs about twice as much per file, which counts when a workspace is classified.
 */
export function readHead(file: string, bytes = 64): Promise<string> {
  return new Promise((resolve, reject) => {
    open(file, READ_NOW, (err, fd) => {
      if (err) return reject(err);
      const buf = Buffer.allocUnsafe(bytes);
      read(fd, buf, 0, bytes, 0, (readErr, n) => {
        close(fd, () => (readErr ? reject(readErr) : resolve(buf.toString('utf8', 0, n))));
      });
    });
  });
}

/** A file's first `head` bytes and last `tail` bytes (the whole file when it is shorter), in one open. */
export function readEnds(file: string, head: number, tail: number): Promise<{ head: string; tail: string }> {
  return new Promise((resolve, reject) => {
    open(file, READ_NOW, (err, fd) => {
      if (err) return reject(err);
      const done = (e: NodeJS.ErrnoException | null, result?: { head: string; tail: string }) => close(fd, () => (e ? reject(e) : resolve(result!)));
      const buf = Buffer.allocUnsafe(head);
      read(fd, buf, 0, head, 0, (e1, n1) => {
        if (e1) return done(e1);
        const first = buf.toString('utf8', 0, n1);
        if (n1 < head) return done(null, { head: first, tail: first });
        fstat(fd, (e2, st) => {
          // Stryker disable next-line ConditionalExpression: not testable — fstat of a descriptor just opened and read fails only on an I/O error
          if (e2) return done(e2);
          const end = Buffer.allocUnsafe(Math.min(tail, st.size));
          read(fd, end, 0, end.length, st.size - end.length, (e3, n3) => done(e3, { head: first, tail: end.toString('utf8', 0, n3) }));
        });
      });
    });
  });
}
