import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { armor, dearmor } from '../../src/core/formats/armor';

/** Feeds `data` in pieces of `size` bytes (the whole at once when size is 0). */
async function* pieces(data: Buffer, size = 0): AsyncGenerator<Uint8Array> {
  if (size === 0) yield data;
  else for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

const armored = async (bytes: Buffer, size = 0): Promise<string> => {
  const out: Buffer[] = [];
  for await (const b of armor(pieces(bytes, size))) out.push(b);
  return Buffer.concat(out).toString('latin1');
};

const dearmored = async (text: string, size = 0): Promise<Buffer> => {
  const out: Buffer[] = [];
  for await (const b of dearmor(pieces(Buffer.from(text, 'latin1'), size), (what) => new Error(what))) out.push(b);
  return Buffer.concat(out);
};

/** The one spelling: base64 in lines of 64, the last 4 to 64, each ending in \n. */
const canonical = (bytes: Buffer): string => `${(bytes.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n`;

describe('payload armour: base64 in lines of 64, one spelling per payload', () => {
  const data = randomBytes(48 * 20 + 17);

  it('armour is the canonical spelling, however the bytes arrive (sizes around a line, in pieces of 1 to all)', async () => {
    for (const n of [1, 2, 3, 47, 48, 49, 95, 96, 97, 1000, data.length]) {
      const bytes = data.subarray(0, n);
      for (const size of [0, 1, 7, 48, 50, 65, 200]) assert.equal(await armored(bytes, size), canonical(bytes), `${n} bytes in pieces of ${size}`);
    }
  });

  it('armour copies what it keeps between pieces: the caller may reuse its buffer', async () => {
    const buf = Buffer.alloc(50);
    async function* reused(): AsyncGenerator<Uint8Array> {
      for (const fill of [1, 2]) {
        buf.fill(fill);
        yield buf;
      }
    }
    const out: Buffer[] = [];
    for await (const b of armor(reused())) out.push(b);
    assert.equal(Buffer.concat(out).toString('latin1'), canonical(Buffer.concat([Buffer.alloc(50, 1), Buffer.alloc(50, 2)])));
  });

  it('armour streams: the whole lines of a piece are out before the next piece is asked for', async () => {
    let asked = 0;
    async function* slow(): AsyncGenerator<Uint8Array> {
      asked++;
      yield data.subarray(0, 100); // two whole lines and 4 bytes
      asked++;
      yield data.subarray(100, 200);
    }
    const it = armor(slow());
    const first = await it.next();
    assert.equal(asked, 1);
    assert.equal((first.value as Buffer).toString('latin1'), canonical(data.subarray(0, 96)));
  });

  it('dearmour gives the bytes back, however the text arrives', async () => {
    for (const n of [1, 47, 48, 49, 95, 96, 1000, data.length]) {
      const bytes = data.subarray(0, n);
      for (const size of [0, 1, 64, 65, 66, 130, 1000]) assert.deepEqual(await dearmored(canonical(bytes), size), bytes, `${n} bytes in pieces of ${size}`);
    }
  });

  describe('refuses every other spelling, naming the line', () => {
    const lines = canonical(data).split('\n').slice(0, -1); // 21 lines: 20 of 64, the last of 24
    const joined = (ls: string[]) => `${ls.join('\n')}\n`;
    const change = (n: number, f: (l: string) => string) => joined(lines.map((l, i) => (i === n - 1 ? f(l) : l)));
    const refusals: [string, string, string][] = [
      ['nothing at all', '', 'payload (file truncated: no payload)'],
      ['a short line in the middle', change(3, (l) => l.slice(1)), 'payload armour line 3 (not a line of 64 base64 characters)'],
      ['a long line in the middle', change(5, (l) => `${l}AAAA`), 'payload armour line 5 (not a line of 64 base64 characters)'],
      ['a CRLF line ending', change(2, (l) => `${l}\r`), 'payload armour line 2 (not a line of 64 base64 characters)'],
      ['a URL-safe "-" first of all', change(1, (l) => `-${l.slice(1)}`), 'payload armour line 1 (a character outside base64)'],
      ['a URL-safe "_"', change(4, (l) => `${l.slice(0, 10)}_${l.slice(11)}`), 'payload armour line 4 (a character outside base64)'],
      ['padding before the last line', change(6, (l) => `${l.slice(0, 62)}==`), 'payload armour line 6 (a character outside base64)'],
      ['a character Node would skip', change(7, (l) => `${l.slice(0, 30)}*${l.slice(31)}`), 'payload armour line 7 (a character outside base64)'],
      ['the first of two odd characters, wherever it is in the block', change(9, (l) => `${l.slice(0, 63)}-`).replace(lines[1], `_${lines[1].slice(1)}`), 'payload armour line 2 (a character outside base64)'],
      ['a short line just before the last', change(20, (l) => l.slice(4)), 'payload armour line 20 (not a line of 64 base64 characters)'],
      ['a last line without its \\n', joined(lines).slice(0, -1), 'payload armour line 21 (not canonical base64 in lines of 64 ending in "\\n")'],
      ['a last line of one character', joined([...lines.slice(0, -1), 'Q']), 'payload armour line 21 (not canonical base64 in lines of 64 ending in "\\n")'],
      ['unused bits that are not zero', joined([...lines.slice(0, -1), 'QR==']), 'payload armour line 21 (not canonical base64 in lines of 64 ending in "\\n")'],
      ['an empty line at the end (the short line is then not the last)', `${joined(lines)}\n`, 'payload armour line 21 (not canonical base64 in lines of 64 ending in "\\n")'],
    ];
    for (const [what, text, message] of refusals) {
      it(what, async () => {
        // 360 cuts line 6 (bytes 325-389) between two pieces
        for (const size of [0, 1, 65, 200, 360]) await assert.rejects(dearmored(text, size), { message }, `in pieces of ${size}`);
      });
    }
  });
});
