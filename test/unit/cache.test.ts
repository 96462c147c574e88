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
});
