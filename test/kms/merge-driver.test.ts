import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { assemble, joinSealed, sealDotenv, wipeFileKey } from '../../src/core/envelope';
import { GitError } from '../../src/core/git/git';
import { mergeEncrypted, MergeFiles } from '../../src/core/git/merge-driver';
import { parseHeader } from '../../src/core/header';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { addKey, encryptFile, newFileKey, openText, openTextFile, removeKey, rotateFile } from '../../src/core/operations';
import { LOCAL_ACCOUNT_KEYS, sandboxPerSuite } from '../support/aws-sandbox';
import { refusedAs } from '../support/errors';
import { allWiped, recordingDeks } from '../support/key-services';

/**
 * git's merge driver in process (git/merge-driver.ts mergeEncrypted), on the three versions git
 * hands it as files, against the local KMS: what it writes into ours, and what it says.
 */
describe('the merge driver, case by case (local KMS)', function () {
  this.timeout(30_000);
  const box = sandboxPerSuite('merge-');
  const at = box.at;
  const kms = () => new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS] });
  const L = { ours: 'HEAD', theirs: 'feature' };

  /** Writes the three versions under the names git would give them, for a repository path `name`. */
  async function versions(name: string, base: string | Buffer, ours: string | Buffer, theirs: string | Buffer): Promise<MergeFiles> {
    await fs.writeFile(at('base'), base);
    await fs.writeFile(at('ours'), ours);
    await fs.writeFile(at('theirs'), theirs);
    return { base: at('base'), ours: at('ours'), theirs: at('theirs'), path: name };
  }
  /** A .env encrypted under the test key (the file named `.env` in a folder of its own). */
  async function encrypted(text: string, keys: string[] = [box.sb.keyArn]): Promise<string> {
    const d = await fs.mkdtemp(path.join(box.dir, 'enc-'));
    await fs.writeFile(path.join(d, '.env'), text);
    await encryptFile(path.join(d, '.env'), kms(), { keys });
    return fs.readFile(path.join(d, '.env'), 'utf8');
  }
  /** A version derived from another: decrypted, edited, sealed again under its data key (as the decrypted view saves). */
  async function edited(sealed: string, edit: (plain: string) => string): Promise<string> {
    const opened = await openText(sealed, kms(), '.env');
    try {
      return joinSealed(sealDotenv(edit(opened.plaintext), opened.key, { layout: opened.layout, reuse: opened.reuse }));
    } finally {
      wipeFileKey(opened.key);
    }
  }
  /** `sealed` after a command on the file (a .env in a folder of its own): rotate, add-key. */
  async function changedBy(sealed: string, command: (file: string) => Promise<unknown>): Promise<string> {
    const file = path.join(await fs.mkdtemp(path.join(box.dir, 'changed-')), '.env');
    await fs.writeFile(file, sealed);
    await command(file);
    return fs.readFile(file, 'utf8');
  }
  const withKeys = (sealed: string, ...keys: string[]) =>
    changedBy(sealed, async (file) => {
      for (const key of keys) await addKey(file, kms(), key);
    });
  const rotated = (sealed: string) => changedBy(sealed, (file) => rotateFile(file, kms(), {}));
  const plainOf = async (file: string) => (await openTextFile(file, kms())).plaintext;

  it('a merge of versions under a data key retired when a key was removed (a rollback) seals nothing new under it: refused, ours kept (security review F1)', async () => {
    const v1 = await encrypted('A=1\nB=2\n', [box.sb.keyArn, box.sb.otherKeyArn]);
    await changedBy(v1, (file) => removeKey(file, kms(), box.sb.otherKeyArn)); // records v1's data key as retired
    const ours = await edited(v1, (t) => t.replace('A=1', 'A=ours'));
    const files = await versions('.env', v1, ours, await edited(v1, (t) => t.replace('B=2', 'B=theirs')));
    await assert.rejects(mergeEncrypted(files, kms(), L), (e: { code?: string; message?: string }) => e.code === 'KEY_NOT_ALLOWED' && /uses a data key you retired on .* when you removed/.test(e.message ?? ''));
    assert.equal(await fs.readFile(files.ours, 'utf8'), ours);
  });

  it('one side unchanged: the other side is the result, as it is, with no KMS call', async () => {
    const base = await encrypted('A=1\n');
    const changed = await edited(base, (t) => t.replace('A=1', 'A=2'));
    box.sb.kms.log.length = 0;
    let files = await versions('.env', base, changed, base); // theirs unchanged
    assert.deepEqual(await mergeEncrypted(files, kms(), L), { clean: true, conflicts: [] });
    assert.equal(await fs.readFile(files.ours, 'utf8'), changed);
    files = await versions('.env', base, base, changed); // ours unchanged: theirs is written into ours
    assert.deepEqual(await mergeEncrypted(files, kms(), L), { clean: true, conflicts: [] });
    assert.equal(await fs.readFile(files.ours, 'utf8'), changed);
    files = await versions('.env', base, changed, changed); // the same change on both sides
    assert.deepEqual(await mergeEncrypted(files, kms(), L), { clean: true, conflicts: [] });
    assert.equal(box.sb.kms.count(), 0);
  });

  it('changes to different variables merge into a file sealed under ours’ key, unchanged values keeping their tokens', async () => {
    const base = await encrypted('A=1\nB=2\nC=3\n');
    const ours = await edited(base, (t) => t.replace('A=1', 'A=ours'));
    const theirs = await edited(base, (t) => t.replace('C=3', 'C=theirs'));
    const files = await versions('.env', base, ours, theirs);
    assert.deepEqual(await mergeEncrypted(files, kms(), L), { clean: true, conflicts: [], message: undefined });
    const merged = await fs.readFile(files.ours, 'utf8');
    assert.equal(await plainOf(files.ours), 'A=ours\nB=2\nC=theirs\n');
    assert.deepEqual(parseHeader(merged)!.header.commitment, parseHeader(ours)!.header.commitment);
    const token = (text: string, name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(text)![1];
    assert.equal(token(merged, 'B'), token(base, 'B'), 'an unchanged value keeps its token');
    assert.equal(token(merged, 'C'), token(theirs, 'C'), "theirs' token, the data key being shared");
  });

  it('the same variable changed differently: markers around both values, the path conflicted', async () => {
    const base = await encrypted('A=1\nB=2\n');
    const files = await versions('.env', base, await edited(base, (t) => t.replace('A=1', 'A=ours')), await edited(base, (t) => t.replace('A=1', 'A=theirs')));
    assert.deepEqual(await mergeEncrypted(files, kms(), L), { clean: false, conflicts: ['A'], message: undefined });
    assert.equal(await plainOf(files.ours), '<<<<<<< HEAD\nA=ours\n=======\nA=theirs\n>>>>>>> feature\nB=2\n');
  });

  it('keys added on both sides are kept when both share the data key: each once, ours’ first, then theirs’ new ones', async () => {
    const third = box.sb.kms.createKey('third key');
    const base = await encrypted('A=1\n');
    const files = await versions('.env', base, await edited(await withKeys(base, third), (t) => `${t}B=ours\n`), await edited(await withKeys(base, box.sb.otherKeyArn), (t) => t.replace('A=1', 'A=theirs')));
    assert.equal((await mergeEncrypted(files, kms(), L)).clean, true);
    assert.deepEqual(parseHeader(await fs.readFile(files.ours, 'utf8'))!.header.stanzas.map((s) => s.keyArn), [box.sb.keyArn, third, box.sb.otherKeyArn]);
    assert.equal(await plainOf(files.ours), 'A=theirs\nB=ours\n');
  });

  it('the keys of both sides together stop at the format’s 16: theirs’ past that are left out, and the file still opens', async () => {
    const base = await encrypted('A=1\n');
    const fifteen = Array.from({ length: 15 }, (_, i) => box.sb.kms.createKey(`key ${i + 2}`));
    const ours = await edited(await withKeys(base, ...fifteen), (t) => `${t}B=ours\n`);
    const files = await versions('.env', base, ours, await edited(await withKeys(base, box.sb.otherKeyArn), (t) => t.replace('A=1', 'A=theirs')));
    assert.equal((await mergeEncrypted(files, kms(), L)).clean, true);
    assert.deepEqual(parseHeader(await fs.readFile(files.ours, 'utf8'))!.header.stanzas.map((s) => s.keyArn), parseHeader(ours)!.header.stanzas.map((s) => s.keyArn));
    assert.equal(await plainOf(files.ours), 'A=theirs\nB=ours\n');
  });

  it('when ours rotated the data key, theirs’ new keys (which wrap the old one) are not carried over', async () => {
    const base = await encrypted('A=1\n');
    const ours = await rotated(base);
    const files = await versions('.env', base, ours, await edited(await withKeys(base, box.sb.otherKeyArn), (t) => t.replace('A=1', 'A=theirs')));
    assert.deepEqual(await mergeEncrypted(files, kms(), L), { clean: true, conflicts: [], message: undefined });
    const merged = parseHeader(await fs.readFile(files.ours, 'utf8'))!.header;
    assert.deepEqual(merged.stanzas.map((s) => s.keyArn), [box.sb.keyArn]);
    assert.deepEqual(merged.commitment, parseHeader(ours)!.header.commitment);
    assert.equal(await plainOf(files.ours), 'A=theirs\n');
  });

  it('a .env in clear at the base and encrypted on both sides since: merged by variable, under ours’ key', async () => {
    const files = await versions('.env', 'A=1\nB=2\n', await encrypted('A=ours\nB=2\n'), await encrypted('A=1\nB=theirs\n'));
    const ours = parseHeader(await fs.readFile(files.ours, 'utf8'))!.header;
    assert.deepEqual(await mergeEncrypted(files, kms(), L), { clean: true, conflicts: [], message: undefined });
    assert.deepEqual(parseHeader(await fs.readFile(files.ours, 'utf8'))!.header.commitment, ours.commitment);
    assert.equal(await plainOf(files.ours), 'A=ours\nB=theirs\n');
  });

  it('a side that is not UTF-8, or is encrypted whole, is refused, naming the side', async () => {
    const base = await encrypted('A=1\n');
    const ours = await edited(base, (t) => t.replace('A=1', 'A=2'));
    const broken = Buffer.concat([Buffer.from(ours), Buffer.from([0xff, 0x0a])]);
    await assert.rejects(mergeEncrypted(await versions('.env', base, ours, broken), kms(), L), (e: Error) => e.message.startsWith('.env (theirs)'));
    await assert.rejects(mergeEncrypted(await versions('.env', Buffer.from([0x41, 0x3d, 0xff, 0x0a]), ours, await edited(base, (t) => t.replace('A=1', 'A=3'))), kms(), L), (e: Error) => e.message.startsWith('.env (base)'));
    await fs.writeFile(at('whole.bin'), 'A=3\n');
    await encryptFile(at('whole.bin'), kms(), { keys: [box.sb.keyArn] });
    const whole = await fs.readFile(at('whole.bin'));
    await assert.rejects(mergeEncrypted(await versions('.env', base, whole, ours), kms(), L), (e: Error & { hint?: string }) => refusedAs('USAGE', '.env (ours) is encrypted whole, not as text')(e) && e.hint === 'Use kms-envelope decrypt.');
  });

  it('a side whose header is broken is refused, naming the side before the header line', async () => {
    const base = await encrypted('A=1\n');
    const ours = await edited(base, (t) => t.replace('A=1', 'A=2'));
    const theirs = (await edited(base, (t) => t.replace('A=1', 'A=3'))).replace(/^# -> aws-kms \S+/m, '# -> aws-kms not-an-arn');
    await assert.rejects(mergeEncrypted(await versions('.env', base, ours, theirs), kms(), L), refusedAs('FORMAT', '.env (theirs): header line 2 (key stanza): not a KMS key ARN'));
  });

  it('the data keys it opened are wiped when it is done', async () => {
    const { svc, deks } = recordingDeks(kms());
    const base = await encrypted('A=1\nB=2\n');
    const files = await versions('.env', base, await edited(base, (t) => t.replace('A=1', 'A=ours')), await edited(base, (t) => t.replace('B=2', 'B=theirs')));
    assert.equal((await mergeEncrypted(files, svc, L)).clean, true);
    assert.equal(deks.length, 3);
    assert.ok(allWiped(deks), 'a data key left in memory');
  });

  it('when only theirs rotated the data key, the result is sealed under theirs’ key and says so', async () => {
    const base = await encrypted('A=1\nB=2\n');
    const theirs = await rotated(base);
    const files = await versions('.env', base, await edited(base, (t) => t.replace('B=2', 'B=ours')), theirs);
    assert.deepEqual(await mergeEncrypted(files, kms(), L), { clean: true, conflicts: [], message: ".env: theirs rotated the data key; the result is sealed under theirs' key" });
    assert.deepEqual(parseHeader(await fs.readFile(files.ours, 'utf8'))!.header.commitment, parseHeader(theirs)!.header.commitment);
    assert.equal(await plainOf(files.ours), 'A=1\nB=ours\n');
  });

  it('a side in clear is not merged in, ours kept, with the diff to review (against the other side)', async () => {
    const base = await encrypted('A=1\n');
    const ours = await edited(base, (t) => t.replace('A=1', 'A=ours'));
    let files = await versions('.env', base, ours, 'A=attacker\n');
    assert.deepEqual(await mergeEncrypted(files, kms(), L), {
      clean: false,
      conflicts: [],
      message: '.env: theirs is not encrypted while the other side is; its values are not authenticated, so they were not merged in (kept ours). Review `git diff HEAD -- .env`, set the values you want in the decrypted view, save and `git add` it.',
    });
    assert.equal(await fs.readFile(files.ours, 'utf8'), ours);
    files = await versions('.env', base, 'A=mine\n', ours);
    assert.equal((await mergeEncrypted(files, kms(), L)).message, '.env: ours is not encrypted while the other side is; its values are not authenticated, so they were not merged in (kept ours). Review `git diff MERGE_HEAD -- .env`, set the values you want in the decrypted view, save and `git add` it.');
    assert.equal(await fs.readFile(files.ours, 'utf8'), 'A=mine\n');
  });

  it('a file that is not a .env, encrypted, changed on both sides: ours kept, with what to do', async () => {
    const files = await versions('cert.pem', '# kms-envelope v1 file\nbase', '# kms-envelope v1 file\nours', '# kms-envelope v1 file\ntheirs');
    assert.deepEqual(await mergeEncrypted(files, kms(), L), {
      clean: false,
      conflicts: [],
      message: 'cert.pem: both sides changed a file encrypted whole (or as text with encrypted selections); kept ours. Take theirs with `git checkout --theirs -- cert.pem`, or merge by hand in the decrypted views, then `git add` it.',
    });
    assert.equal(await fs.readFile(files.ours, 'utf8'), '# kms-envelope v1 file\nours');
  });

  it('a .env whose version holds encrypted selections (the text store) is not merged', async () => {
    const base = await encrypted('A=1\n');
    const key = await newFileKey(kms(), { keys: [box.sb.keyArn] });
    const text = joinSealed(assemble('text', key, 'A=1\n', { leader: '#', eol: '\n' }));
    const ours = await edited(base, (t) => t.replace('A=1', 'A=2'));
    const files = await versions('.env', base, ours, text);
    assert.deepEqual(await mergeEncrypted(files, kms(), L), { clean: false, conflicts: [], message: '.env (theirs) is not an encrypted .env (store "text"); kept ours.' });
    assert.equal(await fs.readFile(files.ours, 'utf8'), ours);
  });

  it('a side past 10,000 lines is not merged by variable (a diff3 is superlinear): ours kept, named, at once (security review F8)', async () => {
    const big = Array.from({ length: 10_001 }, (_, i) => `V${i}=${i}`).join('\n') + '\n';
    const reversed = big.trimEnd().split('\n').reverse().join('\n') + '\n';
    const files = await versions('.env', 'A=1\n', reversed, big);
    const ours = await fs.readFile(files.ours, 'utf8');
    const started = Date.now();
    assert.deepEqual(await mergeEncrypted(files, kms(), L), {
      clean: false,
      conflicts: [],
      message: '.env (ours) is too large to merge by variable (more than 10,000 lines or 8 MiB); kept ours. Merge it by hand in the decrypted view, then `git add` it.',
    });
    assert.ok(Date.now() - started < 5000);
    assert.equal(await fs.readFile(files.ours, 'utf8'), ours);
    // one line past 8 MiB is too large too
    const wide = `W=${'x'.repeat(8 * 1024 * 1024)}\n`;
    const wideFiles = await versions('.env', 'A=1\n', wide, 'A=2\n');
    assert.equal((await mergeEncrypted(wideFiles, kms(), L)).message, '.env (ours) is too large to merge by variable (more than 10,000 lines or 8 MiB); kept ours. Merge it by hand in the decrypted view, then `git add` it.');
    // exactly the limit is merged
    const limit = Array.from({ length: 10_000 }, (_, i) => `V${i}=${i}`).join('\n') + '\n';
    const at = await versions('.env', limit, limit.replace('V1=1\n', 'V1=ours\n'), limit.replace('V2=2\n', 'V2=theirs\n'));
    assert.equal((await mergeEncrypted(at, kms(), L)).clean, true);
    // and a side of exactly 8 MiB
    const full = `W=${'x'.repeat(8 * 1024 * 1024 - 3)}\n`;
    assert.equal(Buffer.byteLength(full), 8 * 1024 * 1024);
    const fullFiles = await versions('.env', 'A=1\nB=1\n', full, 'A=1\nB=2\n');
    const merged = await mergeEncrypted(fullFiles, kms(), L);
    assert.doesNotMatch(String(merged.message), /too large/);
    assert.deepEqual(merged.conflicts, ['B'], 'merged by variable: ours removed B, theirs changed it');
  });

  it('plain on every side: a .env merges by variable; any other file by git’s own line merge', async () => {
    let files = await versions('.env', 'A=1\nB=2\n', 'A=ours\nB=2\n', 'A=1\nB=theirs\n');
    assert.deepEqual(await mergeEncrypted(files, kms(), L), { clean: true, conflicts: [] });
    assert.equal(await fs.readFile(files.ours, 'utf8'), 'A=ours\nB=theirs\n');
    files = await versions('.env', 'A=1\n', 'A=ours\n', 'A=theirs\n');
    assert.deepEqual(await mergeEncrypted(files, kms(), L), { clean: false, conflicts: ['A'] });
    files = await versions('notes.txt', 'one\ntwo\nthree\n', 'ONE\ntwo\nthree\n', 'one\ntwo\nTHREE\n');
    assert.deepEqual(await mergeEncrypted(files, kms(), { ...L, markerSize: 9 }), { clean: true, conflicts: [] });
    assert.equal(await fs.readFile(files.ours, 'utf8'), 'ONE\ntwo\nTHREE\n');
    files = await versions('notes.txt', 'one\n', 'ours\n', 'theirs\n');
    assert.deepEqual(await mergeEncrypted(files, kms(), { ...L, markerSize: 9 }), { clean: false, conflicts: [] });
    assert.equal(await fs.readFile(files.ours, 'utf8'), '<<<<<<<<< HEAD\nours\n=========\ntheirs\n>>>>>>>>> feature\n');
    // git's refusal is not taken for a conflict
    files = await versions('notes.bin', 'a\0base\n', 'a\0ours\n', 'a\0theirs\n');
    await assert.rejects(mergeEncrypted(files, kms(), L), (e) => e instanceof GitError && e.exitCode === 255 && /binary/.test(e.message));
    assert.equal(await fs.readFile(files.ours, 'utf8'), 'a\0ours\n');
  });
});
