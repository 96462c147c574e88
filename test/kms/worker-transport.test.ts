/**
 * The extension's KMS worker thread (WorkerTransport, dist/kms-worker.js) beyond what every KMS
 * test checks of it (test/kms/kms.test.ts runs them all through it too): many requests in flight
 * at once, and a worker stopped under a request (Lock, a change of settings).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { MessageChannel, MessagePort } from 'node:worker_threads';
import { KmsEnvelopeError } from '../../src/core/errors';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { serveKms, ServedPort } from '../../src/core/kms/serve-kms';
import type { KmsClientSpec } from '../../src/core/kms/transport';
import { FromWorker, ToWorker, WorkerTransport } from '../../src/core/kms/worker-transport';
import { LOCAL_ACCOUNT_KEYS } from '../support/accounts';
import { Sandbox, startSandbox } from '../support/aws-sandbox';
import { collectChildCoverage, mutantEnv } from '../support/mutants';
import { withEnv } from '../support/with-env';

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

  it('sees the environment as it is when a request is sent (SHARE_ENV), as the SDK in this thread would', async () => {
    const transport = new WorkerTransport(WORKER);
    try {
      const p = new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS], transport });
      await p.describe('alias/test'); // the worker started with the sandbox's endpoint
      const closed = 'http://127.0.0.1:9';
      // a region not asked yet: a new client, made from the environment of now
      const e = await withEnv({ AWS_ENDPOINT_URL_KMS: closed }, () => p.describe('arn:aws:kms:eu-west-1:000000000000:alias/test').then(() => undefined, (err: unknown) => err));
      assert.ok(e instanceof KmsEnvelopeError && e.code === 'KMS_UNAVAILABLE', String(e));
      assert.match(e.message, new RegExp(` at ${closed.replace(/[.]/g, '\\.')} `));
    } finally {
      transport.destroy();
    }
  });

  it('a failure reads the same from the worker as from this thread: code, message and hint', async () => {
    const transport = new WorkerTransport(WORKER);
    const said = async (o: { profile: string; key: string; transport?: WorkerTransport }) => {
      const e = await new KmsKeyProvider({ allowedKeys: [LOCAL_ACCOUNT_KEYS], maxAttempts: 1, ...o }).describe(o.key).then(() => undefined, (err: unknown) => err);
      assert.ok(e instanceof KmsEnvelopeError, String(e));
      return `${e.code}: ${e.message} / ${e.hint}`;
    };
    try {
      const cases: [string, () => Promise<unknown>][] = [
        ['access denied', async () => undefined],
        ['a server error', async () => sb.kms.injectFault({ kind: 'error500', times: 1000 })],
        ['throttled', async () => sb.kms.injectFault({ kind: 'throttle', times: 1000 })],
        ['a connection reset', async () => sb.kms.injectFault({ kind: 'reset', times: 1000 })],
        ['a key not found', async () => undefined],
        ['nothing listening', async () => undefined],
      ];
      for (const [what, arrange] of cases) {
        sb.kms.clearFaults();
        await arrange();
        const o = { profile: what === 'access denied' ? 'nobody' : 'default', key: what === 'a key not found' ? 'alias/nothing-here' : 'alias/test' };
        // nothing listening: a new region each time, so that a new client reads the endpoint of now
        const closed = (ask: () => Promise<string>) => (what === 'nothing listening' ? withEnv({ AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:9' }, ask) : ask());
        const here = await closed(() => said(what === 'nothing listening' ? { ...o, key: 'arn:aws:kms:eu-west-2:000000000000:alias/test' } : o));
        const there = await closed(() => said({ ...o, ...(what === 'nothing listening' ? { key: 'arn:aws:kms:eu-west-2:000000000000:alias/test' } : {}), transport }));
        assert.equal(there, here, what);
      }
    } finally {
      sb.kms.clearFaults();
      transport.destroy();
    }
  });

  it('holds a process open while a request is in flight, and not once it is idle', async () => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(__dirname, '../support/kms-worker-child.ts')], {
      env: { ...process.env, ...sb.env, AWS_PROFILE: 'default', KMS_ENVELOPE_ALLOWED_KEYS: LOCAL_ACCOUNT_KEYS, ...mutantEnv() },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`still running after 20 s (printed: ${out})`)), 20_000);
        child.once('exit', (c) => (clearTimeout(timer), resolve(c)));
      });
      assert.equal(code, 0);
      assert.equal(out, sb.keyArn, 'the answer came before the process ended');
    } finally {
      child.kill('SIGKILL');
      collectChildCoverage();
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

    it('wipes its own copies of data keys: a key it was given to wrap, and one it answered with, once posted', async () => {
      // a port that hands messages over by reference (a real one copies them: the copies wiped are the worker's own)
      let deliver: (m: ToWorker) => void = () => undefined;
      const posted: FromWorker[] = [];
      const answered = new Promise<void>((resolve) => {
        const byReference: ServedPort = {
          on: (_event, listener) => (deliver = listener),
          postMessage: (m) => {
            posted.push(m);
            if (posted.length === 2) resolve();
          },
        };
        serveKms(byReference);
      });
      const dek = Buffer.alloc(32, 7);
      deliver({ id: 1, spec, action: 'Encrypt', input: { KeyId: sb.keyArn, Plaintext: dek } });
      deliver({ id: 2, spec, action: 'GenerateDataKey', input: { KeyId: sb.keyArn, KeySpec: 'AES_256' } });
      await answered;
      await new Promise((r) => setImmediate(r)); // the input is wiped when its request has settled
      assert.ok(posted.every((m) => 'output' in m), JSON.stringify(posted.map((m) => ('error' in m ? m.error : 'ok'))));
      assert.ok(dek.every((b) => b === 0), 'the key sent to be wrapped');
      const generated = posted.find((m) => m.id === 2) as { output: { Plaintext?: Uint8Array } };
      assert.ok(generated.output.Plaintext?.length === 32 && generated.output.Plaintext.every((b) => b === 0), 'the key answered');
    });
  });
});
