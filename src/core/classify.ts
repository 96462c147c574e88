/**
 * Which files are encrypted, found lazily: a file is classified when someone asks (the explorer
 * draws it, a menu needs it), from its first bytes, a few files at a time whatever the
 * workspace's size, and remembered until the file changes.
 *
 * A workspace scan that opens every file at once runs out of file handles (EMFILE past ~250 on
 * macOS, ~1000 on Linux) and takes the failures for plain files; here at most `concurrency`
 * handles are open, and a file that cannot be read is unknown (read again when next asked),
 * never plain.
 */
import { SIDECAR_SUFFIX } from './formats/comment-syntax';
import { storeOf } from './header';
import { hasSidecar, readEnds, readHead } from './io';
import { sidecarApplies } from './kind';
import { SOPS_TAIL_BYTES, sopsStoreOfText } from './sops/detect';

/** What the first bytes of an encrypted file tell: its store and the labels of its keys. */
export interface EncryptedFacts {
  readonly store: string;
  /** Each stanza's alias, or its key id where it has none. */
  readonly keys: string[];
}

const STANZA = /^(?:#|\/\/) -> aws-kms (\S+) \S+(?: (\S+))?\r?$/gm;

/** What a head of text says: null when it has no header. */
export function factsOf(head: string): EncryptedFacts | null {
  const store = storeOf(head);
  if (store === null) return null;
  // Stryker disable next-line Regex: equivalent — without '^', '.*' still matches from the start
  const keys = [...head.matchAll(STANZA)].map((m) => m[2] ?? m[1].replace(/^.*:key\//, 'key/'));
  return { store, keys };
}

/** What the end of a SOPS file says: its KMS keys (an alias ARN by its alias, a key by its id), or null when it is none. */
export function sopsFactsOf(tail: string, name: string): EncryptedFacts | null {
  if (!sopsStoreOfText(tail, name)) return null;
  const arns = new Set([...tail.matchAll(/arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:((?:key|alias)\/[A-Za-z0-9/_-]+)/g)].map((m) => m[1]));
  return { store: 'sops', keys: [...arns] };
}

/** Reads what a file is: its header's first lines (or its sidecar's, for types without comments), or its SOPS metadata. */
export async function sniffFile(file: string): Promise<EncryptedFacts | null> {
  if (sidecarApplies(file) && (await hasSidecar(file))) return factsOf(await readHead(file + SIDECAR_SUFFIX, 2048));
  const { head, tail } = await readEnds(file, 2048, SOPS_TAIL_BYTES);
  return factsOf(head) ?? sopsFactsOf(tail, file);
}

/** A verdict: the facts of an encrypted file, null for a plain one, undefined when it could not be read. */
export type Verdict<T> = T | null | undefined;

export interface ClassifierOptions<T> {
  readonly sniff: (file: string) => Promise<T | null>;
  /** Files read at once (open handles). */
  readonly concurrency?: number;
  /** Verdicts remembered (oldest forgotten first). */
  readonly maxEntries?: number;
}

export class Classifier<T = EncryptedFacts> {
  private readonly verdicts = new Map<string, T | null>();
  private readonly pending = new Map<string, Promise<Verdict<T>>>();
  /** Waiting reads, first in first out (a head index: Array.shift is linear, and bursts are large). */
  private queue: (() => void)[] = [];
  private head = 0;
  private running = 0;
  /** The most files read at once so far (for the benchmark). */
  peak = 0;

  constructor(private readonly opts: ClassifierOptions<T>) {}

  /** The verdict already known (undefined: never read, or unreadable), without reading anything. */
  known(file: string): Verdict<T> {
    return this.verdicts.get(file);
  }

  classify(file: string): Promise<Verdict<T>> {
    if (this.verdicts.has(file)) return Promise.resolve(this.verdicts.get(file));
    let p = this.pending.get(file);
    if (!p) {
      p = this.slot(() => this.read(file)).finally(() => this.pending.delete(file));
      this.pending.set(file, p);
    }
    return p;
  }

  /** The file changed (or is gone): it is read again when next asked. */
  forget(file: string): void {
    this.verdicts.delete(file);
  }

  /** Files whose verdict is known. */
  get size(): number {
    return this.verdicts.size;
  }

  private async read(file: string): Promise<Verdict<T>> {
    for (let attempt = 0; ; attempt++) {
      try {
        const v = await this.opts.sniff(file);
        if (this.verdicts.size >= (this.opts.maxEntries ?? 200_000)) this.verdicts.delete(this.verdicts.keys().next().value!);
        this.verdicts.set(file, v);
        return v;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // out of handles (other code in the process holds many): wait a moment, then try again
        if ((code === 'EMFILE' || code === 'ENFILE') && attempt < 3) {
          await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
          continue;
        }
        if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') return null; // not a file: nothing to mark
        return undefined;
      }
    }
  }

  private next(): void {
    if (this.head >= this.queue.length) return;
    const wake = this.queue[this.head++];
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator,ArithmeticOperator,BlockStatement: when the woken entries are dropped changes only memory, not which task is woken (a long queue's order is tested)
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    wake();
  }

  private async slot<R>(task: () => Promise<R>): Promise<R> {
    if (this.running >= (this.opts.concurrency ?? 32)) await new Promise<void>((r) => this.queue.push(r));
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    try {
      return await task();
    } finally {
      this.running--;
      this.next();
    }
  }
}
