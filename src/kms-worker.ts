/**
 * The extension's KMS worker thread (core/kms/worker-transport.ts): loads the SDK bundle beside
 * it (dist/kms-runtime.js, through V8's code cache like every bundle of the extension's) and
 * serves KMS requests from the extension host's thread.
 */
import path = require('node:path');
import { parentPort } from 'node:worker_threads';
import { requireCached } from './code-cache';
import type * as Runtime from './kms-runtime';

const runtime = requireCached(path.join(__dirname, 'kms-runtime.js'), { name: 'vscode-kms-runtime', saveAfterMs: 10_000 }) as typeof Runtime;
runtime.serveKms(parentPort!);
