import assert from 'node:assert/strict';
import { HostTime } from '../../src/extension/host-time';
import type { KeyService } from '../../src/core/kms/key-service';
import { VECTOR_STANZA } from '../support/fixtures';

/** Holds the thread for `ms`, as real work would. */
const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HostTime: the decrypted view’s share of the extension host’s time (issue 10)', () => {
  it('counts the open’s own slices, not the other work run in its pauses nor the wait on KMS', async () => {
    const t = new HostTime();
    const kms = t.keys({ unwrapWith: async () => (await sleep(60), { dek: Buffer.alloc(32), via: VECTOR_STANZA }) } as unknown as KeyService);
    busy(20);
    await kms.unwrapWith({ stanzas: [VECTOR_STANZA], context: {} });
    busy(30);
    setImmediate(() => busy(100)); // another extension's work, queued before the pause ends
    await t.pause();
    busy(20);
    assert.ok(t.kmsMs >= 60 && t.kmsMs < 100, `KMS wait ${t.kmsMs}`);
    assert.ok(t.wallMs >= 230, `wall ${t.wallMs}`);
    // 70 ms of its own; counting the other work or the wait would make it 130 ms or more
    assert.ok(t.ownMs >= 70 && t.ownMs < 120, `own ${t.ownMs}`);
    // the longest stretch without a pause is the 30 ms between KMS's answer and the pause
    assert.ok(t.longestSliceMs >= 30 && t.longestSliceMs < 60, `longest ${t.longestSliceMs}`);
  });

  it('passes every other call of the key service through unchanged', async () => {
    const seen: string[] = [];
    const svc = { generate: async () => (seen.push('generate'), { dek: Buffer.alloc(32), stanzas: [] }), reEncrypt: async () => (seen.push('reEncrypt'), VECTOR_STANZA), allows: async (a: string) => (seen.push(`allows ${a}`), true), resolve: async (k: string) => (seen.push(`resolve ${k}`), 'arn') } as unknown as KeyService;
    const k = new HostTime().keys(svc);
    await k.generate(['alias/x'], {});
    await k.reEncrypt(VECTOR_STANZA, 'arn', {});
    assert.equal(await k.allows('arn:a'), true);
    assert.equal(await k.resolve('alias/y'), 'arn');
    assert.deepEqual(seen, ['generate', 'reEncrypt', 'allows arn:a', 'resolve alias/y']);
  });
});
