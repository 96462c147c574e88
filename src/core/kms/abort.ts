/**
 * Cancelling KMS work from far above it: the extension's progress notification has a Cancel
 * button, and the KMS calls it waits for are several layers down (a file open, an unwrap).
 * An AsyncLocalStorage carries the AbortSignal through every await in between. The extension
 * and its lazily loaded SDK bundle each carry a copy of this module, so the one store lives on
 * globalThis, under a registered symbol, and both copies find the same.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const KEY = Symbol.for('kms-envelope/abort-scope');
type Holder = { [KEY]?: AsyncLocalStorage<AbortSignal> };

const scope: AsyncLocalStorage<AbortSignal> = ((globalThis as Holder)[KEY] ??= new AsyncLocalStorage<AbortSignal>());

/** Runs `fn` so that every KMS call it makes is aborted when `signal` is. */
export const withAbort = <T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> => scope.run(signal, fn);

/** The signal of the work in progress, if any. */
export const currentAbortSignal = (): AbortSignal | undefined => scope.getStore();
