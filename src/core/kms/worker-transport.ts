/**
 * KMS requests sent from a worker thread (dist/kms-worker.js, which serves them with the SDK:
 * serve-kms.ts). The extension sends its requests this way: loading the SDK (~330 KB to compile),
 * resolving credentials, signing and parsing answers then never hold the editor's host, whose
 * thread is left for the user's typing.
 *
 * The worker shares this process's environment (AWS_PROFILE, AWS_CONFIG_FILE… as they are when a
 * request is sent) and holds no data key between requests: a key KMS gives is copied to this
 * thread and wiped there.
 */
import { SHARE_ENV, Worker } from 'node:worker_threads';
import { KmsAction, KmsClientSpec, KmsRequestError, KmsRequests, KmsTransport } from './transport';

/** What this thread sends the worker: a request, or the abort of one. */
export type ToWorker = { readonly id: number; readonly spec: KmsClientSpec; readonly action: KmsAction; readonly input: KmsRequests[KmsAction]['input'] } | { readonly abort: number };

/** What the worker answers: the output, or the error's parts that messages are made of (an Error's own fields do not cross threads). */
export type FromWorker =
  | { readonly id: number; readonly output: KmsRequests[KmsAction]['output'] }
  | { readonly id: number; readonly error: { readonly name?: string; readonly message: string; readonly code?: string; readonly httpStatusCode?: number; readonly endpoint?: string } };

interface Pending {
  resolve(output: unknown): void;
  reject(err: KmsRequestError): void;
}

export class WorkerTransport implements KmsTransport {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  /** `script`: the worker's file (dist/kms-worker.js), started on the first request. */
  constructor(private readonly script: string) {}

  /** Whether the worker was started (the SDK loads there, never here). */
  get started(): boolean {
    return this.worker !== undefined;
  }

  send<A extends KmsAction>(spec: KmsClientSpec, action: A, input: KmsRequests[A]['input'], signal: AbortSignal): Promise<KmsRequests[A]['output']> {
    const worker = this.start();
    // Stryker disable next-line UpdateOperator: equivalent — ids counting down are as unique
    const id = this.nextId++;
    return new Promise<KmsRequests[A]['output']>((resolve, reject) => {
      const abort = () => worker.postMessage({ abort: id } satisfies ToWorker);
      // a signal that outlives its request (the provider makes one per request; another caller
      // may not) would post aborts for settled ids: the worker ignores them, but they are not sent
      // Stryker disable StringLiteral,ObjectLiteral,BooleanLiteral: equivalent for the provider's signals, made per request (see above)
      this.pending.set(id, {
        resolve: (output) => {
          signal.removeEventListener('abort', abort);
          resolve(output as KmsRequests[A]['output']);
        },
        reject: (err) => {
          signal.removeEventListener('abort', abort);
          reject(err);
        },
      });
      signal.addEventListener('abort', abort, { once: true });
      // Stryker restore StringLiteral,ObjectLiteral,BooleanLiteral
      this.track();
      worker.postMessage({ id, spec, action, input } satisfies ToWorker);
      if (signal.aborted) abort();
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.script, { env: SHARE_ENV });
    worker.unref(); // an idle worker keeps no process alive (one with requests in flight does: track())
    worker.on('message', (m: FromWorker) => this.settle(m));
    worker.on('error', () => undefined); // a crash is told by the 'exit' that follows (without a listener, it would throw here)
    worker.on('exit', () => {
      if (this.worker !== worker) return; // destroy() has settled its requests already
      this.worker = undefined;
      // named for the message: "KMS did not answer … (KmsWorkerExited)"
      // Stryker disable next-line StringLiteral: equivalent — the message shows the name, not this
      const reason = Object.assign(new Error('the KMS worker thread stopped'), { name: 'KmsWorkerExited' });
      for (const p of this.pending.values()) p.reject(new KmsRequestError(reason, undefined));
      this.pending.clear();
    });
    this.worker = worker;
    return worker;
  }

  /** The worker holds the process open while it has requests in flight, as a socket of the SDK's would. */
  private track(): void {
    if (this.pending.size) this.worker?.ref();
    else this.worker?.unref();
  }

  private settle(m: FromWorker): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    this.track();
    if ('output' in m) return p.resolve(m.output);
    const { name, message, code, httpStatusCode, endpoint } = m.error;
    // the SDK's error as toKmsEnvelopeError reads it: its name, message, code and HTTP status
    // Stryker disable next-line ObjectLiteral: no fault of the local KMS gives an SDK error with neither a name nor a code, where the status is named
    const reason = Object.assign(new Error(message), { ...(name ? { name } : {}), ...(code ? { code } : {}), $metadata: { httpStatusCode } });
    p.reject(new KmsRequestError(reason, endpoint));
  }

  destroy(): void {
    const worker = this.worker;
    if (!worker) return;
    // Stryker disable next-line StringLiteral: equivalent — a stopped request is CANCELLED, whose message names the action, not this
    for (const p of this.pending.values()) p.reject(new KmsRequestError(new Error('the KMS worker thread was stopped'), undefined, true));
    this.pending.clear();
    this.worker = undefined;
    void worker.terminate();
  }
}
