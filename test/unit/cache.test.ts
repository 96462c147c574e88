import assert from 'node:assert/strict';
import { DataKeyCache } from '../../src/core/kms/cache';

describe('data-key cache', () => {
  it('wipes a key when it expires (by age, on the timer sweep) and after its maximum uses', () => {
    let now = 1000;
    const cache = new DataKeyCache({ maxAgeMs: 100, maxUses: 2 }, () => undefined, () => now);
    cache.put('a', Buffer.alloc(32, 1));
    cache.put('b', Buffer.alloc(32, 2));
    const [a, b] = cache.rawBuffersForTest();
    assert.deepEqual(cache.get('b'), Buffer.alloc(32, 2));
    assert.ok(cache.get('b'));
    assert.equal(cache.get('b'), undefined, 'third use is refused');
    assert.ok(b.every((x) => x === 0), 'used-up key zeroed');
    now += 100;
    cache.sweep();
    assert.ok(a.every((x) => x === 0), 'expired key zeroed');
    assert.equal(cache.size, 0);
  });

  it('an expired key is wiped by the timer alone, without any call to the cache', async () => {
    const cache = new DataKeyCache({ maxAgeMs: 30, maxUses: 100 });
    cache.put('a', Buffer.alloc(32, 7));
    const [raw] = cache.rawBuffersForTest();
    // nothing touches the cache from here on: only its own timer can wipe the key
    for (let i = 0; i < 100 && raw.some((x) => x !== 0); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(raw.every((x) => x === 0), 'zeroed by the sweep timer');
    assert.equal(cache.size, 0);
  });

  it('hands out copies, so that callers wiping theirs do not wipe the cache, and clear() zeroes everything', () => {
    const cache = new DataKeyCache();
    cache.put('a', Buffer.alloc(32, 3));
    cache.get('a')!.fill(0);
    assert.deepEqual(cache.get('a'), Buffer.alloc(32, 3));
    const [raw] = cache.rawBuffersForTest();
    cache.clear();
    assert.ok(raw.every((x) => x === 0));
  });

  it('get refuses a key from the instant it expires, and hands it out until then', () => {
    let now = 1000;
    const cache = new DataKeyCache({ maxAgeMs: 100, maxUses: 100 }, () => undefined, () => now);
    cache.put('a', Buffer.alloc(32, 1));
    const [raw] = cache.rawBuffersForTest();
    now = 1099;
    assert.deepEqual(cache.get('a'), Buffer.alloc(32, 1), 'still young');
    now = 1100;
    assert.equal(cache.get('a'), undefined, 'expired at exactly its age, without a sweep');
    assert.ok(raw.every((x) => x === 0), 'and zeroed');
  });

  it('a maximum age or a maximum number of uses of 0 turns the cache off: nothing is kept', () => {
    for (const limits of [{ maxAgeMs: 0, maxUses: 10 }, { maxAgeMs: 1000, maxUses: 0 }]) {
      const cache = new DataKeyCache(limits);
      cache.put('a', Buffer.alloc(32, 1));
      assert.equal(cache.size, 0, JSON.stringify(limits));
      assert.equal(cache.get('a'), undefined);
      assert.equal(cache.sweeping, false);
    }
  });

  it('a sweep wipes only the keys past their age or uses, and keeps the others', () => {
    let now = 1000;
    const cache = new DataKeyCache({ maxAgeMs: 100, maxUses: 1 }, () => undefined, () => now);
    cache.put('used', Buffer.alloc(32, 1));
    cache.get('used'); // its one use
    cache.put('young', Buffer.alloc(32, 2));
    cache.sweep();
    assert.equal(cache.size, 1);
    assert.deepEqual(cache.get('young'), Buffer.alloc(32, 2), 'a key neither old nor used up survives the sweep');
    now = 1100;
    cache.put('fresh', Buffer.alloc(32, 3));
    cache.sweep();
    assert.deepEqual(cache.rawBuffersForTest(), [Buffer.alloc(32, 3)]);
  });

  it('the sweep timer runs only while a key is cached', () => {
    let now = 1000;
    const cache = new DataKeyCache({ maxAgeMs: 100, maxUses: 100 }, () => undefined, () => now);
    assert.equal(cache.sweeping, false);
    cache.put('a', Buffer.alloc(32, 1));
    cache.put('b', Buffer.alloc(32, 2));
    assert.equal(cache.sweeping, true);
    now = 1050;
    cache.put('b', Buffer.alloc(32, 3)); // b is younger now
    now = 1100;
    cache.sweep(); // a goes, b stays
    assert.equal(cache.size, 1);
    assert.equal(cache.sweeping, true, 'still a key to sweep');
    cache.clear();
    assert.equal(cache.sweeping, false, 'an empty cache keeps no timer');
  });
});
