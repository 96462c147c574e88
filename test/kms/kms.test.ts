import assert from 'node:assert/strict';
import { LOCAL_ACCOUNT_KEYS } from '../support/accounts';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { config, load } from '../../src/api';
import { KmsEnvelopeError } from '../../src/core/errors';
import { withAbort } from '../../src/core/kms/abort';
import { KmsKeyProvider, KmsOptions } from '../../src/core/kms/aws-kms';
import { encryptFile, openTextFile, addKey, removeKey, rotateFile, loadEnvFiles, decryptFile, newFileKey } from '../../src/core/operations';
import { assemble, encryptRanges, joinSealed } from '../../src/core/envelope';
import { parseHeader } from '../../src/core/header';
import { Sandbox, startSandbox } from '../support/aws-sandbox';

const ENV = '# app\nDB_PASSWORD="correct horse"\nAPI_KEY=sk_live_123\n';

describe('KMS integration (local KMS over HTTP, real SDK and provider chain)', function () {
  let sb: Sandbox;
  let file: string;
  const kms = (o: KmsOptions = {}) => new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS], maxAttempts: 3, ...o });

  before(async () => {
    sb = await startSandbox();
    sb.apply();
  });
  after(() => sb.close());
  beforeEach(async () => {
    sb.kms.log.length = 0;
    sb.kms.clearFaults();
    file = path.join(sb.dir, `${Math.random().toString(36).slice(2)}.env`);
    await fs.writeFile(file, ENV);
  });

  async function fails(p: Promise<unknown>, code: string, ...patterns: RegExp[]): Promise<KmsEnvelopeError> {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof KmsEnvelopeError, String(e));
      assert.equal(e.code, code, `${e.code}: ${e.message}`);
      for (const p of patterns) assert.match(`${e.message} ${e.hint}`, p);
      assert.ok(!`${e.message} ${e.hint}`.includes('correct horse'));
      return e;
    }
    assert.fail('expected a failure');
  }

  it('encrypts with one GenerateDataKey, opens with one Decrypt, and none while the key is cached', async () => {
    await encryptFile(file, kms(), { keys: ['alias/test'] });
    assert.deepEqual(sb.kms.log.map((e) => e.action), ['GenerateDataKey']);
    const header = parseHeader(await fs.readFile(file, 'utf8'))!.header;
    assert.equal(header.stanzas[0].keyArn, sb.keyArn, 'the alias is resolved to the key ARN');
    assert.equal(header.stanzas[0].alias, 'alias/test');

    const reader = kms();
    sb.kms.log.length = 0;
    const opened = await openTextFile(file, reader);
    assert.equal(opened.plaintext, ENV);
    assert.equal(sb.kms.count('Decrypt'), 1);
    await openTextFile(file, reader);
    await openTextFile(file, reader);
    assert.equal(sb.kms.count(), 1, 'warm cache: no further KMS call');
  });

  it('resolves credentials through credential_process (with a session token)', async () => {
    await encryptFile(file, kms({ profile: 'proc' }), { keys: [sb.keyArn] });
    assert.equal(sb.kms.log[0].accessKeyId, 'AKIAPROCESS00000LOCAL');
  });

  it('reports access denied with the action, key and profile, and leaves the file untouched', async () => {
    await fails(encryptFile(file, kms({ profile: 'reader' }), { keys: [sb.keyArn] }), 'ACCESS_DENIED', /kms:GenerateDataKey/, new RegExp(sb.keyArn), /profile "reader"/);
    assert.equal(await fs.readFile(file, 'utf8'), ENV);
    await encryptFile(file, kms(), { keys: [sb.keyArn] });
    const before = await fs.readFile(file);
    await fails(decryptFile(file, kms({ profile: 'nobody' }), { kind: 'in-place' }), 'ACCESS_DENIED', /kms:Decrypt/, /profile "nobody"/);
    assert.deepEqual(await fs.readFile(file), before);
  });

  it('uses the KMS endpoint of the chosen profile\'s services section (the SDK alone does so only for AWS_PROFILE)', async () => {
    const env = process.env.AWS_ENDPOINT_URL_KMS;
    delete process.env.AWS_ENDPOINT_URL_KMS;
    try {
      await encryptFile(file, kms({ profile: 'svc' }), { keys: [sb.keyArn] });
      assert.deepEqual(sb.kms.log.map((e) => e.action), ['GenerateDataKey']);
    } finally {
      process.env.AWS_ENDPOINT_URL_KMS = env;
    }
  });

  it('says which `aws sso login` fixes an expired SSO session', async () => {
    await fails(encryptFile(file, kms({ profile: 'sso-expired' }), { keys: [sb.keyArn] }), 'SSO_EXPIRED', /aws sso login --profile sso-expired/);
    assert.equal(sb.kms.count(), 0);
  });

  it('says to choose a profile when there are no credentials', async () => {
    await fails(encryptFile(file, kms({ profile: 'empty' }), { keys: [sb.keyArn] }), 'NO_CREDENTIALS', /Select AWS Profile|--profile/);
  });

  it('refuses a disabled key, and a header whose encryption context was changed', async () => {
    await encryptFile(file, kms(), { keys: [sb.otherKeyArn] });
    sb.kms.setEnabled(sb.otherKeyArn, false);
    await fails(openTextFile(file, kms()), 'KEY_UNUSABLE', /disabled/);
    sb.kms.setEnabled(sb.otherKeyArn, true);
    const text = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, text.replace('{"kms-envelope":"v1"}', '{"env":"prod","kms-envelope":"v1"}'));
    await fails(openTextFile(file, kms()), 'INVALID_CIPHERTEXT', /encryption context/);
  });

  it('retries throttling and dropped connections (SDK backoff), then reports KMS unavailable with the file unchanged', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn] });
    const before = await fs.readFile(file);
    sb.kms.log.length = 0;
    sb.kms.injectFault({ kind: 'throttle', action: 'Decrypt', times: 1 });
    sb.kms.injectFault({ kind: 'reset', action: 'Decrypt', times: 1 });
    assert.equal((await openTextFile(file, kms())).plaintext, ENV);
    assert.equal(sb.kms.count('Decrypt'), 3);

    sb.kms.log.length = 0;
    sb.kms.injectFault({ kind: 'error500', action: 'Decrypt', times: Infinity });
    await fails(decryptFile(file, kms(), { kind: 'in-place' }), 'KMS_UNAVAILABLE', /after retries/);
    assert.equal(sb.kms.count('Decrypt'), 3, 'bounded: maxAttempts requests');
    assert.deepEqual(await fs.readFile(file), before);
  });

  it('gives up on a response slower than the timeout', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn] });
    sb.kms.injectFault({ kind: 'delay', action: 'Decrypt', times: Infinity, delayMs: 1500 });
    await fails(openTextFile(file, kms({ requestTimeoutMs: 300, maxAttempts: 2 })), 'KMS_UNAVAILABLE');
  });

  it('never asks KMS about a key outside the allow-list', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn] });
    sb.kms.log.length = 0;
    await fails(openTextFile(file, kms({ allowedKeys: [sb.otherKeyArn] })), 'KEY_NOT_ALLOWED', new RegExp(sb.keyArn));
    assert.equal(sb.kms.count(), 0);
    assert.equal((await openTextFile(file, kms({ allowedKeys: ['arn:aws:kms:us-east-1:000000000000:key/*'] }))).plaintext, ENV);
  });

  it('wraps for several keys; any one stanza decrypts', async () => {
    await encryptFile(file, kms(), { keys: ['alias/test', 'alias/other'] });
    // the second key is resolved to its ARN and checked against the allow-list before it gets the data key
    assert.deepEqual(sb.kms.log.map((e) => e.action), ['GenerateDataKey', 'DescribeKey', 'Encrypt']);
    sb.kms.setPermissions('AKIAREADER000000LOCAL', ['Decrypt'], [sb.otherKeyArn]);
    assert.equal((await openTextFile(file, kms({ profile: 'reader' }))).plaintext, ENV);
  });

  it('rewraps: adds a key with ReEncrypt (values keep their ciphertext); removing a key rotates the data key', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn] });
    const body = (await fs.readFile(file, 'utf8')).split('\n').slice(5).join('\n');
    sb.kms.log.length = 0;
    await addKey(file, kms(), sb.otherKeyArn);
    assert.deepEqual(sb.kms.log.map((e) => e.action), ['Decrypt', 'ReEncrypt']);
    const widened = await fs.readFile(file, 'utf8');
    assert.equal(widened.split('\n').slice(6).join('\n'), body, 'values keep their ciphertext');
    await removeKey(file, kms(), sb.keyArn);
    const text = await fs.readFile(file, 'utf8');
    assert.notEqual(text.split('\n').slice(5).join('\n'), body, 'every value encrypted again under a new data key');
    assert.notEqual(parseHeader(text)!.header.commitment.toString('hex'), parseHeader(widened)!.header.commitment.toString('hex'));
    assert.deepEqual(parseHeader(text)!.header.stanzas.map((s) => s.keyArn), [sb.otherKeyArn]);
    assert.equal((await openTextFile(file, kms())).plaintext, ENV);
  });

  it('rotates to a new data key only for keys the user allowed or named, never a key named by the file alone', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn] });
    const before = await fs.readFile(file);
    await fails(rotateFile(file, kms({ allowedKeys: [] }), {}), 'KEY_NOT_ALLOWED', /no KMS key is allowed yet/, /--key/);
    await fails(rotateFile(file, kms({ allowedKeys: [sb.otherKeyArn] }), {}), 'KEY_NOT_ALLOWED');
    assert.deepEqual(await fs.readFile(file), before);
    // with no allow-list at all, the account of the key the user chose is allowed: rotation just works
    const result = await rotateFile(file, kms({ allowedKeys: [], chosenKeys: [sb.keyArn] }), {});
    assert.deepEqual(result.stanzas.map((s) => s.keyArn), [sb.keyArn]);
    const after = await fs.readFile(file, 'utf8');
    assert.notEqual(parseHeader(after)!.header.commitment.toString('hex'), parseHeader(before.toString())!.header.commitment.toString('hex'));
    assert.equal((await openTextFile(file, kms())).plaintext, ENV);
  });

  it('rotates a file with encrypted selections (text store), tokens re-encrypted in place', async () => {
    const yaml = path.join(sb.dir, 'rotate.yaml');
    const plain = 'db:\n  password: selection-secret\n';
    const p = kms();
    const key = await newFileKey(p, { keys: [sb.keyArn] });
    const at = plain.indexOf('selection-secret');
    await fs.writeFile(yaml, joinSealed(assemble('text', key, encryptRanges(plain, [{ start: at, end: at + 16 }], key), { leader: '#', eol: '\n' })));
    const before = parseHeader(await fs.readFile(yaml, 'utf8'))!.header;
    await rotateFile(yaml, kms(), { keys: [sb.keyArn] });
    const after = await fs.readFile(yaml, 'utf8');
    assert.notEqual(parseHeader(after)!.header.commitment.toString('hex'), before.commitment.toString('hex'));
    assert.match(after, /^# kms-envelope v1 text\n[\s\S]*\n {2}password: ENC\[kmsenv:v1:[\w-]+\]\n$/);
    assert.equal((await openTextFile(yaml, kms())).plaintext, plain);
  });

  it('loads values exactly as dotenv.parse reads the plaintext', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn] });
    assert.deepEqual(await loadEnvFiles([file], kms()), { DB_PASSWORD: 'correct horse', API_KEY: 'sk_live_123' });
  });

  it('the Node API loads values into an object, or into process.env without overriding what is set', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn] });
    assert.deepEqual(await load({ path: file, profile: 'default', keys: [sb.keyArn] }), { DB_PASSWORD: 'correct horse', API_KEY: 'sk_live_123' });
    process.env.API_KEY = 'already-set';
    try {
      await config({ path: file, profile: 'default', keys: [sb.keyArn] });
      assert.equal(process.env.DB_PASSWORD, 'correct horse');
      assert.equal(process.env.API_KEY, 'already-set');
    } finally {
      delete process.env.API_KEY;
      delete process.env.DB_PASSWORD;
    }
  });

  it('a hung KMS is given up at the deadline, with the endpoint and region named, the file untouched', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn] });
    sb.kms.injectFault({ kind: 'delay', action: 'Decrypt', times: Infinity, delayMs: 20_000 });
    const started = Date.now();
    const e = await fails(openTextFile(file, kms({ deadlineMs: 1000 })), 'KMS_UNAVAILABLE', /within 1 s/, new RegExp(`at ${sb.kms.url.replace(/[.:/]/g, '\\$&')} \\(region us-east-1\\)`));
    assert.ok(Date.now() - started < 10_000, 'not the SDK\'s 3 × 10 s');
    assert.match(e.hint ?? '', /retry/i);
  });

  it('cancelling the work aborts the KMS request in flight (withAbort), with a CANCELLED error', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn] });
    sb.kms.injectFault({ kind: 'delay', action: 'Decrypt', times: Infinity, delayMs: 20_000 });
    sb.kms.log.length = 0;
    const controller = new AbortController();
    const started = Date.now();
    const opening = withAbort(controller.signal, () => openTextFile(file, kms()));
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    await fails(opening, 'CANCELLED');
    assert.ok(Date.now() - started < 5_000);
    assert.equal(sb.kms.count('Decrypt'), 1, 'one request, abandoned, not retried');
  });

  it('wipes cached data keys on clear (Lock)', async () => {
    const p = kms();
    await encryptFile(file, p, { keys: [sb.keyArn] });
    await openTextFile(file, p);
    const buffers = p.cache.rawBuffersForTest();
    assert.ok(buffers.length > 0 && buffers.every((b) => b.some((x) => x !== 0)));
    p.cache.clear();
    assert.ok(buffers.every((b) => b.every((x) => x === 0)));
    assert.equal(p.cache.size, 0);
  });
});
