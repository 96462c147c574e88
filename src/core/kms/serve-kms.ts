/**
 * The worker thread's side of WorkerTransport: each request sent with the SDK (SdkTransport),
 * answered with its output or its error's parts. A data key in an answer is wiped here once it
 * is posted (the other thread has its own copy), and so is one sent to be wrapped (Encrypt).
 */
import { SdkTransport } from './sdk-transport';
import { KmsRequestError } from './transport';
import type { FromWorker, ToWorker } from './worker-transport';

/** What serving needs of the worker's parentPort. */
export interface ServedPort {
  on(event: 'message', listener: (m: ToWorker) => void): unknown;
  postMessage(m: FromWorker): void;
}

export function serveKms(port: ServedPort): void {
  const sdk = new SdkTransport();
  const inFlight = new Map<number, AbortController>();
  port.on('message', (m: ToWorker) => {
    if ('abort' in m) return inFlight.get(m.abort)?.abort();
    const controller = new AbortController();
    inFlight.set(m.id, controller);
    void sdk
      .send(m.spec, m.action, m.input, controller.signal)
      .then(
        (output) => {
          port.postMessage({ id: m.id, output } satisfies FromWorker);
          wipe(output);
        },
        (err: unknown) => port.postMessage({ id: m.id, error: errorParts(err) } satisfies FromWorker),
      )
      .finally(() => {
        inFlight.delete(m.id);
        wipe(m.input);
      });
  });
}

/** A data key in a request or an answer (`Plaintext`), zeroed. */
function wipe(message: object): void {
  const plaintext = (message as { Plaintext?: unknown }).Plaintext;
  if (plaintext instanceof Uint8Array) plaintext.fill(0);
}

/** What toKmsEnvelopeError reads of an SDK error, and the endpoint the request went to. */
function errorParts(err: unknown): Extract<FromWorker, { error: unknown }>['error'] {
  const reason = (err instanceof KmsRequestError ? err.reason : err) as { name?: unknown; message?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined;
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const status = reason?.$metadata?.httpStatusCode;
  return {
    name: text(reason?.name),
    message: text(reason?.message) ?? String(reason),
    code: text(reason?.code),
    ...(typeof status === 'number' ? { httpStatusCode: status } : {}),
    ...(err instanceof KmsRequestError && err.endpoint ? { endpoint: err.endpoint } : {}),
  };
}
