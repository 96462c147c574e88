/**
 * Preload an encrypted `.env` the way `dotenv/config` preloads a plain one:
 *
 *     node -r kms-envelope/config app.js
 *     import 'kms-envelope/config';
 *
 * Options come from the environment (dotenv's `DOTENV_CONFIG_*`, with this prefix):
 *
 * - `KMS_ENVELOPE_CONFIG_PATH`: the file, or several separated by commas (later ones win); `.env` by default.
 * - `KMS_ENVELOPE_CONFIG_OVERRIDE=true`: the file's values replace variables already set.
 * - `KMS_ENVELOPE_CONFIG_ALLOW_ENV=PATH,NODE_OPTIONS`: take these from the file although they
 *   change what code runs (left out otherwise, and named on stderr).
 * - `KMS_ENVELOPE_CONFIG_ALLOW_PLAINTEXT=true`: accept a file without a kms-envelope header.
 * - AWS_PROFILE, AWS_REGION, KMS_ENVELOPE_KEY, KMS_ENVELOPE_ALLOWED_KEYS: as for the CLI.
 *
 * A preload must be done before the program's first line runs, and KMS is asynchronous: the
 * file is opened by the Node API in a worker thread (config-worker.ts) while this thread waits
 * on a shared word (Atomics.wait), then takes the reply from the worker's port synchronously.
 * The values travel between threads in memory only. Any failure (a missing, tampered or
 * header-less file, a key outside the allow-list, no credentials) stops the program with the
 * error's message and exit code 1: a program must not start without its secrets, or with
 * values nobody authenticated.
 *
 * In a worker thread of the program this does nothing: its environment is a copy of the main
 * thread's, which was loaded already.
 */
import path = require('node:path');
import { isMainThread, MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { LoadOptions } from './api';
import type { ConfigReply, ConfigRequest } from './config-protocol';
import { injectEnv } from './core/env-policy';

/** Longer than the SDK's retries: the worker always answers first, unless it died. */
const WAIT_MS = 120_000;

const list = (s: string | undefined): string[] => (s ?? '').split(',').map((x) => x.trim()).filter((x) => x.length > 0);
const yes = (s: string | undefined): boolean => /^(1|true|yes)$/i.test(s ?? '');

/** Opens the file(s) in a worker thread and waits for it. */
function loadSync(options: LoadOptions): ConfigReply {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  // execArgv: [] so that the worker does not preload this module again
  const worker = new Worker(path.join(__dirname, 'config-worker.js'), { workerData: { options, port: port2, signal } satisfies ConfigRequest, transferList: [port2], execArgv: [] });
  worker.unref();
  Atomics.wait(signal, 0, 0, WAIT_MS);
  const reply = receiveMessageOnPort(port1)?.message as ConfigReply | undefined;
  port1.close();
  void worker.terminate();
  return reply ?? { ok: false, code: 'KMS_UNAVAILABLE', message: `no answer within ${WAIT_MS / 1000} s` };
}

function preload(env: NodeJS.ProcessEnv): void {
  const files = list(env.KMS_ENVELOPE_CONFIG_PATH);
  const reply = loadSync({ path: files.length > 0 ? files : undefined, allowPlaintext: yes(env.KMS_ENVELOPE_CONFIG_ALLOW_PLAINTEXT) });
  if (!reply.ok) {
    process.stderr.write(`kms-envelope/config: ${reply.message}${reply.code ? ` (${reply.code})` : ''}\n${reply.hint ? `${reply.hint}\n` : ''}`);
    process.exit(1);
  }
  const { blocked } = injectEnv(env, reply.values, { override: yes(env.KMS_ENVELOPE_CONFIG_OVERRIDE), allow: list(env.KMS_ENVELOPE_CONFIG_ALLOW_ENV) });
  if (blocked.length > 0) process.stderr.write(`kms-envelope/config: left out ${blocked.join(', ')} (they change what code runs; allow with KMS_ENVELOPE_CONFIG_ALLOW_ENV)\n`);
}

if (isMainThread) preload(process.env);
