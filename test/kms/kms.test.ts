import assert from 'node:assert/strict';
import { LOCAL_ACCOUNT_KEYS } from '../support/accounts';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { config, load } from '../../src/api';
import { isKmsEnvelopeError, KmsEnvelopeError } from '../../src/core/errors';
import { AgentClient } from '../../src/core/agent/client';
import { serveAgent } from '../../src/core/agent/server';
import { withAbort } from '../../src/core/kms/abort';
import { KmsKeyProvider, KmsOptions } from '../../src/core/kms/aws-kms';
import type { KmsTransport } from '../../src/core/kms/transport';
import { WorkerTransport } from '../../src/core/kms/worker-transport';
import { encryptFile, openTextFile, addKey, removeKey, rotateFile, loadEnvFiles, decryptFile, newFileKey } from '../../src/core/operations';
import { assemble, encryptRanges, joinSealed } from '../../src/core/envelope';
import { parseHeader } from '../../src/core/header';
import { NOBODY, OTHER_ACCOUNT, READER, ROLE_ARN, Sandbox, startSandbox } from '../support/aws-sandbox';
import { withEnv } from '../support/with-env';

const ENV = '# app\nDB_PASSWORD="correct horse"\nAPI_KEY=sk_live_123\n';

/**
 * Where the provider's requests go: the SDK in this thread (the CLI's way), or the KMS worker
 * thread of dist/kms-worker.js (the extension's). Every test runs both ways.
 */
const TRANSPORTS: { readonly name: string; readonly make?: () => KmsTransport }[] = [
  { name: 'sent from this thread' },
  { name: 'sent from the KMS worker thread, as the extension sends them', make: () => new WorkerTransport(path.join(__dirname, '../../dist/kms-worker.js')) },
];

