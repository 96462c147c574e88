import assert from 'node:assert/strict';
import { LOCAL_ACCOUNT_KEYS } from '../support/accounts';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { KmsEnvelopeError } from '../../src/core/errors';
import { KmsKeyProvider, KmsOptions } from '../../src/core/kms/aws-kms';
import { b64 } from '../../src/core/bytes';
import { encryptFile, openTextFile, rotateFile } from '../../src/core/operations';
import { parseHeader } from '../../src/core/header';
import { OTHER_ACCOUNT, Sandbox, startSandbox } from '../support/aws-sandbox';

const ENV = 'TOKEN=untrusted-header-secret\n';

/** A pull request can edit the header: none of these edits may widen who holds the data key. */
describe('untrusted headers', () => {
  let sb: Sandbox;
  let file: string;
  const kms = (o: KmsOptions = {}) => new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS], ...o });
  before(async () => {
    sb = await startSandbox();
    sb.apply();
  });
  after(() => sb.close());
  beforeEach(async () => {
    file = path.join(sb.dir, `${Math.random().toString(36).slice(2)}.env`);
    await fs.writeFile(file, ENV);
    await encryptFile(file, kms(), { keys: [sb.keyArn] });
    sb.kms.log.length = 0;
  });
  const edit = async (fn: (text: string) => string) => fs.writeFile(file, fn(await fs.readFile(file, 'utf8')));
  const code = async (p: Promise<unknown>) => p.then(() => 'ok', (e) => (e instanceof KmsEnvelopeError ? e.code : String(e)));

  it('a swapped key ARN is never asked when the allow-list excludes it, and refused by KMS otherwise', async () => {
    await edit((t) => t.replace(`-> aws-kms ${sb.keyArn}`, `-> aws-kms ${sb.otherKeyArn}`));
    assert.equal(await code(openTextFile(file, kms({ allowedKeys: [sb.keyArn] }))), 'KEY_NOT_ALLOWED');
    assert.equal(sb.kms.count(), 0);
    assert.equal(await code(openTextFile(file, kms())), 'INVALID_CIPHERTEXT', 'KMS binds the blob to its key');
  });

  it('a stanza added by hand fails the MAC: stanzas are authenticated', async () => {
    const foreign = (await kms().generate([sb.otherKeyArn], parseHeader(await fs.readFile(file, 'utf8'))!.header.context)).stanzas[0];
    await edit((t) => t.replace(/\n# context /, `\n# -> aws-kms ${foreign.keyArn} ${b64(foreign.wrapped)}\n# context `));
    assert.equal(await code(openTextFile(file, kms())), 'TAMPERED');
  });

  it('a stanza for a key outside the allow-list is ignored (and reported), and rotation never wraps for it', async () => {
    const stranger = sb.kms.createKey('a stranger\'s key', OTHER_ACCOUNT);
    await fs.writeFile(file, ENV);
    await encryptFile(file, kms({ allowedKeys: [LOCAL_ACCOUNT_KEYS, stranger] }), { keys: [sb.keyArn, stranger] });
    const reported: string[][] = [];
    sb.kms.log.length = 0;
    const opened = await openTextFile(file, kms({ onIgnoredKeys: (k) => reported.push(k) }));
    assert.equal(opened.plaintext, ENV);
    assert.deepEqual(reported, [[stranger]]);
    const result = await rotateFile(file, kms(), {});
    assert.deepEqual(result.refused, [stranger]);
    assert.deepEqual(parseHeader(await fs.readFile(file, 'utf8'))!.header.stanzas.map((s) => s.keyArn), [sb.keyArn]);
    assert.ok(sb.kms.log.length > 0 && sb.kms.log.every((e) => e.keyArn === sb.keyArn), 'no KMS call names the outside key');
  });

  it('a stanza that wraps another data key, placed first, fails the key commitment', async () => {
    const foreign = (await kms().generate([sb.otherKeyArn], parseHeader(await fs.readFile(file, 'utf8'))!.header.context)).stanzas[0];
    await edit((t) => t.replace(/\n# -> /, `\n# -> aws-kms ${foreign.keyArn} ${b64(foreign.wrapped)}\n# -> `));
    assert.equal(await code(openTextFile(file, kms())), 'TAMPERED');
  });

  it('a header that claims an endpoint is rejected before any connection', async () => {
    let connections = 0;
    const evil = http.createServer((_q, r) => r.end()).on('connection', () => connections++);
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const port = (evil.address() as { port: number }).port;
    try {
      await edit((t) => t.replace(/\n# context /, `\n# endpoint http://127.0.0.1:${port}\n# context `));
      assert.equal(await code(openTextFile(file, kms())), 'FORMAT');
    } finally {
      evil.close();
    }
    assert.equal(connections, 0);
    assert.equal(sb.kms.count(), 0);
  });
});
