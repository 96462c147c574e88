import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CHUNK_BYTES, SALT_BYTES, TAG_BYTES } from '../../src/core/cipher';
import { KmsEnvelopeError } from '../../src/core/errors';
import { armor, dearmor } from '../../src/core/formats/armor';
import { openFileStream, sealFileStream } from '../../src/core/whole-file';
import { joinSealed, sealDotenv } from '../../src/core/envelope';
import { MAX_HEADER_BYTES } from '../../src/core/header';
import { testKey, unwrapTo } from '../support/fixtures';
import { refusedAs } from '../support/errors';

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

/** Feeds a buffer in uneven pieces, as a file stream might. */
async function* pieces(buf: Buffer, size = 7001): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

const seal = (plain: Buffer) => collect(sealFileStream(pieces(plain), testKey()));
const open = async (sealed: Buffer) => collect((await openFileStream(pieces(sealed, 4093), unwrapTo())).plaintext);

async function refused(sealed: Buffer, what: RegExp): Promise<void> {
  await assert.rejects(open(sealed), (e: unknown) => e instanceof KmsEnvelopeError && what.test(e.message));
}

describe('whole-file store', () => {
  for (const size of [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 17]) {
    it(`round-trips ${size} bytes through 64 KiB chunks`, async () => {
      const plain = randomBytes(size);
      const sealed = await seal(plain);
      assert.ok(sealed.toString('latin1').startsWith('# kms-envelope v1 file\n'));
      assert.deepEqual(await open(sealed), plain);
    });
  }

  it('keeps nothing of a piece once it asks for the next: a source that reads into one buffer and scribbles over it decrypts the same', async () => {
    const plain = randomBytes(5 * CHUNK_BYTES + 99);
    const sealed = await seal(plain);
    for (const size of [1, 65, 4093, 65_552, 1024 * 1024]) {
      const scribbling = (async function* () {
        const buf = Buffer.alloc(size);
        for (let i = 0; i < sealed.length; i += size) {
          const n = sealed.copy(buf, 0, i, i + size);
          yield buf.subarray(0, n);
          buf.fill(0x41); // 'A': still base64, so a kept view would decode to other bytes, not fail
        }
      })();
      assert.ok((await collect((await openFileStream(scribbling, unwrapTo())).plaintext)).equals(plain), `pieces of ${size}`);
    }
  });

  it('refuses a stanza that unwraps to another data key by the key commitment, before the MAC and any plaintext (mutation audit M02)', async () => {
    const sealed = await seal(Buffer.from('whole secret\n'));
    await assert.rejects(
      (async () => collect((await openFileStream(pieces(sealed), unwrapTo(randomBytes(32)))).plaintext))(),
      refusedAs('TAMPERED', 'header commitment (the data key does not match this file) failed authentication: the file was modified outside kms-envelope or is corrupt'),
    );
  });

  /** The file split into its header text and its payload bytes (de-armoured), to tamper with bytes. */
  const split = async (sealed: Buffer) => {
    const end = sealed.indexOf('\n# mac ') + 1 + sealed.subarray(sealed.indexOf('\n# mac ') + 1).indexOf('\n') + 1;
    return { header: sealed.subarray(0, end), payload: await collect(dearmor(pieces(sealed.subarray(end)), (w) => new Error(w))) };
  };
  const join = async (header: Buffer, payload: Buffer) => Buffer.concat([header, await collect(armor([payload]))]);

  it('detects a flipped payload byte, a truncation, a dropped or swapped chunk, and trailing data', async () => {
    const plain = randomBytes(3 * CHUNK_BYTES + 100);
    const { header, payload } = await split(await seal(plain));
    const chunk = (i: number) => SALT_BYTES + i * (CHUNK_BYTES + TAG_BYTES);
    const flipped = Buffer.from(payload);
    flipped[chunk(1) + 5] ^= 1;
    await refused(await join(header, flipped), /payload chunk 1/);
    await refused(await join(header, payload.subarray(0, chunk(3))), /truncated|full final chunk/);
    await refused(await join(header, Buffer.concat([payload.subarray(0, chunk(1)), payload.subarray(chunk(2))])), /payload chunk 1/);
    await refused(await join(header, Buffer.concat([payload.subarray(0, chunk(1)), payload.subarray(chunk(2), chunk(3)), payload.subarray(chunk(1), chunk(2)), payload.subarray(chunk(3))])), /payload chunk 1/);
    await refused(await join(header, Buffer.concat([payload, Buffer.from('x')])), /payload/);
    await refused(await join(header, payload.subarray(0, 3)), /salt|truncated/);
  });

  it('binds the payload to its header: a changed salt fails the header MAC before any chunk is opened', async () => {
    const { header, payload } = await split(await seal(randomBytes(1000)));
    const salted = Buffer.from(payload);
    salted[0] ^= 1;
    await refused(await join(header, salted), /header MAC/);
    const other = await split(await seal(randomBytes(1000)));
    await refused(await join(header, other.payload), /header MAC/);
  });

  it('a whole-file payload whose header MAC was changed is refused (FORMAT/TAMPERED at the header MAC) before any plaintext is released', async () => {
    const sealed = await seal(randomBytes(5000));
    const text = sealed.toString('latin1');
    const macAt = text.indexOf('\n# mac ') + 7;
    const other = Buffer.from(randomBytes(32).toString('base64'), 'latin1'); // another well-formed MAC
    const forged = Buffer.concat([sealed.subarray(0, macAt), other, sealed.subarray(macAt + other.length)]);
    let released = 0;
    await assert.rejects(
      (async () => {
        for await (const p of (await openFileStream(pieces(forged, 4093), unwrapTo())).plaintext) released += p.length;
      })(),
      (e: unknown) => e instanceof KmsEnvelopeError && e.code === 'TAMPERED' && /header MAC/.test(e.message),
    );
    assert.equal(released, 0);
  });

  it('refuses a file cut to its header and salt (no chunk at all), before any plaintext', async () => {
    const { header, payload } = await split(await seal(randomBytes(100)));
    await refused(await join(header, payload.subarray(0, SALT_BYTES)), /no final chunk|truncated/);
  });

  it('refuses a full-size final chunk: one plaintext has one encoding', async () => {
    const plain = randomBytes(CHUNK_BYTES);
    const { header, payload } = await split(await seal(plain));
    // the honest file ends with an empty final chunk; the same data as one full final chunk is refused
    assert.equal(payload.length, SALT_BYTES + CHUNK_BYTES + TAG_BYTES + TAG_BYTES);
    await refused(await join(header, payload.subarray(0, SALT_BYTES + CHUNK_BYTES + TAG_BYTES)), /full final chunk/);
  });

  it('keeps the payload as text: 64-character base64 lines, and refuses any other spelling', async () => {
    const sealed = await seal(randomBytes(5000));
    const text = sealed.toString('latin1');
    const body = text.slice(text.indexOf('\n# mac ') + 1).split('\n').slice(1, -1);
    assert.ok(body.length > 10 && body.slice(0, -1).every((l) => /^[A-Za-z0-9+/]{64}$/.test(l)), 'ASCII lines of 64');
    assert.ok(text.endsWith('\n'));
    const variants: [string, string][] = [
      ['CRLF line endings', text.replace(/\n/g, '\r\n')],
      ['a trailing blank line', text + '\n'],
      ['no final newline', text.slice(0, -1)],
      ['a re-wrapped line', text.replace(/\n([A-Za-z0-9+/]{64})\n([A-Za-z0-9+/]{64})\n/, '\n$1$2\n')],
      ['a BOM', '\uFEFF' + text],
      ['a changed character', text.replace(/\n([A-Za-z0-9+/])([A-Za-z0-9+/]{63})\n/, (_m, c: string, r: string) => `\n${c === 'A' ? 'B' : 'A'}${r}\n`)],
      ['non-canonical padding bits', text.replace(/([A-Za-z0-9+/])(=*)\n$/, (_m, c: string, p: string) => `${c === 'A' ? 'B' : 'A'}${p}\n`)],
    ];
    for (const [what, v] of variants) {
      await assert.rejects(open(Buffer.from(v, 'latin1')), (e: unknown) => e instanceof KmsEnvelopeError, what);
    }
  });

  describe('header rules of a whole-file payload, one by one (issue 12)', () => {
    const one = async (bytes: Buffer) => collect((await openFileStream((async function* () { yield bytes; })(), unwrapTo())).plaintext);
    let good = '';
    let header = '';
    before(async () => {
      good = (await seal(Buffer.from('hello world'))).toString('latin1');
      header = good.slice(0, good.indexOf('\n', good.indexOf('# mac ')) + 1);
    });
    const armored = async (bytes: Buffer) => (await collect(armor((async function* () { yield bytes; })()))).toString('latin1');
    const rows: [string, () => Promise<string>, string, string][] = [
      ['text with a "mac" line but no header', async () => `hello\n${header.slice(header.indexOf('# mac '))}`, 'FORMAT', 'line 1: no kms-envelope header'],
      ['a header of another store', async () => joinSealed(sealDotenv('A=1\n', testKey(), { layout: { leader: '#', eol: '\n' } })).split('\n').slice(0, 5).join('\n') + '\n' + good.slice(header.length), 'FORMAT', 'header line 1: store "dotenv" is not a whole-file payload'],
      ['a "#!" line above the header', async () => `#!/bin/sh\n${good}`, 'FORMAT', 'header: a whole-file header is "# " lines ending in "\\n" with nothing above it (were its line endings converted?)'],
      ['CRLF line endings throughout', async () => good.replace(/\n/g, '\r\n'), 'TAMPERED', "the file: its line endings were converted from LF to CRLF after it was encrypted (git core.autocrlf, or an editor's line-ending setting); nothing else changed"],
      ['CRLF only after the first line', async () => good.replace(/\n/g, '\r\n').replace('\r\n', '\n'), 'FORMAT', 'header line 2: mixed line endings'],
      ['a file that ends before its "mac" line', async () => header.slice(0, header.indexOf('# mac ')), 'FORMAT', 'header line 5: missing or overlong line'],
      ['a file without any header', async () => 'hello world\n', 'FORMAT', 'line 1: no kms-envelope header'],
      ['no "mac" line within the size limit', async () => `# kms-envelope v1 file\n${'x'.repeat(MAX_HEADER_BYTES + 10)}`, 'FORMAT', 'header: no "mac" line within the size limit'],
      ['a payload salt cut short', async () => header + (await armored(Buffer.alloc(10, 1))), 'TAMPERED', 'payload salt (file truncated) failed authentication: the file was modified outside kms-envelope or is corrupt'],
    ];
    for (const [what, make, code, message] of rows) {
      it(`refuses ${what}: ${code}, "${message}"`, async () => assert.ok(await one(Buffer.from(await make(), 'latin1')).then(() => false, refusedAs(code, message))));
    }
    it('reads exactly the size limit before giving up: a header-sized start without a "mac" line is parsed, not cut off', async () => {
      const text = `# kms-envelope v1 file\n${'x'.repeat(MAX_HEADER_BYTES - 23)}`;
      assert.equal(Buffer.byteLength(text), MAX_HEADER_BYTES);
      assert.ok(await one(Buffer.from(text)).then(() => false, refusedAs('FORMAT', 'header line 2: missing or overlong line')));
    });
  });
});
