/**
 * The extension's bundles beyond its entry, required on first use by a path computed at run time,
 * so that esbuild leaves them out of the entry bundle and activation parses neither: the commands
 * (on the host's thread) and the AWS SDK (in the KMS worker thread, src/kms-worker.ts). Through
 * V8's code cache (src/code-cache.ts): about half of what compiling them from source costs. The
 * caches are named apart from the CLI's, whose Node is another. No vscode import: the worker
 * thread uses this too.
 */
import path = require('node:path');
import type * as CodeCache from '../code-cache';

/** Made once the first command has run: its functions are compiled by then. */
const SAVE_AFTER_MS = 10_000;

export function requireBundle(bundle: 'extension-engine' | 'kms-runtime'): unknown {
  // required here, not imported: activation runs none of it (nor loads node:vm and node:crypto)
  // until the first command or view needs a bundle
  const { requireCached } = require('../code-cache') as typeof CodeCache;
  return requireCached(path.join(__dirname, `${bundle}.js`), { name: `vscode-${bundle}`, saveAfterMs: SAVE_AFTER_MS });
}
