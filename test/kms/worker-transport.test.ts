/**
 * The extension's KMS worker thread (WorkerTransport, dist/kms-worker.js) beyond what every KMS
 * test checks of it (test/kms/kms.test.ts runs them all through it too): many requests in flight
 * at once, and a worker stopped under a request (Lock, a change of settings).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { MessageChannel, MessagePort } from 'node:worker_threads';
import { KmsEnvelopeError } from '../../src/core/errors';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { serveKms } from '../../src/core/kms/serve-kms';
import type { KmsClientSpec } from '../../src/core/kms/transport';
import { FromWorker, ToWorker, WorkerTransport } from '../../src/core/kms/worker-transport';
import { LOCAL_ACCOUNT_KEYS } from '../support/accounts';
import { Sandbox, startSandbox } from '../support/aws-sandbox';

const WORKER = path.join(__dirname, '../../dist/kms-worker.js');

describe('the KMS worker thread (how the extension sends KMS requests)', function () {
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox();
    sb.apply();
  });
  after(() => sb.close());
  beforeEach(() => sb.kms.clearFaults());

  it('starts on the first request, and answers many in flight at once, each its own', async () => {
    const transport = new WorkerTransport(WORKER);
    try {
      assert.equal(transport.started, false);
      const p = new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS], transport });
      const made = await Promise.all(Array.from({ length: 12 }, (_, i) => p.generate([i % 2 ? sb.keyArn : sb.otherKeyArn], { n: String(i) })));
      assert.equal(transport.started, true);
      // each data key opens only its own file's header (the context differs), through another provider and a cold cache
      const q = new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS], transport });
      const opened = await Promise.all(made.map((m, i) => q.unwrap({ stanzas: m.stanzas, context: { n: String(i) } })));
      opened.forEach((dek, i) => assert.ok(dek.equals(made[i].dek), `request ${i} got another's answer`));
      assert.equal(new Set(made.map((m) => m.dek.toString('hex'))).size, 12);
    } finally {
      transport.destroy();
    }
  });

  it('stopped under a request (Lock, a change of settings), ends it as cancelled; the next request starts a new worker', async () => {
    const transport = new WorkerTransport(WORKER);
    const p = new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS], transport });
    try {
      await p.describe('alias/test'); // started, the SDK loaded
      sb.kms.injectFault({ kind: 'delay', action: 'DescribeKey', times: 1, delayMs: 30_000 });
      const hung = p.describe(sb.keyArn.replace(/key\/.*/, 'alias/test'));
      await new Promise((r) => setTimeout(r, 200));
      transport.destroy();
      assert.equal(transport.started, false);
      await assert.rejects(hung, (e: unknown) => e instanceof KmsEnvelopeError && e.code === 'CANCELLED' && /^cancelled while waiting for kms:DescribeKey$/.test(e.message));
      assert.deepEqual(await p.describe('alias/test'), { arn: sb.keyArn, alias: 'alias/test' });
      assert.equal(transport.started, true);
    } finally {
      transport.destroy();
    }
  });

  it('a worker that cannot start or dies fails its requests as KMS unavailable, naming it; nothing hangs', async () => {
    const transport = new WorkerTransport(path.join(__dirname, 'no-such-kms-worker.js'));
    try {
      const p = new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS], transport });
      await assert.rejects(p.describe('alias/test'), (e: unknown) => e instanceof KmsEnvelopeError && e.code === 'KMS_UNAVAILABLE' && /\(KmsWorkerExited\)$/.test(e.message));
      assert.equal(transport.started, false, 'the next request tries a new worker');
    } finally {
      transport.destroy();
    }
  });

  describe('its side of the messages (serve-kms.ts, here in this thread over a MessageChannel)', () => {
    const spec: KmsClientSpec = { region: 'us-east-1', profile: 'default', maxAttempts: 1, requestTimeoutMs: 10_000 };
    let port: MessagePort;
    let served: MessagePort;
    beforeEach(() => {
      ({ port1: port, port2: served } = new MessageChannel());
      serveKms(served);
    });
    afterEach(() => {
      port.close();
      served.close();
    });
    const reply = (m: ToWorker) =>
      new Promise<FromWorker>((resolve) => {
        port.once('message', resolve);
        port.postMessage(m);
      });

    it('answers a request with the SDK\'s output, under its id', async () => {
      const m = await reply({ id: 7, spec, action: 'GenerateDataKey', input: { KeyId: sb.keyArn, KeySpec: 'AES_256' } });
      assert.equal(m.id, 7);
      assert.ok('output' in m);
      const out = m.output as { KeyId?: string; Plaintext?: Uint8Array; CiphertextBlob?: Uint8Array };
      assert.equal(out.KeyId, sb.keyArn);
      assert.equal(out.Plaintext?.length, 32);
      assert.ok(out.Plaintext?.some((b) => b !== 0), 'the copy posted is the key, wiped only on the serving side');
    });

    it('answers a failure with what messages are made of: the error\'s name, message, HTTP status and the endpoint', async () => {
      const m = await reply({ id: 1, spec, action: 'DescribeKey', input: { KeyId: 'alias/nothing-here' } });
      assert.ok('error' in m);
      assert.equal(m.error.name, 'NotFoundException');
      assert.equal(m.error.httpStatusCode, 400);
      assert.equal(m.error.endpoint, sb.env.AWS_ENDPOINT_URL_KMS);
      assert.match(m.error.message, /alias\/nothing-here/);
    });

    it('aborts the request an abort names, and only that one', async () => {
      sb.kms.injectFault({ kind: 'delay', action: 'DescribeKey', times: 1, delayMs: 30_000 });
      const answers: FromWorker[] = [];
      const both = new Promise<void>((resolve) =>
        port.on('message', (m: FromWorker) => {
          answers.push(m);
          if (answers.length === 2) resolve();
        }),
      );
      port.postMessage({ id: 1, spec, action: 'DescribeKey', input: { KeyId: 'alias/test' } } satisfies ToWorker);
      await new Promise((r) => setTimeout(r, 200)); // the first is hung in the local KMS
      port.postMessage({ id: 2, spec, action: 'DescribeKey', input: { KeyId: 'alias/other' } } satisfies ToWorker);
      port.postMessage({ abort: 1 } satisfies ToWorker);
      port.postMessage({ abort: 99 } satisfies ToWorker); // none such: ignored
      await both;
      const first = answers.find((a) => a.id === 1)!;
      const second = answers.find((a) => a.id === 2)!;
      assert.ok('error' in first && /abort/i.test(`${first.error.name} ${first.error.message}`), JSON.stringify(first));
      assert.ok('output' in second && (second.output as { KeyMetadata?: { Arn?: string } }).KeyMetadata?.Arn === sb.otherKeyArn);
    });
  });
});
