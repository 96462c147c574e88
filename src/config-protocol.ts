/** The messages between `kms-envelope/config` (config.ts) and its worker thread (config-worker.ts). */
import type { MessagePort } from 'node:worker_threads';
import type { LoadOptions } from './api';

/** What the main thread sends the worker. */
export interface ConfigRequest {
  readonly options: LoadOptions;
  readonly port: MessagePort;
  /** Set to 1, and notified, when the reply is on the port. */
  readonly signal: Int32Array;
}

export type ConfigReply = { readonly ok: true; readonly values: Record<string, string> } | { readonly ok: false; readonly code?: string; readonly message: string; readonly hint?: string };
