/**
 * Unwrapped data keys, kept in memory for a bounded time and number of uses (the Encryption
 * SDK's caching limits), keyed by the wrapped blob and its encryption context. Every buffer it
 * held is zeroed on expiry, eviction and `clear()` (the Lock command). Callers get copies,
 * which they wipe themselves.
 */
export interface CacheLimits {
  /** Milliseconds a data key stays usable after it was unwrapped. */
  readonly maxAgeMs: number;
  /** How many times one entry may be served before it is dropped. */
  readonly maxUses: number;
}

export const DEFAULT_CACHE_LIMITS: CacheLimits = { maxAgeMs: 5 * 60_000, maxUses: 1000 };

interface Slot {
  readonly dek: Buffer;
  readonly expires: number;
  uses: number;
}

export class DataKeyCache {
  private readonly slots = new Map<string, Slot>();
  private sweeper?: NodeJS.Timeout;
  constructor(
    private readonly limits: CacheLimits = DEFAULT_CACHE_LIMITS,
    /** Called when a key is added or dropped (the extension's status bar shows locked/unlocked). */
    private readonly onChange: () => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  get(id: string): Buffer | undefined {
    const slot = this.slots.get(id);
    if (!slot) return undefined;
    if (this.now() >= slot.expires || slot.uses >= this.limits.maxUses) {
      this.drop(id);
      return undefined;
    }
    slot.uses++;
    return Buffer.from(slot.dek);
  }

  put(id: string, dek: Buffer): void {
    if (this.limits.maxAgeMs <= 0 || this.limits.maxUses <= 0) return;
    this.drop(id);
    this.slots.set(id, { dek: Buffer.from(dek), expires: this.now() + this.limits.maxAgeMs, uses: 0 });
    // Expired keys are wiped by a timer too, not only when next asked for.
    this.sweeper ??= setInterval(() => this.sweep(), Math.min(this.limits.maxAgeMs, 30_000)).unref();
    this.onChange();
  }

  /** Wipes the keys that are past their age or uses. */
  sweep(): void {
    const now = this.now();
    for (const [id, slot] of [...this.slots]) if (now >= slot.expires || slot.uses >= this.limits.maxUses) this.drop(id);
  }

  get size(): number {
    return this.slots.size;
  }

  /** Zeroes and forgets every data key. */
  clear(): void {
    for (const id of [...this.slots.keys()]) this.drop(id);
  }

  /** Whether the sweep timer runs (only while a key is cached: an idle cache keeps no timer). */
  get sweeping(): boolean {
    return this.sweeper !== undefined;
  }

  /** For the tests that prove wiping: the live buffers, not copies. */
  rawBuffersForTest(): Buffer[] {
    return [...this.slots.values()].map((s) => s.dek);
  }

  private drop(id: string): void {
    const slot = this.slots.get(id);
    if (!slot) return;
    slot.dek.fill(0);
    this.slots.delete(id);
    if (this.slots.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
    this.onChange();
  }
}
