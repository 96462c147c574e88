import { nextTurn, Pause } from '../core/envelope';
import type { KeyService } from '../core/kms/key-service';

/**
 * The extension host's own time on one open of the decrypted view: its wall time less the waits
 * on KMS and the pauses in which the host ran other work (an open of a large file yields every
 * thousand values, and what runs then — other extensions, the workbench's messages — is not the
 * open's cost). It also keeps the longest stretch the open held the host without a pause.
 */
export class HostTime {
  private readonly started = performance.now();
  private sliceStarted = this.started;
  private waited = 0;
  /** Time spent waiting for KMS to unwrap the data key. */
  kmsMs = 0;
  longestSliceMs = 0;

  /** The pause to give the open: it times the slice that ends and the wait that follows. */
  readonly pause: Pause = async () => {
    const paused = this.endSlice();
    await nextTurn();
    this.resume(paused);
  };

  /** The same key service, its unwrapping timed as KMS's part of the open. */
  keys(keys: KeyService): KeyService {
    return {
      generate: (refs, context) => keys.generate(refs, context),
      reEncrypt: (from, key, context) => keys.reEncrypt(from, key, context),
      allows: (keyArn) => keys.allows(keyArn),
      resolve: (key) => keys.resolve(key),
      unwrapWith: async (header) => {
        const paused = this.endSlice();
        try {
          return await keys.unwrapWith(header);
        } finally {
          this.kmsMs += performance.now() - paused;
          this.sliceStarted = performance.now();
        }
      },
    };
  }

  get wallMs(): number {
    return performance.now() - this.started;
  }

  /** The open's own share of the host's time so far. */
  get ownMs(): number {
    return this.wallMs - this.waited - this.kmsMs;
  }

  private endSlice(): number {
    const now = performance.now();
    this.longestSliceMs = Math.max(this.longestSliceMs, now - this.sliceStarted);
    return now;
  }

  private resume(paused: number): void {
    this.sliceStarted = performance.now();
    this.waited += this.sliceStarted - paused;
  }
}
