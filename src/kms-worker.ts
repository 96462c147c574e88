/**
 * The extension's KMS worker thread (core/kms/worker-transport.ts): loads the SDK bundle beside
 * it (dist/kms-runtime.js, through V8's code cache like every bundle of the extension's) and
 * serves KMS requests from the extension host's thread.
 */
import { parentPort } from 'node:worker_threads';
import { requireBundle } from './extension/bundles';
import type * as Runtime from './kms-runtime';

(requireBundle('kms-runtime') as typeof Runtime).serveKms(parentPort!);