for (const via of TRANSPORTS) describe(`KMS integration (local KMS over HTTP, real SDK and provider chain), requests ${via.name}`, function () {
  let sb: Sandbox;
  let file: string;
  let transport: KmsTransport | undefined;
  const provider = (o: KmsOptions) => new KmsKeyProvider({ ...(transport ? { transport } : {}), ...o });
  const kms = (o: KmsOptions = {}) => provider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS], maxAttempts: 3, ...o });

  before(async () => {
    sb = await startSandbox();
    sb.apply();
    transport = via.make?.();
  });
  after(() => {
    transport?.destroy();
    sb.close();
  });
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
    sb.kms.log.length = 0;
    await fails(decryptFile(file, kms({ maxAttempts: 1 }), { kind: 'in-place' }), 'KMS_UNAVAILABLE', /after retries/);
    assert.equal(sb.kms.count('Decrypt'), 1, 'maxAttempts 1: no retry');
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
    assert.match(e.message, / within 1 s \(TimeoutError\)$/);
    assert.equal(e.hint, 'KMS did not answer in time: check the network, a proxy or VPN, and the region, then retry. Nothing was changed.');
  });

  it('work cancelled before its KMS request is sent ends as CANCELLED, not with the answer', async () => {
    const controller = new AbortController();
    controller.abort();
    await fails(withAbort(controller.signal, () => kms().describe('alias/test')), 'CANCELLED');
  });

  it('a file\'s profile and role (when the user lets files choose) each get a provider of their own, kept; the user\'s own is this one', async () => {
    const p = kms({ fileProfiles: true });
    assert.equal(kms().forFileProfile('reader'), undefined, 'not without the user\'s say');
    assert.equal(p.forFileProfile(undefined), p);
    assert.equal(p.forFileProfile('default'), p);
    const reader = p.forFileProfile('reader')!;
    const nobody = p.forFileProfile('nobody')!;
    const role = p.forFileProfile('nobody', ROLE_ARN)!;
    const ownRole = p.forFileProfile('default', ROLE_ARN)!;
    assert.equal(new Set([p, reader, nobody, role, ownRole]).size, 5);
    assert.equal(p.forFileProfile('reader'), reader);
    assert.equal(p.forFileProfile('nobody', ROLE_ARN), role);
    assert.notEqual(p.forFileProfile('nobody', `${ROLE_ARN}-2`), role, 'another role, another provider');
    // each signs with its own credentials (one connection pool, one credential chain per profile and role)
    sb.kms.log.length = 0;
    for (const asker of [reader, nobody, role, role, reader]) await asker.describe('alias/test').catch(() => undefined); // allowed or not: the log says who asked
    const who = sb.kms.log.map((e) => [e.action, e.accessKeyId.startsWith('ASIA') ? 'session' : e.accessKeyId]);
    assert.deepEqual(who, [
      ['DescribeKey', READER.accessKeyId],
      ['DescribeKey', NOBODY.accessKeyId],
      ['AssumeRole', NOBODY.accessKeyId],
      ['DescribeKey', 'session'],
      ['DescribeKey', 'session'],
      ['DescribeKey', READER.accessKeyId],
    ], 'the role is assumed once, its session kept');
    p.destroy();
  });

  it('asks a profile\'s credentials once, however many regions its keys are in (credential_process runs once)', async () => {
    const counter = path.join(sb.dir, `process-runs-${Math.random().toString(36).slice(2)}`);
    const helper = path.join(sb.dir, 'counted-process.js');
    await fs.writeFile(helper, `require('fs').appendFileSync(${JSON.stringify(counter)}, 'run\\n'); process.stdout.write(JSON.stringify({ Version: 1, AccessKeyId: 'AKIAPROCESS00000LOCAL', SecretAccessKey: 'process-secret-key-for-local-kms-tests', SessionToken: 'process-session-token' }))`);
    const config = path.join(sb.dir, `config-counted-${Math.random().toString(36).slice(2)}`);
    await fs.writeFile(config, `[profile counted]\nregion = us-east-1\ncredential_process = ${process.execPath} ${helper}\n`);
    await withEnv({ AWS_CONFIG_FILE: config }, async () => {
      const p = kms({ profile: 'counted' });
      await p.describe('alias/test');
      await p.describe('arn:aws:kms:eu-west-1:000000000000:alias/test').catch(() => undefined); // another region: another client
      p.destroy();
    });
    assert.equal((await fs.readFile(counter, 'utf8')).split('\n').filter(Boolean).length, 1);
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
    const e = await fails(opening, 'CANCELLED');
    assert.deepEqual([e.message, e.hint], ['cancelled while waiting for kms:Decrypt', 'Nothing was changed.']);
    assert.ok(Date.now() - started < 5_000);
    assert.equal(sb.kms.count('Decrypt'), 1, 'one request, abandoned, not retried');
  });

  it('lists the account’s aliases page by page (KMS answers 50 at a time), leaving out AWS managed ones', async () => {
    const names = Array.from({ length: 60 }, (_, i) => `alias/page-${String(i).padStart(2, '0')}`);
    for (const n of names) sb.kms.createAlias(n, sb.keyArn);
    const p = kms();
    const aliases = await p.listAliases();
    assert.equal(sb.kms.count('ListAliases'), 2);
    assert.equal(p.calls, 2);
    assert.deepEqual(
      aliases.map((a) => a.alias),
      ['alias/test', 'alias/other', ...names],
    );
    const keyId = sb.keyArn.slice(sb.keyArn.lastIndexOf('/') + 1);
    assert.deepEqual(aliases[2], { alias: 'alias/page-00', keyId, account: '000000000000' });
  });

  it('describes a key: its ARN, and the alias when an alias was typed', async () => {
    const p = kms();
    assert.deepEqual(await p.describe('alias/test'), { arn: sb.keyArn, alias: 'alias/test' });
    assert.deepEqual(await p.describe(sb.keyArn), { arn: sb.keyArn });
    assert.deepEqual(await p.describe(sb.keyArn.slice(sb.keyArn.lastIndexOf('/') + 1)), { arn: sb.keyArn });
    assert.equal(sb.kms.count('DescribeKey'), 3);
  });

  it('wraps for at most 16 keys, each once however often it is named, and needs one', async () => {
    const p = kms();
    const none = await fails(p.generate([], {}), 'CONFIG');
    assert.deepEqual([none.message, none.hint], ['no KMS key chosen', 'Choose a key: --key (or KMS_ENVELOPE_KEY); in VS Code, KMS Envelope: Select KMS Key.']);
    assert.equal(none.editorHint, 'Choose a key: KMS Envelope: Select KMS Key.');
    const same = Array.from({ length: 15 }, (_, i) => `alias/same-${i}`);
    for (const n of same) sb.kms.createAlias(n, sb.keyArn);
    assert.equal((await fails(p.generate([sb.keyArn, ...same, 'alias/other'], {}), 'USAGE')).message, '17 KMS keys; a file can be wrapped for at most 16');
    assert.equal(sb.kms.count(), 0, 'refused before any call');
    const { stanzas } = await p.generate([sb.keyArn, ...same], {});
    assert.deepEqual(stanzas.map((s) => s.keyArn), [sb.keyArn], 'sixteen names of one key: one stanza');
    assert.equal(sb.kms.count('Encrypt'), 0);
    const again = await p.generate([sb.keyArn, sb.otherKeyArn, 'alias/other'], {});
    assert.deepEqual(again.stanzas.map((s) => s.keyArn), [sb.keyArn, sb.otherKeyArn], 'a further key named twice wraps once');
    assert.equal(sb.kms.count('Encrypt'), 1);
  });

  it('names the key, the name it was asked by and the allow-list when a key is refused', async () => {
    await fails(kms({ allowedKeys: [sb.keyArn] }).generate([sb.keyArn, 'alias/other'], {}), 'KEY_NOT_ALLOWED', new RegExp(`^KMS key ${sb.otherKeyArn} \\(alias/other\\) is not in the allow-list \\(${sb.keyArn}\\) `));
    await fails(kms({ allowedKeys: [sb.keyArn] }).generate([sb.otherKeyArn], {}), 'KEY_NOT_ALLOWED', new RegExp(`^KMS key ${sb.otherKeyArn} is not in the allow-list \\(${sb.keyArn}\\) `));
    const two = await fails(kms({ allowedKeys: [sb.keyArn, 'arn:aws:kms:*:111111111111:key/*'] }).generate([sb.otherKeyArn], {}), 'KEY_NOT_ALLOWED');
    assert.equal(two.message, `KMS key ${sb.otherKeyArn} is not in the allow-list (${sb.keyArn}, arn:aws:kms:*:111111111111:key/*)`);
    await fails(provider({ profile: 'default' }).generate([sb.keyArn], {}), 'KEY_NOT_ALLOWED', new RegExp(`^KMS key ${sb.keyArn} is not in the allow-list: nothing is allowed yet `));
  });

  it('a file wrapped only for keys outside the allow-list is refused with the keys named, and how to allow them', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn, sb.otherKeyArn] });
    sb.kms.log.length = 0;
    const outside = await fails(openTextFile(file, kms({ allowedKeys: ['arn:aws:kms:*:111111111111:key/*'] })), 'KEY_NOT_ALLOWED');
    assert.equal(outside.message, `the file names only KMS keys outside the allow-list: ${sb.keyArn}, ${sb.otherKeyArn}`);
    assert.equal(outside.editorHint, 'If you trust these keys, allow them: Allow These Keys in the warning about them, or the user setting kmsEnvelope.allowedKeys.');
    assert.equal(outside.hint, 'If you trust these keys, add them (or their account) to the allow-list: --allowed-keys / KMS_ENVELOPE_ALLOWED_KEYS, or the user setting kmsEnvelope.allowedKeys.');
    const none = await fails(openTextFile(file, provider({ profile: 'default' })), 'KEY_NOT_ALLOWED');
    assert.equal(none.message, `no KMS key is allowed yet, and the file names ${sb.keyArn}, ${sb.otherKeyArn}`);
    assert.equal(sb.kms.count(), 0);
  });

  it('tells which of a file’s keys it leaves out, only when another one is used', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn, sb.otherKeyArn] });
    const ignored: string[][] = [];
    await openTextFile(file, kms({ allowedKeys: [sb.keyArn], onIgnoredKeys: (k) => ignored.push(k) }));
    assert.deepEqual(ignored, [[sb.otherKeyArn]]);
    await openTextFile(file, kms({ onIgnoredKeys: (k) => ignored.push(k) }));
    assert.equal(ignored.length, 1, 'nothing left out');
  });

  it('without an allow-list, only the chosen keys are allowed, not their accounts (security review F6): an ARN needs no call, and a failed lookup is tried again', async () => {
    const byArn = provider({ profile: 'default', chosenKeys: [sb.keyArn] });
    assert.equal(await byArn.allows(sb.keyArn), true);
    assert.equal(await byArn.allows(sb.otherKeyArn), false, 'another key of the same account');
    assert.equal(byArn.calls, 0);
    const byAlias = provider({ profile: 'default', chosenKeys: [`arn:aws:kms:us-east-1:000000000000:alias/test`] });
    assert.equal(await byAlias.allows(sb.keyArn), true, 'the key an alias ARN names');
    assert.equal(await byAlias.allows(sb.otherKeyArn), false);
    const later = provider({ profile: 'default', chosenKeys: ['alias/not-yet'] });
    await fails(later.allows(sb.keyArn), 'KEY_UNUSABLE');
    sb.kms.createAlias('alias/not-yet', sb.keyArn);
    assert.equal(await later.allows(sb.keyArn), true);
    assert.equal(await later.allows(sb.otherKeyArn), false);
    // the account form stays, written by the user
    assert.equal(await provider({ profile: 'default', allowedKeys: ['arn:aws:kms:*:000000000000:key/*'], chosenKeys: [sb.keyArn] }).allows(sb.otherKeyArn), true);
  });

  it('an account pattern the user wrote warns once, naming its keys, when a file is wrapped only for keys not chosen; never for the chosen key or without a pattern (security review F6)', async () => {
    await encryptFile(file, kms(), { keys: [sb.otherKeyArn] });
    const told: string[][] = [];
    const p = kms({ chosenKeys: [sb.keyArn], onUnchosenOnly: (k) => told.push(k) });
    await openTextFile(file, p);
    await openTextFile(file, p);
    assert.deepEqual(told, [[sb.otherKeyArn]], 'once per set of keys');
    const mine = path.join(path.dirname(file), 'mine.env');
    await fs.writeFile(mine, 'A=1\n');
    await encryptFile(mine, kms(), { keys: [sb.keyArn, sb.otherKeyArn] });
    await openTextFile(mine, p);
    assert.deepEqual(told, [[sb.otherKeyArn]], 'a file the chosen key can read: no warning');
    const noPattern = kms({ allowedKeys: [], chosenKeys: [sb.otherKeyArn], onUnchosenOnly: (k) => told.push(k) });
    await openTextFile(file, noPattern);
    assert.equal(told.length, 1);
    // another set of unchosen keys is said too
    const third = path.join(path.dirname(file), 'third.env');
    const thirdKey = sb.kms.createKey('a third key');
    await fs.writeFile(third, 'A=1\n');
    await encryptFile(third, kms(), { keys: [thirdKey] });
    await openTextFile(third, p);
    assert.deepEqual(told, [[sb.otherKeyArn], [thirdKey]]);
  });

  it('says nothing it cannot know without a KMS call (a chosen alias not yet resolved), nothing for a file it then refuses, and works without a listener', async () => {
    await encryptFile(file, kms(), { keys: [sb.otherKeyArn] });
    const told: string[][] = [];
    // the alias of the chosen key is resolved only by a call that needs it: until then, no claim about the file's keys
    await openTextFile(file, kms({ chosenKeys: ['alias/test'], onUnchosenOnly: (k) => told.push(k) }));
    assert.equal(told.length, 0);
    // a file no allowed key can read is refused, and that is all that is said
    await assert.rejects(openTextFile(file, kms({ allowedKeys: [sb.keyArn], chosenKeys: [sb.keyArn], onUnchosenOnly: (k) => told.push(k) })), (e: unknown) => isKmsEnvelopeError(e) && e.code === 'KEY_NOT_ALLOWED');
    assert.equal(told.length, 0);
    // a caller that does not listen (the API) still reads the file
    assert.equal((await openTextFile(file, kms({ chosenKeys: [sb.keyArn] }))).plaintext, ENV);
  });

  it('with a key agent, a second provider (another process) takes the data key from it: no KMS call; the allow-list still comes first', async () => {
    const dir = await fs.mkdtemp(path.join(sb.dir, 'agent-'));
    await fs.chmod(dir, 0o700);
    const socket = path.join(dir, 'agent.sock');
    const agent = await serveAgent({ socket, maxAgeMs: 60_000, idleMs: 60_000 });
    try {
      await encryptFile(file, kms(), { keys: [sb.keyArn] });
      const first = kms({ agent: new AgentClient(socket) });
      assert.equal((await openTextFile(file, first)).plaintext, ENV);
      assert.equal(first.calls, 1);
      const second = kms({ agent: new AgentClient(socket) });
      assert.equal((await openTextFile(file, second)).plaintext, ENV);
      assert.equal(second.calls, 0, 'the agent had it');
      assert.equal(second.cache.size, 1, 'and the provider keeps it as its own cache would');
      const strict = kms({ allowedKeys: [sb.otherKeyArn], agent: new AgentClient(socket) });
      await assert.rejects(openTextFile(file, strict), (e: unknown) => isKmsEnvelopeError(e) && e.code === 'KEY_NOT_ALLOWED');
    } finally {
      await agent.stop();
    }
  });

  it('a key added by ReEncrypt opens the file alone (the same encryption context)', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn], context: { app: 'web' } });
    await addKey(file, kms(), sb.otherKeyArn);
    const onlyOther = kms({ allowedKeys: [sb.otherKeyArn] });
    assert.equal((await openTextFile(file, onlyOther)).plaintext, ENV);
  });

  it('names the action KMS refused: Encrypt for a further key, ReEncrypt for an added one', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn] });
    sb.kms.setPermissions(READER.accessKeyId, ['GenerateDataKey', 'DescribeKey', 'Decrypt']);
    try {
      const reader = () => kms({ profile: 'reader' });
      await fails(reader().generate([sb.keyArn, sb.otherKeyArn], {}), 'ACCESS_DENIED', new RegExp(`^access denied: kms:Encrypt on ${sb.otherKeyArn} for profile "reader"`));
      await fails(addKey(file, reader(), sb.otherKeyArn), 'ACCESS_DENIED', new RegExp(`^access denied: kms:ReEncrypt on ${sb.otherKeyArn} for profile "reader"`));
    } finally {
      sb.kms.setPermissions(READER.accessKeyId, ['Decrypt', 'DescribeKey']);
    }
  });

  it('names the action refused when looking a key up or listing aliases', async () => {
    const nobody = kms({ profile: 'nobody' });
    assert.equal((await fails(nobody.describe('alias/test'), 'ACCESS_DENIED')).message.split(',')[0], 'access denied: kms:DescribeKey on alias/test for profile "nobody"');
    assert.match((await fails(nobody.listAliases(), 'ACCESS_DENIED')).message, /^access denied: kms:ListAliases on \* for profile "nobody"/);
  });

  it('calls a key in its ARN’s region (any partition), anything else in the region configured, else the profile’s', async () => {
    const regions = () => sb.kms.log.map((e) => e.region);
    // a profile in another region than the keys', in files of this test's own (the SDK caches files
    // by path; and the picker tests list the shared sandbox's profiles)
    const config = path.join(sb.dir, 'config-eu');
    const credentials = path.join(sb.dir, 'credentials-eu');
    await fs.writeFile(config, '[profile eu]\nregion = eu-west-3\n');
    await fs.writeFile(credentials, (await fs.readFile(sb.env.AWS_SHARED_CREDENTIALS_FILE, 'utf8')).replace('[default]', '[eu]'));
    await withEnv({ AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: credentials }, async () => {
      const eu = kms({ profile: 'eu' }); // one provider: a client per region
      await eu.describe('alias/test');
      await eu.describe(sb.keyArn.replace(':key/', ':alias/').replace(/\/[^/]+$/, '/test'));
      await kms({ profile: 'eu', region: 'ap-south-1' }).describe('alias/test');
      assert.deepEqual(regions(), ['eu-west-3', 'us-east-1', 'ap-south-1']);
      sb.kms.log.length = 0;
      await kms({ profile: 'eu' }).generate(['arn:aws-cn:kms:cn-north-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab'], {}).catch(() => undefined);
      await kms({ profile: 'eu' }).describe('not-arn:aws:kms:us-west-2:000000000000:key/x').catch(() => undefined);
      assert.deepEqual(regions(), ['cn-north-1', 'eu-west-3'], 'a key id that only holds an ARN is no ARN');
    });
  });


  it('destroy closes its connections to KMS (a CLI exits without waiting for keep-alive)', async () => {
    sb.kms.dropConnections(); // those of the providers before
    // a transport of its own, destroyed with the provider (the extension's Keys does the same)
    const own = via.make?.();
    const p = kms(own ? { transport: own } : {});
    await p.describe('alias/test');
    assert.equal(await sb.kms.connections(), 1, 'the SDK keeps its connection open');
    p.destroy();
    own?.destroy();
    const until = Date.now() + 2000;
    while ((await sb.kms.connections()) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await sb.kms.connections(), 0);
  });

  it('a deadline ends a hung call inside a cancellable scope too (both signals)', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn] });
    sb.kms.injectFault({ kind: 'delay', action: 'Decrypt', times: Infinity, delayMs: 30_000 });
    const controller = new AbortController();
    await fails(withAbort(controller.signal, () => openTextFile(file, kms({ deadlineMs: 500, requestTimeoutMs: 60_000 }))), 'KMS_UNAVAILABLE', /within 0\.5 s/);
  });

  it('refuses a data key that is not 32 bytes (a misbehaving endpoint), the file untouched', async () => {
    await encryptFile(file, kms(), { keys: [sb.keyArn] });
    const before = await fs.readFile(file, 'utf8');
    sb.kms.injectFault({ kind: 'shortPlaintext', action: 'Decrypt', times: 1 });
    const e = await fails(decryptFile(file, kms(), { kind: 'in-place' }), 'INVALID_CIPHERTEXT');
    assert.equal(e.message, `the key wrapped under ${sb.keyArn} is not a 32-byte data key`);
    assert.equal(await fs.readFile(file, 'utf8'), before);
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
