import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { assemble, encryptRanges } from '../../src/core/envelope';
import { decryptVersion, textconv } from '../../src/core/git/textconv';
import { atomicWrite } from '../../src/core/io';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { encryptFile, newFileKey, readTextFile } from '../../src/core/operations';
import { LOCAL_ACCOUNT_KEYS, sandboxPerSuite } from '../support/aws-sandbox';
import { allWiped, failingUnwrap, recordingDeks } from '../support/key-services';

/**
 * git's textconv in process (git/textconv.ts), against the local KMS: a version's plaintext when it
 * verifies, else the version as it is with the reason, never a failed diff.
 */
describe('textconv: versions from the history, decrypted in memory (local KMS)', function () {
  this.timeout(30_000);
  const box = sandboxPerSuite('textconv-');
  const at = box.at;
  const kms = (profile = 'default') => new KmsKeyProvider({ profile, allowedKeys: [LOCAL_ACCOUNT_KEYS] });

  /** This test's `.env` (A=1) and `blob.bin` (four bytes), encrypted. */
  async function encryptedPair(): Promise<void> {
    await fs.writeFile(at('.env'), 'A=1\n');
    await fs.writeFile(at('blob.bin'), Buffer.from([0, 1, 2, 255]));
    await encryptFile(at('.env'), kms(), { keys: [box.sb.keyArn] });
    await encryptFile(at('blob.bin'), kms(), { keys: [box.sb.keyArn] });
  }

  it('an encrypted .env and a file encrypted whole come out as their plaintext, with one KMS call each', async () => {
    await encryptedPair();
    box.sb.kms.log.length = 0;
    assert.deepEqual(await textconv(at('.env'), kms()), { output: Buffer.from('A=1\n') });
    assert.deepEqual(await textconv(at('blob.bin'), kms()), { output: Buffer.from([0, 1, 2, 255]) });
    assert.equal(box.sb.kms.count('Decrypt'), 2);
  });

  it('the data key of each version is wiped once its plaintext is out (a .env, a file encrypted whole)', async () => {
    await encryptedPair();
    const { svc, deks } = recordingDeks(kms());
    assert.deepEqual((await textconv(at('.env'), svc)).output, Buffer.from('A=1\n'));
    assert.deepEqual((await textconv(at('blob.bin'), svc)).output, Buffer.from([0, 1, 2, 255]));
    assert.equal(deks.length, 2);
    assert.ok(allWiped(deks), 'a data key left in memory');
  });

  it('a failure without a hint is the note as it is', async () => {
    await encryptedPair();
    box.sb.kms.injectFault({ kind: 'shortPlaintext', action: 'Decrypt', times: 1 });
    const raw = await fs.readFile(at('.env'));
    assert.deepEqual(await textconv(at('.env'), kms()), { output: raw, note: `the key wrapped under ${box.sb.keyArn} is not a 32-byte data key` });
  });

  it('a failure that is not one of ours still shows the version as it is, with the failure as the note', async () => {
    await encryptedPair();
    const raw = await fs.readFile(at('.env'));
    assert.deepEqual(await textconv(at('.env'), failingUnwrap(kms(), new TypeError('socket hang up'))), { output: raw, note: 'TypeError: socket hang up' });
  });

  it('a version in clear is shown as it is, without a note or a KMS call', async () => {
    await fs.writeFile(at('plain.env'), 'A=1\n');
    box.sb.kms.log.length = 0;
    assert.deepEqual(await textconv(at('plain.env'), kms()), { output: Buffer.from('A=1\n') });
    assert.equal(await decryptVersion(Buffer.from('A=1\n'), 'plain.env', kms()), undefined);
    assert.equal(box.sb.kms.count(), 0);
  });

  it('a text file whose header is a sidecar is decrypted with the sidecar given', async () => {
    await fs.writeFile(at('app.json'), '{"a": 1}\n');
    const { selectionFile } = await encryptSelection(at('app.json'));
    const { text, sidecar } = await readTextFile(selectionFile);
    assert.ok(sidecar, 'a JSON file keeps its header in a sidecar');
    assert.equal((await decryptVersion(Buffer.from(text), 'app.json', kms(), sidecar))!.toString(), '{"a": "secret"}\n');
    assert.equal(await decryptVersion(Buffer.from(text), 'app.json', kms()), undefined, 'without its sidecar it has no header');
  });

  it('without access, or for a version that does not verify, the version is shown as it is with the reason and its hint', async () => {
    await fs.writeFile(at('denied.env'), 'A=1\n');
    await encryptFile(at('denied.env'), kms(), { keys: [box.sb.keyArn] });
    const raw = await fs.readFile(at('denied.env'));
    const denied = await textconv(at('denied.env'), kms('nobody'));
    assert.deepEqual(denied.output, raw);
    assert.equal(denied.note, `access denied: kms:Decrypt on ${box.sb.keyArn} for profile "nobody" (Ask for kms:Decrypt on this key in its key policy or IAM policy, or choose another profile.)`);
    await fs.writeFile(at('tampered.env'), raw.toString().replace(/^A=ENC\[kmsenv:v1:(.)/m, (_m, c: string) => `A=ENC[kmsenv:v1:${c === 'A' ? 'B' : 'A'}`));
    const tampered = await textconv(at('tampered.env'), kms());
    assert.match(tampered.note ?? '', /^entry A \(line \d+\) failed authentication: .* \(Nothing was decrypted\. Restore the file from version control and compare the change\.\)$/);
    await fs.writeFile(at('latin1.env'), Buffer.concat([raw, Buffer.from([0xff])]));
    assert.equal((await textconv(at('latin1.env'), kms())).note, `${at('latin1.env')} is not valid UTF-8 text (kms-envelope encrypts .env files and selections as UTF-8 text; encrypt other files whole (any non-.env file is).)`);
  });

  /** A JSON file with one value encrypted as a selection (the text store, its header in a sidecar). */
  async function encryptSelection(file: string): Promise<{ selectionFile: string }> {
    const text = '{"a": "secret"}\n';
    const key = await newFileKey(kms(), { keys: [box.sb.keyArn] });
    const start = text.indexOf('secret');
    const body = encryptRanges(text, [{ start, end: start + 'secret'.length }], key);
    const sealed = assemble('text', key, body, { leader: '#', eol: '\n' }, '', 'sidecar');
    await atomicWrite(file, sealed.body);
    await atomicWrite(`${file}.kms-envelope`, sealed.header);
    return { selectionFile: file };
  }
});
