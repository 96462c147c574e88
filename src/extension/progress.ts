import vscode = require('vscode');
import { withAbort } from '../core/kms/abort';

/**
 * Progress for work that may wait on KMS: a spinner in the status bar at once, and a
 * notification with Cancel only if the work takes long enough to notice (a cached data key
 * takes ~1 ms). Cancel aborts the KMS requests in flight (withAbort), not only the wait.
 */
export function withProgress<T>(title: string, task: () => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const work = withAbort(controller.signal, task);
  let done = false;
  const settled = work.then(
    () => (done = true),
    () => (done = true),
  );
  vscode.window.setStatusBarMessage(`$(sync~spin) KMS Envelope: ${title}…`, settled);
  setTimeout(() => {
    if (done) return;
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `KMS Envelope: ${title}…`, cancellable: true }, (_progress, token) => {
      token.onCancellationRequested(() => controller.abort());
      return settled;
    });
  }, 500);
  return work;
}
