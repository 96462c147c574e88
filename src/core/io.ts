/**
 * File I/O at the edge of the core: atomic writes and reading a file with its sidecar.
 * A write goes to a temporary sibling (ciphertext only, never plaintext) that is fsynced and
 * renamed over the target, so that a crash or a failed KMS call leaves the old file intact.
 */
import { randomBytes } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { SIDECAR_SUFFIX } from './formats/comment-syntax';

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
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Removes temporary siblings left by writers that were killed mid-write (they hold ciphertext only). */
export async function removeStaleTemps(target: string): Promise<number> {
  const prefix = `.${path.basename(target)}.`;
  const names = await fs.readdir(path.dirname(target)).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const m = name.startsWith(prefix) && name.endsWith(TEMP_SUFFIX) ? /\.(\d+)\.[0-9a-f]{12}\.kms-envelope-tmp$/.exec(name) : null;
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) {
      await fs.unlink(path.join(path.dirname(target), name)).then(() => removed++, () => undefined);
    }
  }
  return removed;
}

/** Writes `content` to `target` atomically, keeping the target's permissions (0600 for a new file). */
export async function atomicWrite(target: string, content: Content): Promise<void> {
  await removeStaleTemps(target);
  const mode = await fs.stat(target).then((s) => s.mode & 0o777, () => 0o600);
  const tmp = tempName(target);
  const handle = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    if (typeof content === 'string' || content instanceof Uint8Array) await handle.writeFile(content);
    else for await (const chunk of content) await handle.write(chunk);
    await handle.sync();
    await handle.close();
    await fs.rename(tmp, target);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
}

export const readSidecar = (target: string): Promise<string | undefined> =>
  fs.readFile(target + SIDECAR_SUFFIX, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });

/** The first bytes of a file, to tell its store without reading it all. */
export async function readHead(file: string, bytes = 64): Promise<string> {
  const h = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await h.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await h.close();
  }
}
