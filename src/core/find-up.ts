/**
 * The nearest file of a name in a file's folder or above it, up to the repository's root (where
 * `.git` is): where committed configuration (.kms-envelope.json, .sops.yaml) is looked for.
 */
import { promises as fs } from 'node:fs';
import path = require('node:path');
import { KmsEnvelopeError } from './errors';
import { succeeds } from './succeeds';

const MAX_DEPTH = 32;

/** The nearest `name` above `file` and the path of `file` relative to its folder (slash-separated). */
export async function findUp(file: string, name: string): Promise<{ found: string; rel: string } | undefined> {
  let dir = path.dirname(path.resolve(file));
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const candidate = path.join(dir, name);
    const st = await fs.lstat(candidate).catch(() => undefined);
    if (st) {
      if (!st.isFile()) throw new KmsEnvelopeError('FORMAT', `${candidate}: not a regular file`, `Make ${name} a regular file.`);
      return { found: candidate, rel: path.relative(dir, path.resolve(file)).split(path.sep).join('/') };
    }
    const atRoot = await succeeds(fs.lstat(path.join(dir, '.git')));
    const parent = path.dirname(dir);
    // Stryker disable next-line ConditionalExpression: equivalent — past the file system's root, the root is looked at again, to the depth limit
    if (atRoot || parent === dir) return undefined;
    dir = parent;
  }
  return undefined;
}
