/**
 * The worker thread of `kms-envelope/config` (see config.ts): opens the file(s) with the Node
 * API, hands the values (or the error) to the waiting main thread through its port, and wakes it.
 */
import path = require('node:path');
import { workerData } from 'node:worker_threads';
import type * as Api from './api';
import type { ConfigReply, ConfigRequest } from './config-protocol';

async function serve({ options, port, signal }: ConfigRequest): Promise<void> {
  let reply: ConfigReply;
  try {
    // the API bundle beside this one (dist/api.js), so that the SDK is in one file only
    const api = require(path.join(__dirname, 'api.js')) as typeof Api;
    reply = { ok: true, values: await api.load(options) };
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown; hint?: unknown };
    reply = { ok: false, code: typeof e.code === 'string' ? e.code : undefined, message: String(e.message ?? err), hint: typeof e.hint === 'string' ? e.hint : undefined };
  }
  port.postMessage(reply);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
  port.close();
}

void serve(workerData as ConfigRequest);
