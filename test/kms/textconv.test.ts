import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { assemble, encryptRanges } from '../../src/core/envelope';
import { accessChange, decryptVersion, textconv } from '../../src/core/git/textconv';
import { parseHeader } from '../../src/core/header';
import { atomicWrite } from '../../src/core/io';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { addKey, encryptFile, newFileKey, readTextFile, rotateFile } from '../../src/core/operations';
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

  /** The two lines above a decrypted version: its keys and its data key's fingerprint. */
  const accessOf = async (f: string) => {
    const header = parseHeader((await fs.readFile(at(f))).toString('latin1'))!.header;
    return `[kms-envelope] keys: ${header.stanzas.map((s) => (s.alias ? `${s.alias} (${s.keyArn})` : s.keyArn)).join(', ')}\n[kms-envelope] data key: ${Buffer.from(header.commitment).toString('base64').slice(0, 12)}\n`;
  };
  const withAccess = async (f: string, plaintext: Buffer) => Buffer.concat([Buffer.from(await accessOf(f)), plaintext]);

  it('an encrypted .env and a file encrypted whole come out as their plaintext under two lines of who can read them, with one KMS call each', async () => {
    await encryptedPair();
    box.sb.kms.log.length = 0;
    assert.deepEqual(await textconv(at('.env'), kms()), { output: await withAccess('.env', Buffer.from('A=1\n')) });
    assert.match(await accessOf('.env'), new RegExp(`^\\[kms-envelope\\] keys: ${box.sb.keyArn}\n\\[kms-envelope\\] data key: [A-Za-z0-9+/]{12}\n$`));
    assert.deepEqual(await textconv(at('blob.bin'), kms()), { output: await withAccess('blob.bin', Buffer.from([0, 1, 2, 255])) });
    assert.equal(box.sb.kms.count('Decrypt'), 2);
  });

  it('a key added, a key removed and a rotation each change a line of the decrypted version (issue 21, item 6)', async () => {
    await encryptedPair();
    const first = (await textconv(at('.env'), kms())).output.toString();
    await addKey(at('.env'), kms(), 'alias/other');
    const added = (await textconv(at('.env'), kms())).output.toString();
    assert.match(added.split('\n')[0], new RegExp(`keys: ${box.sb.keyArn}, alias/other \\(${box.sb.otherKeyArn}\\)`));
    assert.equal(added.split('\n')[1], first.split('\n')[1], 'the same data key');
    await rotateFile(at('.env'), kms(), {});
    const rotated = (await textconv(at('.env'), kms())).output.toString();
    assert.notEqual(rotated.split('\n')[1], added.split('\n')[1], 'a new data key');
    assert.equal(rotated.split('\n').slice(2).join('\n'), 'A=1\n');
    const h = (t: string) => parseHeader(t)!.header;
    const v1 = h((await fs.readFile(at('.env'), 'utf8')));
    assert.equal(accessChange(v1, v1), undefined);
    const third = { type: 'aws-kms' as const, keyArn: 'arn:aws:kms:us-east-1:000000000000:key/33333333-3333-3333-3333-333333333333', wrapped: Buffer.alloc(1) };
    assert.equal(accessChange({ ...v1, stanzas: [] }, { ...v1, stanzas: [...v1.stanzas, third] }), `keys added: ${box.sb.keyArn}, alias/other (${box.sb.otherKeyArn}), ${third.keyArn}`);
    assert.equal(accessChange({ ...v1, stanzas: [...v1.stanzas, third] }, { ...v1, stanzas: [] }), `keys removed: ${box.sb.keyArn}, alias/other (${box.sb.otherKeyArn}), ${third.keyArn}`);
    assert.equal(accessChange({ ...v1, stanzas: v1.stanzas.slice(0, 1) }, v1), `key added: alias/other (${box.sb.otherKeyArn})`);
    assert.equal(accessChange(v1, { ...v1, stanzas: v1.stanzas.slice(0, 1), commitment: Buffer.alloc(32) }), `key removed: alias/other (${box.sb.otherKeyArn}); a new data key (rotated)`);
  });

  it('the data key of each version is wiped once its plaintext is out (a .env, a file encrypted whole)', async () => {
    await encryptedPair();
    const { svc, deks } = recordingDeks(kms());
    assert.deepEqual((await textconv(at('.env'), svc)).output, await withAccess('.env', Buffer.from('A=1\n')));
    assert.deepEqual((await textconv(at('blob.bin'), svc)).output, await withAccess('blob.bin', Buffer.from([0, 1, 2, 255])));
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
    assert.equal((await decryptVersion(Buffer.from(text), 'app.json', kms(), sidecar))!.plaintext.toString(), '{"a": "secret"}\n');
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
