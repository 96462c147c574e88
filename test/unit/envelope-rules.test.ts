/**
 * The envelope's rules one by one (issue 12): each refusal with its exact error, each property
 * with the other layers' chance to catch it taken away (a bad value under a valid MAC, a token
 * moved to another name under a valid MAC), and the selection ranges at their edges.
 */
import assert from 'node:assert/strict';
import {
  assemble,
  checkStructure,
  decryptRanges,
  encryptRanges,
  joinSealed,
  MAX_TEXT_BYTES,
  openDocument,
  sealDotenv,
  sealDotenvPausing,
  splitDocument,
} from '../../src/core/envelope';
import { KmsEnvelopeError } from '../../src/core/errors';
import { sealFileStream } from '../../src/core/whole-file';
import { seededRandom, testKey, unwrapTo } from '../support/fixtures';
import { refusedAs } from '../support/errors';

const LF = { leader: '#', eol: '\n' } as const;
const sealText = (body: string) => assemble('text', testKey(), body, LF, '', 'sidecar');
const tokenOf = (text: string, name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(text)![1];

describe('envelope rules, one by one', () => {
  it('a text of more than 8 MiB is refused before parsing; 8 MiB exactly is read', () => {
    assert.throws(() => splitDocument('x'.repeat(MAX_TEXT_BYTES + 1)), refusedAs('FORMAT', 'file: larger than 8 MiB, the limit for text stores'));
    assert.equal(splitDocument('x'.repeat(MAX_TEXT_BYTES)), null);
    assert.throws(() => assemble('dotenv', testKey(), 'A=1\n'.repeat(MAX_TEXT_BYTES / 4), LF, '#!x\n'), (e: unknown) => {
      refusedAs('USAGE', 'the file is larger than 8 MiB, the limit for encrypted text')(e);
      assert.equal((e as KmsEnvelopeError).hint, 'Encrypt it whole instead.');
      return true;
    });
    assert.ok(assemble('text', testKey(), 'x'.repeat(MAX_TEXT_BYTES - 4), LF, '#!x\n'));
  });

  describe('ENC[kmsenv: is reserved (FORMAT.md, Tokens)', () => {
    it('a writer refuses plaintext holding it, naming the line; above the header too', () => {
      assert.throws(
        () => sealDotenv('A=1\n# see ENC[kmsenv:v1:x]\n', testKey(), { layout: LF }),
        refusedAs('USAGE', 'line 2 holds "ENC[kmsenv:", which kms-envelope reserves for its tokens'),
      );
      assert.throws(() => sealDotenv('A=ENC[kmsenv:\n', testKey(), { layout: LF }), (e: KmsEnvelopeError) => e.hint === 'Remove it (a pasted token belongs to another file: open that file decrypted and copy the value), then encrypt.');
      assert.throws(() => assemble('dotenv', testKey(), '', LF, '#!/bin/ENC[kmsenv:v9:x]\n'), refusedAs('FORMAT', 'line 1: "ENC[kmsenv:" outside a value: kms-envelope reserves it for its tokens'));
    });

    it('a reader refuses it anywhere in the body but at the start of a value: before the first entry, between two, after a value on its line, after the last', () => {
      const sealed = joinSealed(sealDotenv('A=1\nB=2\n', testKey(), { layout: LF }));
      const [a, b] = sealed.match(/ENC\[kmsenv:v1:[\w-]+\]/g)!;
      const head = sealed.slice(0, sealed.length - splitDocument(sealed)!.body.length); // the header (its mac may hold "A=")
      const check = (body: string) => () => checkStructure(splitDocument(head + body)!);
      assert.doesNotThrow(check(`A=${a}\nB=${b}\n`));
      const cases: [string, number][] = [
        [`# ${a}\nA=${a}\nB=${b}\n`, 1],
        [`A=${a}\n# ${b}\nB=${b}\n`, 2],
        [`A=${a}\nB=${b} # ${a}\n`, 2],
        [`A=${a}\nB=${b}\n# ${a}\n`, 3],
        [`A=${a}\nB=${b}\nENC[kmsenv:\n`, 3],
      ];
      const offset = head.split('\n').length - 1;
      for (const [body, line] of cases) assert.throws(check(body), refusedAs('FORMAT', `line ${offset + line}: "ENC[kmsenv:" outside a value: kms-envelope reserves it for its tokens`), body);
    });

    it('a reader refuses it above the header before anything is unwrapped', async () => {
      const sealed = joinSealed(sealDotenv('A=1\n', testKey(), { layout: LF }));
      let unwrapped = false;
      const doc = splitDocument(`#!/bin/ENC[kmsenv:v9:x]\n${sealed}`)!;
      await assert.rejects(
        openDocument(doc, async () => ((unwrapped = true), Buffer.alloc(32))),
        refusedAs('FORMAT', 'line 1: "ENC[kmsenv:" outside a value: kms-envelope reserves it for its tokens'),
      );
      assert.equal(unwrapped, false);
    });
  });

  describe('a sidecar header', () => {
    const body = `let a = ${encryptRanges('secret', [{ start: 0, end: 6 }], testKey(), seededRandom('s'))};\n`;
    const good = sealText(body).header;
    const rows: [string, string, string, string?][] = [
      ['that is not a header', 'hello\n', 'sidecar: no kms-envelope header'],
      ['with a "#!" line above it', `#!/bin/sh\n${good}`, 'sidecar: expected "# " lines ending in "\\n" and nothing above them'],
      ['in "//" lines', good.replace(/^# /gm, '// '), 'sidecar: expected "# " lines ending in "\\n" and nothing above them'],
      ['with CRLF line endings', good.replace(/\n/g, '\r\n'), 'sidecar: expected "# " lines ending in "\\n" and nothing above them'],
      ['with text after it', `${good}more\n`, 'sidecar: unexpected text after the header'],
      ['of another store', assemble('dotenv', testKey(), '', LF, '', 'sidecar').header, 'sidecar: a sidecar holds a text-store header, not "dotenv"'],
      ['beside a file with a header of its own', good, 'sidecar: the file has a header of its own as well as a sidecar', joinSealed(sealDotenv('A=1\n', testKey(), { layout: LF }))],
    ];
    for (const [what, sidecar, message, text] of rows) {
      it(`is refused ${what}: FORMAT, "${message}"`, () => assert.throws(() => splitDocument(text ?? body, sidecar), refusedAs('FORMAT', message)));
    }
    it('is written in "#" lines ending in "\\n" with nothing above, whatever the file’s own layout, and read back', async () => {
      const s = assemble('text', testKey(), body, { leader: '//', eol: '\r\n' }, '#!/usr/bin/env node\n', 'sidecar');
      assert.equal(s.prefix, '');
      assert.match(s.header, /^# kms-envelope v1 text\n/);
      assert.ok(!s.header.includes('\r') && !s.header.includes('//'));
      const doc = splitDocument(body, s.header)!;
      assert.equal((await openDocument(doc, unwrapTo())).plaintext, 'let a = secret;\n');
    });
  });

  it('a value whose tag fails is refused under a valid MAC, naming its entry and file line (not left to the MAC)', async () => {
    const key = testKey();
    const sealed = sealDotenv('# top\nA=alpha\nB=bravo\n', key, { layout: LF, random: seededRandom('t') });
    // B's token moved under A (and A's under B): the MAC is made again, so only the values' own tags can tell
    const swapped = sealed.body.replace(tokenOf(sealed.body, 'A'), '@A@').replace(tokenOf(sealed.body, 'B'), tokenOf(sealed.body, 'A')).replace('@A@', tokenOf(sealed.body, 'B'));
    const forged = joinSealed(assemble('dotenv', key, swapped, LF));
    const doc = splitDocument(forged)!;
    await assert.rejects(openDocument(doc, unwrapTo()), refusedAs('TAMPERED', `entry A (line ${doc.lineOffset + 2}) failed authentication: the file was modified outside kms-envelope or is corrupt`));
    // a value carried over from the last open is only reused under its own name
    const honest = joinSealed(sealed);
    const { reuse } = await openDocument(splitDocument(honest)!, unwrapTo());
    await assert.rejects(openDocument(doc, unwrapTo(), reuse), (e: unknown) => e instanceof KmsEnvelopeError && e.code === 'TAMPERED');
  });

  it('a token in a text-store file that fails its tag is named by its file line', async () => {
    const key = testKey();
    const body = `a\nb ${encryptRanges('one', [{ start: 0, end: 3 }], key, seededRandom('1'))}\n`;
    const other = encryptRanges('two', [{ start: 0, end: 3 }], testKey(Buffer.alloc(32, 1)), seededRandom('2'));
    const forged = joinSealed(assemble('text', key, body.replace(/ENC\[[^\]]+\]/, other), LF));
    const doc = splitDocument(forged)!;
    await assert.rejects(openDocument(doc, unwrapTo()), refusedAs('TAMPERED', `token at line ${doc.lineOffset + 2} failed authentication: the file was modified outside kms-envelope or is corrupt`));
    assert.throws(() => decryptRanges(doc.body, [{ start: 0, end: doc.body.length }], key), refusedAs('TAMPERED', 'token at line 2 failed authentication: the file was modified outside kms-envelope or is corrupt'));
  });

  it('a clear value in an encrypted .env is refused by checkStructure, with a hint that says how to add one', () => {
    const text = joinSealed(sealDotenv('A=1\n', testKey(), { layout: LF })) + 'B=clear\n';
    const doc = splitDocument(text)!;
    assert.throws(() => checkStructure(doc), (e: unknown) => {
      refusedAs('TAMPERED', `entry B (line ${doc.lineOffset + 2}) is not encrypted, in an encrypted file`)(e);
      assert.match((e as KmsEnvelopeError).hint ?? '', /^Values are not to be added to an encrypted file by hand/);
      return true;
    });
  });

  it('a whole-file document passes checkStructure (its chunks carry their own tags) and is not opened as text', async () => {
    const parts: Buffer[] = [];
    for await (const p of sealFileStream([Buffer.from('A=1\n')], testKey())) parts.push(p);
    const doc = splitDocument(Buffer.concat(parts).toString('utf8'))!;
    assert.doesNotThrow(() => checkStructure(doc));
    await assert.rejects(openDocument(doc, unwrapTo()), refusedAs('FORMAT', 'a whole-file payload is read with openFileStream'));
  });

  it('a MAC failure says the line endings were converted only when that is what happened', async () => {
    const lf = joinSealed(sealDotenv('A=1\nB=2\n', testKey(), { layout: LF }));
    const what = 'header MAC (the file was changed after it was encrypted: a line added, removed, moved or edited, or a header field changed) failed authentication: the file was modified outside kms-envelope or is corrupt';
    const bodyStart = splitDocument(lf)!.prefix.length + lf.indexOf('\n', lf.indexOf('# mac ')) + 1;
    const crlfBody = lf.slice(0, bodyStart) + lf.slice(bodyStart).replace(/\n/g, '\r\n');
    // proven: with every CRLF folded back the document verifies
    await assert.rejects(openDocument(splitDocument(crlfBody)!, unwrapTo()), refusedAs('TAMPERED', "the file: its line endings were converted from LF to CRLF after it was encrypted (git core.autocrlf, or an editor's line-ending setting); nothing else changed"));
    // likely but not proven: something else changed too
    const crlfAndMore = `${crlfBody}# added\r\n`;
    await assert.rejects(openDocument(splitDocument(crlfAndMore)!, unwrapTo()), refusedAs('TAMPERED', what.replace(') failed', '); its line endings were converted to CRLF (git core.autocrlf?) failed')));
    await assert.rejects(openDocument(splitDocument(`${lf}# added\n`)!, unwrapTo()), refusedAs('TAMPERED', what));
    const crlf = joinSealed(sealDotenv('A=1\r\nB=2\r\n', testKey(), { layout: { leader: '#', eol: '\r\n' } }));
    await assert.rejects(openDocument(splitDocument(`${crlf}# added\r\n`)!, unwrapTo()), refusedAs('TAMPERED', what));
  });

  it('an encrypted .env is not encrypted again', () => {
    const once = joinSealed(sealDotenv('A=1\n', testKey(), { layout: LF }));
    assert.throws(() => sealDotenv(once, testKey(), { layout: LF }), refusedAs('ALREADY_ENCRYPTED', 'the file is already encrypted'));
  });

  it('a large file is opened in slices: it yields to the event loop every 1,000 entries lexed and every 250 values decrypted, and opens the same', async () => {
    const n = 2500;
    const plain = Array.from({ length: n }, (_, i) => `K${i}=v${i}`).join('\n') + '\n';
    const doc = splitDocument(joinSealed(sealDotenv(plain, testKey(), { layout: LF, random: seededRandom('big') })))!;
    let ticks = 0;
    let running = true;
    const tick = () => {
      if (!running) return;
      ticks++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const opened = await openDocument(doc, unwrapTo());
    running = false;
    assert.equal(opened.plaintext, plain);
    // 2 while lexing, 10 while decrypting
    assert.ok(ticks >= 11 && ticks <= 13, `${ticks} turns of the event loop while opening ${n} values`);
  });

  it('a large file is sealed in slices too: a pause every 1,000 entries lexed (the plaintext, then the sealed body), and the same file as sealing at once', async () => {
    const plain = Array.from({ length: 2500 }, (_, i) => `K${i}=v${i}`).join('\n') + '\n';
    let pauses = 0;
    const sealed = await sealDotenvPausing(plain, testKey(), { layout: LF, random: seededRandom('slices') }, async () => void pauses++);
    assert.equal(pauses, 4);
    assert.deepEqual(sealed, sealDotenv(plain, testKey(), { layout: LF, random: seededRandom('slices') }));
  });

  describe('selection ranges', () => {
    const key = testKey();
    const body = 'aaa bbb ccc ddd';
    const r = (start: number, end: number) => ({ start, end });
    const roundTrip = (ranges: { start: number; end: number }[]) => {
      const enc = encryptRanges(body, ranges, key, seededRandom('r'));
      return { enc, tokens: (enc.match(/ENC\[/g) ?? []).length, dec: decryptRanges(enc, [r(0, enc.length)], key) };
    };
    it('are encrypted in order whatever order they are given in; empty, reversed and overlapping ones are skipped', () => {
      const inOrder = roundTrip([r(0, 3), r(8, 11)]);
      const reversed = roundTrip([r(8, 11), r(0, 3)]);
      assert.equal(reversed.enc, inOrder.enc);
      assert.equal(inOrder.tokens, 2);
      assert.equal(inOrder.dec, body);
      assert.equal(roundTrip([r(4, 4), r(7, 5)]).enc, body, 'an empty and a reversed range encrypt nothing');
      const overlap = roundTrip([r(0, 7), r(4, 11)]);
      assert.equal(overlap.tokens, 1, 'a range that starts inside an earlier one is skipped');
      assert.equal(overlap.dec, body);
      assert.equal(roundTrip([r(0, 3), r(3, 7)]).tokens, 2, 'a range may start where the last ended');
      assert.ok(roundTrip([r(0, 3), r(3, 7)]).enc.startsWith('ENC['));
    });
    it('a selection that already holds a token is refused', () => {
      const once = encryptRanges(body, [r(0, 3)], key, seededRandom('o'));
      assert.throws(() => encryptRanges(once, [r(0, once.length)], key), refusedAs('ALREADY_ENCRYPTED', 'the selection already holds encrypted text'));
    });
    it('decrypt only the tokens a range touches; a range that ends where a token starts, or starts where it ends, touches none', () => {
      const enc = encryptRanges(body, [r(0, 3), r(8, 11)], key, seededRandom('d'));
      const first = enc.indexOf('ENC[');
      const firstEnd = enc.indexOf(']', first) + 1;
      const second = enc.indexOf('ENC[', firstEnd);
      assert.equal(decryptRanges(enc, [r(first + 2, first + 3)], key), enc.replace(enc.slice(first, firstEnd), 'aaa'));
      assert.equal(decryptRanges(enc, [r(firstEnd, second)], key), enc, 'the text between two tokens touches neither');
      assert.equal(decryptRanges(enc, [r(0, first)], key), enc);
      assert.equal(decryptRanges(enc, [r(first, firstEnd), r(firstEnd, firstEnd + 1)], key), enc.replace(enc.slice(first, firstEnd), 'aaa'), 'each token by its own range: not all ranges must touch it');
    });
  });
});
