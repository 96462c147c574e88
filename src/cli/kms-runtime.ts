import path = require('node:path');
import type * as Runtime from '../kms-runtime';
import { requireCached } from '../code-cache';

let loaded: typeof Runtime | undefined;

/**
 * The AWS SDK and what needs it, from its own bundle beside this one (dist/kms-runtime.js, the
 * file the extension loads too), required only by commands that call KMS: `--version`, `check`
 * and `git setup` start without parsing it; through the code cache, which halves what it costs.
 */
export const kmsRuntime = (): typeof Runtime => (loaded ??= requireCached(path.join(__dirname, 'kms-runtime.js')) as typeof Runtime);
