import assert from 'node:assert/strict';
import { promises as fs, readdirSync } from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import { assemble, encryptRanges } from '../../src/core/envelope';
import { parseHeader } from '../../src/core/header';
import { atomicWrite } from '../../src/core/io';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import {
  addKey,
  decryptFile,
  encryptFile,
  IncompleteOutputError,
  layoutFor,
  loadEnvFiles,
  newFileKey,
  planKeys,
  removeKey,
  rotateFile,
  setEnvValue,
} from '../../src/core/operations';
import { CHUNK_BYTES } from '../../src/core/cipher';
import { LOCAL_ACCOUNT_KEYS } from '../support/accounts';
import { sandboxPerSuite } from '../support/aws-sandbox';
import { refusedAs } from '../support/errors';
import { allWiped, recordingDeks } from '../support/key-services';

/**
 * The file operations of the CLI and the editor (operations.ts) in process, against the local KMS:
 * each refusal with its exact words, which keys a file ends up wrapped for, what is written where,
 * and that every data key is wiped and every file closed when the operation ends.
 */
describe('file operations, case by case (local KMS)', function () {
  this.timeout(30_000);
  const box = sandboxPerSuite('ops-');
  const kms = (allowedKeys = [LOCAL_ACCOUNT_KEYS]) => new KmsKeyProvider({ profile: 'default', allowedKeys, maxAttempts: 1 });
  const at = box.at;
  const stanzasOf = async (file: string) => parseHeader(await fs.readFile(file, 'utf8'))!.header.stanzas.map((s) => s.keyArn);
  const NOT_ENCRYPTED_HINT = 'Encrypt it first (kms-envelope encrypt, or KMS Envelope: Encrypt File).';

  /** A file with one selection encrypted (the text store), its header inline or in a sidecar. */
  async function withSelection(file: string, placement: 'inline' | 'sidecar'): Promise<void> {
    const text = 'A=secret\n';
    const key = await newFileKey(kms(), { keys: [box.sb.keyArn] });
    const body = encryptRanges(text, [{ start: 2, end: 8 }], key);
    const sealed = assemble('text', key, body, { leader: '#', eol: '\n' }, '', placement);
    if (placement === 'inline') return atomicWrite(file, `${sealed.header}${sealed.body}`);
    await atomicWrite(file, sealed.body);
    await atomicWrite(`${file}.kms-envelope`, sealed.header);
  }
  const encrypted = async (name: string, text: string, keys = [box.sb.keyArn]) => {
    await fs.writeFile(at(name), text);
    await encryptFile(at(name), kms(), { keys });
    return at(name);
  };

  it('a new header takes the text’s line ending, from its first line', () => {
    assert.deepEqual(layoutFor('A=1\r\nB=2\n'), { leader: '#', eol: '\r\n' });
    assert.deepEqual(layoutFor('A=1\nB=2\r\n'), { leader: '#', eol: '\n' });
    assert.deepEqual(layoutFor('\nA=1\r\n', '//'), { leader: '//', eol: '\n' });
    assert.deepEqual(layoutFor('A=1'), { leader: '#', eol: '\n' });
  });

  it('every operation on a file in clear says it is not encrypted, and what to do (a .env, a binary file, a JSON file)', async () => {
    await fs.writeFile(at('.env'), 'A=1\n');
    await fs.writeFile(at('photo.bin'), Buffer.from([0xff, 0xfe, 0, 1])); // not UTF-8: not to be read as text
    await fs.writeFile(at('app.json'), '{}\n');
    for (const file of [at('.env'), at('photo.bin'), at('app.json')]) {
      const refused = refusedAs('NOT_ENCRYPTED', `${file} is not encrypted by kms-envelope`);
      for (const op of [
        () => decryptFile(file, kms(), { kind: 'in-place' }),
        () => rotateFile(file, kms(), {}),
        () => addKey(file, kms(), box.sb.otherKeyArn),
        () => removeKey(file, kms(), box.sb.keyArn),
      ]) {
        await assert.rejects(op(), (e: Error & { hint?: string }) => refused(e) && e.hint === NOT_ENCRYPTED_HINT);
      }
    }
  });

  it('refuses to encrypt what is encrypted already, a symlink (naming its target, or that it has none) and a folder', async () => {
    const file = await encrypted('.env', 'A=1\n');
    await assert.rejects(encryptFile(file, kms(), { keys: [box.sb.keyArn] }), (e: Error & { hint?: string }) => refusedAs('ALREADY_ENCRYPTED', `${file} is already encrypted`)(e) && e.hint === 'Use rotate for a new data key, or rewrap to change keys; kms-envelope import converts between kms-envelope and SOPS.');
    await fs.symlink(file, at('link.env'));
    await fs.symlink(at('gone.env'), at('dangling.env'));
    const SYMLINK_HINT = 'Name the file it points to, so that the plaintext is replaced where it lives.';
    await assert.rejects(encryptFile(at('link.env'), kms(), { keys: [box.sb.keyArn] }), (e: Error & { hint?: string }) => refusedAs('USAGE', `${at('link.env')} is a symlink to ${file}`)(e) && e.hint === SYMLINK_HINT);
    await assert.rejects(encryptFile(at('dangling.env'), kms(), { keys: [box.sb.keyArn] }), refusedAs('USAGE', `${at('dangling.env')} is a symlink to (a missing file)`));
    await fs.mkdir(at('folder.env'));
    await assert.rejects(encryptFile(at('folder.env'), kms(), { keys: [box.sb.keyArn] }), refusedAs('USAGE', `${at('folder.env')} is not a regular file`));
    assert.equal(box.sb.kms.count('GenerateDataKey'), 1, 'refused before any KMS call');
  });

  it('tells the lines left in clear, and only when there are some', async () => {
    const told: number[][] = [];
    await fs.writeFile(at('.env'), 'A=1\nÜBER=x\n');
    await encryptFile(at('.env'), kms(), { keys: [box.sb.keyArn], onClearLines: (l) => told.push(l) });
    await fs.writeFile(at('b.env'), 'A=1\n');
    await encryptFile(at('b.env'), kms(), { keys: [box.sb.keyArn], onClearLines: (l) => told.push(l) });
    assert.deepEqual(told, [[2]]);
  });

  it('a rule’s keys are used when allowed; the others are reported, by name and ARN when KMS resolved them', async () => {
    const unknown = 'alias/no-such-key';
    await fs.mkdir(at('.git'));
    await fs.writeFile(at('.kms-envelope.json'), JSON.stringify({ rules: [{ path: '*.env', keys: ['alias/test', 'alias/other', box.sb.otherKeyArn, unknown], context: { team: 'web' } }] }));
    const svc = kms([box.sb.keyArn]);
    assert.deepEqual(await planKeys(at('a.env'), svc, { keys: ['alias/mine'], context: { app: 'x' } }), {
      keys: [{ keyArn: box.sb.keyArn, alias: 'alias/test' }],
      context: { app: 'x', team: 'web' },
      rulesFile: at('.kms-envelope.json'),
      refused: [`alias/other (${box.sb.otherKeyArn})`, box.sb.otherKeyArn, unknown],
    });
    // none of the rule's keys allowed: the user's keys, with the rule's context all the same
    assert.deepEqual(await planKeys(at('a.env'), kms(['arn:aws:kms:*:111111111111:key/*']), { keys: ['alias/mine'], context: { app: 'x' } }), {
      keys: ['alias/mine'],
      context: { app: 'x', team: 'web' },
      rulesFile: at('.kms-envelope.json'),
      refused: [`alias/test (${box.sb.keyArn})`, `alias/other (${box.sb.otherKeyArn})`, box.sb.otherKeyArn, unknown],
    });
    assert.deepEqual(await planKeys(at('a.env'), svc, { keys: ['alias/mine'], explicit: true }), { keys: ['alias/mine'], context: undefined, refused: [] }, 'keys named explicitly skip the rules');
  });

  it('decrypts no symlink (in place naming its target); in place, a sidecar goes with the header', async () => {
    const file = await encrypted('.env', 'A=1\n');
    await fs.symlink(file, at('link.env'));
    await assert.rejects(decryptFile(at('link.env'), kms(), { kind: 'in-place' }), refusedAs('USAGE', `${at('link.env')} is a symlink to ${file}`));
    // to a stream, the reader's own refusal: it never follows a symlink a repository planted
    await assert.rejects(decryptFile(at('link.env'), kms(), { kind: 'stream', stream: new PassThrough() }), refusedAs('USAGE', `${at('link.env')} is a symlink; name the file it points to`));
    await withSelection(at('app.json'), 'sidecar');
    assert.equal(await decryptFile(at('app.json'), kms(), { kind: 'stream', stream: new PassThrough().resume() }), 'text');
    assert.ok(await fs.stat(at('app.json.kms-envelope')), 'decrypted to a stream: the file keeps its sidecar');
    assert.equal(await decryptFile(at('app.json'), kms(), { kind: 'in-place' }), 'text');
    assert.equal(await fs.readFile(at('app.json'), 'utf8'), 'A=secret\n');
    assert.deepEqual((await fs.readdir(box.dir)).sort(), ['.env', 'app.json', 'link.env']);
  });

  it('a whole file tampered after its first chunk: the bytes already streamed are named; tampered in the first, nothing was written', async () => {
    await fs.writeFile(at('big.bin'), Buffer.alloc(3 * CHUNK_BYTES, 7));
    await encryptFile(at('big.bin'), kms(), { keys: [box.sb.keyArn] });
    const sealed = await fs.readFile(at('big.bin'), 'latin1');
    const payload = sealed.indexOf('\n', sealed.indexOf('# mac ')) + 1;
    const flip = (offset: number) => sealed.slice(0, offset) + (sealed[offset] === 'A' ? 'B' : 'A') + sealed.slice(offset + 1);
    const sink = () => new PassThrough().resume();
    await fs.writeFile(at('late.bin'), flip(sealed.length - 100), 'latin1');
    await assert.rejects(decryptFile(at('late.bin'), kms(), { kind: 'stream', stream: sink() }), (e) => e instanceof IncompleteOutputError && / 131072 bytes of plaintext were already written to the output, which is incomplete$/.test(e.message) && e.hint === 'Discard the output: it is incomplete. Restore the file from version control.');
    await fs.writeFile(at('early.bin'), flip(payload + 100), 'latin1');
    await assert.rejects(decryptFile(at('early.bin'), kms(), { kind: 'stream', stream: sink() }), (e) => !(e instanceof IncompleteOutputError) && (e as { code?: string }).code === 'TAMPERED');
  });

  it('a whole file decrypted to a slow reader (a pipe) waits for it: the plaintext is never piled up in memory', async () => {
    const plain = Buffer.alloc(40 * CHUNK_BYTES, 3);
    await fs.writeFile(at('slow.bin'), plain);
    await encryptFile(at('slow.bin'), kms(), { keys: [box.sb.keyArn] });
    let most = 0;
    const got: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: CHUNK_BYTES,
      write(chunk: Buffer, _enc, done) {
        got.push(chunk);
        setTimeout(done, 1);
      },
    });
    // what waits for the reader, measured as each chunk is handed over
    const write = slow.write.bind(slow);
    slow.write = ((chunk: Buffer, ...rest: never[]) => {
      const more = write(chunk, ...rest);
      most = Math.max(most, slow.writableLength);
      return more;
    }) as typeof slow.write;
    await decryptFile(at('slow.bin'), kms(), { kind: 'stream', stream: slow });
    await new Promise((r) => slow.end(r));
    assert.ok(Buffer.concat(got).equals(plain), 'the whole plaintext, in order');
    assert.ok(most <= 2 * CHUNK_BYTES, `at most ${most} bytes waited for the reader (${plain.length} in all)`);
  });

  it('a whole file is closed when decrypting it fails, and every data key is wiped when an operation ends', async () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    // refused at its header's MAC, before the payload is read: the stream is left unread
    const file = await encrypted('blob.bin', 'x'.repeat(1024 * 1024));
    const sealed = await fs.readFile(file, 'latin1');
    await fs.writeFile(at('bad.bin'), sealed.replace(/^# mac .(.)/m, (line, c: string) => line.slice(0, -1) + (c === 'A' ? 'B' : 'A')), 'latin1');
    const svc0 = kms();
    await assert.rejects(decryptFile(at('bad.bin'), svc0, { kind: 'stream', stream: new PassThrough().resume() })); // its connection to KMS opened
    const before = fds();
    for (let i = 0; i < 5; i++) await assert.rejects(decryptFile(at('bad.bin'), svc0, { kind: 'stream', stream: new PassThrough().resume() }));
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(fds() <= before, `${fds()} files open, ${before} before`);

    const { svc, deks } = recordingDeks(kms());
    const dotenv = await encrypted('.env', 'A=1\n');
    await fs.writeFile(at('new.bin'), 'y');
    await encryptFile(at('new.bin'), svc, { keys: [box.sb.keyArn] });
    await decryptFile(file, svc, { kind: 'stream', stream: new PassThrough().resume() });
    await rotateFile(file, svc, {});
    await rotateFile(dotenv, svc, {});
    await setEnvValue(dotenv, svc, 'B', '2');
    await addKey(dotenv, svc, box.sb.otherKeyArn);
    await addKey(file, svc, box.sb.otherKeyArn);
    assert.ok(deks.length >= 8, `${deks.length} data keys`);
    assert.ok(allWiped(deks), 'a data key left in memory');
  });

  it('loading refuses conflict markers left in a file (encrypted or allowed in clear), and a file that is not an encrypted .env', async () => {
    const conflicted = 'A=1\n<<<<<<< HEAD\nB=ours\n=======\nB=theirs\n>>>>>>> other\n';
    const CONFLICT_HINT = 'Open it decrypted, keep one value between the markers, remove the markers and save.';
    await fs.writeFile(at('plain.env'), conflicted);
    await assert.rejects(loadEnvFiles([at('plain.env')], kms(), { allowPlaintext: true }), (e: Error & { hint?: string }) => refusedAs('FORMAT', `${at('plain.env')} has an unresolved merge conflict (markers at line 2, 4, 6)`)(e) && e.hint === CONFLICT_HINT);
    const file = await encrypted('.env', conflicted);
    // (lines of the plaintext: those of the decrypted view)
    await assert.rejects(loadEnvFiles([file], kms()), refusedAs('FORMAT', `${file} has an unresolved merge conflict (markers at line 2, 4, 6)`));
    await assert.rejects(loadEnvFiles([at('plain.env')], kms()), (e: Error & { hint?: string }) => e.hint === 'Encrypt it (kms-envelope encrypt), or, if it is meant to be plain, allow that explicitly (--allow-plaintext, or { allowPlaintext: true }).');
    await withSelection(at('sel.env'), 'inline');
    await assert.rejects(loadEnvFiles([at('sel.env')], kms()), refusedAs('USAGE', `${at('sel.env')} is not an encrypted .env file`));
    await assert.rejects(setEnvValue(at('sel.env'), kms(), 'B', '2'), refusedAs('USAGE', `${at('sel.env')} is not an encrypted .env file`));
  });

  it('removing the one allowed key of a file whose other keys are not allowed, with no key named, is refused with those keys', async () => {
    const third = box.sb.kms.createKey('third key');
    const file = await encrypted('.env', 'A=1\n', [box.sb.keyArn, box.sb.otherKeyArn, third]);
    await assert.rejects(removeKey(file, kms([box.sb.keyArn]), box.sb.keyArn), (e: Error & { hint?: string }) =>
      refusedAs('KEY_NOT_ALLOWED', `none of the keys this file names is allowed (${box.sb.otherKeyArn}, ${third})`)(e) &&
      e.hint === 'Name the key to wrap the new data key for (--key; in VS Code, Select KMS Key), or allow the file\'s keys (--allowed-keys / KMS_ENVELOPE_ALLOWED_KEYS, or the user setting kmsEnvelope.allowedKeys).' &&
      (e as { editorHint?: string }).editorHint === 'Choose the key to wrap the new data key for (KMS Envelope: Select KMS Key), or allow the file\'s keys (the user setting kmsEnvelope.allowedKeys).');
  });

  it('rotate, add and remove report the keys a file is wrapped for, whole files and sidecars included', async () => {
    const whole = await encrypted('blob.bin', 'x');
    assert.deepEqual((await rotateFile(whole, kms(), {})).stanzas.map((s) => s.keyArn), [box.sb.keyArn]);
    assert.deepEqual((await addKey(whole, kms(), 'alias/other')).map((s) => s.keyArn), [box.sb.keyArn, box.sb.otherKeyArn]);
    await assert.rejects(addKey(whole, kms(), 'alias/other'), refusedAs('USAGE', `the file is already wrapped for ${box.sb.otherKeyArn}`));
    const dotenv = await encrypted('.env', 'A=1\n');
    assert.deepEqual((await addKey(dotenv, kms(), 'alias/other')).map((s) => s.keyArn), [box.sb.keyArn, box.sb.otherKeyArn]);
    await assert.rejects(addKey(dotenv, kms(), box.sb.otherKeyArn), refusedAs('USAGE', `the file is already wrapped for ${box.sb.otherKeyArn}`));

    await withSelection(at('app.json'), 'sidecar');
    await addKey(at('app.json'), kms(), box.sb.otherKeyArn);
    assert.equal((await fs.readFile(at('app.json'), 'utf8')).includes('kms-envelope'), false, 'the header stays in the sidecar');
    const result = await removeKey(at('app.json'), kms(), box.sb.keyArn);
    assert.deepEqual(result.stanzas.map((s) => s.keyArn), [box.sb.otherKeyArn]);
    assert.deepEqual(await stanzasOf(at('app.json.kms-envelope')), [box.sb.otherKeyArn]);
    await assert.rejects(removeKey(at('app.json'), kms(), box.sb.keyArn), refusedAs('USAGE', `the file has no stanza for ${box.sb.keyArn}`));
    const last = (e: Error & { hint?: string }) => refusedAs('USAGE', 'cannot remove the last key: nobody could decrypt the file')(e) && e.hint === 'Add another key first.';
    await assert.rejects(removeKey(at('app.json'), kms(), box.sb.otherKeyArn), last);
    assert.deepEqual(await stanzasOf(at('app.json.kms-envelope')), [box.sb.otherKeyArn], 'unchanged by the refusals');
    // the header inline: a .env, and a JSON file encrypted whole (no sidecar)
    await assert.rejects(removeKey(await encrypted('b.env', 'A=1\n'), kms(), box.sb.keyArn), last);
    await assert.rejects(removeKey(await encrypted('whole.json', '{}'), kms(), box.sb.keyArn), last);
    await assert.rejects(removeKey(at('whole.json'), kms(), box.sb.otherKeyArn), refusedAs('USAGE', `the file has no stanza for ${box.sb.otherKeyArn}`));
  });
});
