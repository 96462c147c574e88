import { nextTurn, Pause } from '../core/envelope';
import type { KeyService } from '../core/kms/key-service';

/**
 * The extension host's own time on one open (or save) of the decrypted view: the CPU time of its
 * slices, the stretches in which it holds the host's thread. Not counted: the waits — on KMS
 * (the SDK's work and the round trip), on the disk, and the pauses in which the host runs other
 * work (an open of a large file yields every 250 values) — nor the time the machine gave to
 * other processes (on a busy 2-core machine, the workbench's renderer). It also keeps the longest
 * slice in wall time: how long the host could not answer anything else.
 */
export class HostTime {
  private readonly started = performance.now();
  private slice: { readonly at: number; readonly cpu: NodeJS.CpuUsage } | undefined = { at: this.started, cpu: process.cpuUsage() };
  private cpuMs = 0;
  /** Time spent in the key service's unwrapping: KMS's part. */
  kmsMs = 0;
  longestSliceMs = 0;
  /** The CPU time of that longest slice: near its clock time, the open held the thread; far below, the machine was busy elsewhere. */
  longestSliceCpuMs = 0;
  /** The most CPU time of any one slice: the longest the open's own work held the thread, whatever else the machine did. */
  mostSliceCpuMs = 0;

  /** The pause to give the open: what runs until the next turn of the event loop is not its own. */
  readonly pause: Pause = () => this.wait(nextTurn());

  /** Awaits I/O (a read, a write) as a wait, not as the open's own time; what `io` did before it was passed here is. */
  async wait<T>(io: Promise<T>): Promise<T> {
    this.endSlice();
    try {
      return await io;
    } finally {
      this.startSlice();
    }
  }

  /** The same key service, its unwrapping timed as KMS's part of the open. */
  keys(keys: KeyService): KeyService {
    return {
      generate: (refs, context) => keys.generate(refs, context),
      reEncrypt: (from, key, context) => keys.reEncrypt(from, key, context),
      allows: (keyArn) => keys.allows(keyArn),
      resolve: (key) => keys.resolve(key),
      unwrapWith: async (header) => {
        const started = performance.now();
        this.endSlice();
        try {
          return await keys.unwrapWith(header);
        } finally {
          this.kmsMs += performance.now() - started;
          this.startSlice();
        }
      },
    };
  }

  get wallMs(): number {
    return performance.now() - this.started;
  }

  /** What the extension's log says of the slices and the whole: "at most L ms at once, C ms of it CPU; at most P ms of CPU in one slice; W ms in all". */
  summary(): string {
    const ms = (n: number) => `${Math.round(n)} ms`;
    return `at most ${ms(this.longestSliceMs)} at once, ${ms(this.longestSliceCpuMs)} of it CPU; at most ${ms(this.mostSliceCpuMs)} of CPU in one slice; ${ms(this.wallMs)} in all`;
  }

  /** The CPU time of the open's slices so far (the current one included). */
  get ownMs(): number {
    return this.cpuMs + (this.slice ? cpuSince(this.slice.cpu) : 0);
  }

  private endSlice(): void {
    if (!this.slice) return;
    const wall = performance.now() - this.slice.at;
    const cpu = cpuSince(this.slice.cpu);
    if (wall > this.longestSliceMs) {
      this.longestSliceMs = wall;
      this.longestSliceCpuMs = cpu;
    }
    this.mostSliceCpuMs = Math.max(this.mostSliceCpuMs, cpu);
    this.cpuMs += cpu;
    this.slice = undefined;
  }

  private startSlice(): void {
    this.slice = { at: performance.now(), cpu: process.cpuUsage() };
  }
}

/** User and system CPU time since `from`, in ms (the whole process: on the host's thread, in a slice, that is ours). */
function cpuSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
}
