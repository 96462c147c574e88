import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'dotenv';
import {
  decryptRanges,
  encryptRanges,
  joinSealed,
  openDocument,
  sealDotenv,
  splitDocument,
  assemble,
  wipeFileKey,
} from '../../src/core/envelope';
import { KmsEnvelopeError } from '../../src/core/errors';
import { formatToken, parseToken } from '../../src/core/formats/token';
import { layoutFor } from '../../src/core/operations';
import { prefixOf } from '../../src/core/header';
import { dotenvText } from '../support/arbitraries';
import { seededRandom, testKey, unwrapTo } from '../support/fixtures';

const seal = (plain: string, seed = 'x') => joinSealed(sealDotenv(plain, testKey(), { layout: layoutFor(plain), random: seededRandom(seed) }));
const open = (enc: string) => openDocument(splitDocument(enc)!, unwrapTo());
const open2 = (enc: string, dek: Buffer) => openDocument(splitDocument(enc)!, unwrapTo(dek));

const SAMPLE = '\uFEFF# database\r\nexport DB_PASSWORD="p@ss # word"  # inline\r\nAPI_KEY=abc123\r\nEMPTY=\r\nPEM="-----BEGIN-----\nline\n-----END-----"\r\nSINGLE=\'it\\\'s\'\r\nBACK=`x`';

async function rejects(p: Promise<unknown>, code: string, where?: RegExp): Promise<KmsEnvelopeError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof KmsEnvelopeError, String(e));
    assert.equal(e.code, code, e.message);
    if (where) assert.match(e.message, where);
    return e;
  }
  assert.fail('expected a rejection');
}

describe('envelope: key handling', () => {
  it('after wipeFileKey, the data key and every key derived from it are zero', () => {
    const key = testKey();
    wipeFileKey(key);
    for (const b of [key.dek, key.keys.value, key.keys.mac]) assert.ok(b.every((x) => x === 0));
  });

  it('a stanza that unwraps to another data key is refused by the commitment alone (COMMITMENT before any MAC or tag)', async () => {
    const enc = seal('A=one\n');
    const other = Buffer.alloc(32, 9);
    const err = await rejects(open2(enc, other), 'TAMPERED', /header commitment/);
    assert.doesNotMatch(err.message, /MAC|entry/);
  });
});

describe('envelope: dotenv store', () => {
  it('round-trips a .env losslessly: BOM, CRLF, quotes, export, comments, multi-line, no final newline', async () => {
    const enc = seal(SAMPLE);
    assert.ok(enc.startsWith('\uFEFF# kms-envelope v1 dotenv\r\n'));
    for (const secret of ['p@ss # word', 'abc123', 'BEGIN', "it\\'s"]) assert.ok(!enc.includes(secret), secret);
    assert.match(enc, /\r\nexport DB_PASSWORD=ENC\[kmsenv:v1:[\w-]+\]  # inline\r\n/);
    assert.equal((await open(enc)).plaintext, SAMPLE);
  });

  it('property: any .env text survives encrypt → decrypt unchanged, and dotenv.parse sees no plaintext value in between', async () => {
    await fc.assert(
      fc.asyncProperty(dotenvText(), async (text) => {
        const enc = seal(text);
        const opened = await open(enc);
        assert.equal(opened.plaintext, text);
        for (const v of Object.values(parse(enc))) assert.ok(v === '' || /^ENC\[kmsenv:v1:[\w-]+\]$/.test(v), v);
      }),
      { numRuns: 500, seed: 7 },
    );
  });

  it('keeps the ciphertext of every unchanged value on re-save; new IVs only for changed values', async () => {
    const enc = seal(SAMPLE);
    const opened = await open(enc);
    const edited = opened.plaintext.replace('abc123', 'xyz789');
    const resealed = joinSealed(sealDotenv(edited, opened.key, { layout: opened.layout, reuse: opened.reuse, random: seededRandom('other') }));
    const changed = resealed.split('\r\n').filter((l, i) => l !== enc.split('\r\n')[i]);
    assert.deepEqual(changed.map((l) => l.split(/[ =]/)[1] === 'mac' ? 'mac' : l.split('=')[0]), ['mac', 'API_KEY']);
    const iv = (text: string) => Buffer.from(/API_KEY=ENC\[kmsenv:v1:([\w-]+)\]/.exec(text)![1], 'base64url').subarray(0, 12).toString('hex');
    assert.notEqual(iv(resealed), iv(enc), 'the changed value has a new IV');
    assert.equal((await open(resealed)).plaintext, edited);
  });

  it('refuses values swapped between names, naming the entry', async () => {
    const enc = seal('A=one\nB=two\n');
    const [a, b] = [/A=(ENC\S+)/.exec(enc)![1], /B=(ENC\S+)/.exec(enc)![1]];
    const swapped = enc.replace(a, 'TMP').replace(b, a).replace('TMP', b);
    await rejects(open(swapped), 'TAMPERED', /entry A \(line 6\)/);
  });

  it('detects removed, duplicated, reordered and added entries through the MAC', async () => {
    const enc = seal('A=one\nB=two\nC=\n');
    const lines = enc.split('\n');
    const body = lines.slice(5);
    const variants = [
      [...lines.slice(0, 5), body[1], body[2]],
      [...lines.slice(0, 5), body[0], body[0], body[1], body[2]],
      [...lines.slice(0, 5), body[1], body[0], body[2]],
      [...lines.slice(0, 5), ...body.slice(0, 3), 'D=', ''],
    ];
    for (const v of variants) await rejects(open(v.join('\n')), 'TAMPERED', /header MAC/);
    await rejects(open(enc.replace('C=', 'C=plain')), 'TAMPERED', /entry C \(line 8\) is not encrypted/);
  });

  it('refuses a data key that does not match the commitment, before decrypting anything', async () => {
    await rejects(openDocument(splitDocument(seal('A=1\n'))!, unwrapTo(Buffer.alloc(32, 5))), 'TAMPERED', /commitment/);
  });

  it('any single changed byte anywhere (header, MAC line, comments, tokens) is refused with TAMPERED or FORMAT, or leaves no header at all', async () => {
    const plain = 'A=one\n# c\nB="two words"\n';
    const enc = seal(plain);
    let refused = 0;
    let headerless = 0; // counted for the failure message only
    for (let i = 0; i < enc.length; i++) {
      for (const ch of ['A', '0', ' ', '\n', '#', '_']) {
        if (enc[i] === ch) continue;
        const mutated = enc.slice(0, i) + ch + enc.slice(i + 1);
        const outcome = await (async () => {
          const doc = splitDocument(mutated);
          if (!doc) return 'headerless';
          await openDocument(doc, unwrapTo());
          return 'accepted';
        })().catch((e: unknown) => (e instanceof KmsEnvelopeError ? e.code : `not a KmsEnvelopeError: ${String(e)}`));
        if (outcome === 'headerless') {
          // no longer a kms-envelope file at all (decrypt and run refuse it as NOT_ENCRYPTED): only an edit of the first line does that
          assert.ok(i <= enc.indexOf('\n'), `byte ${i} → ${JSON.stringify(ch)} removed the header`);
          headerless++;
          continue;
        }
        assert.ok(outcome === 'TAMPERED' || outcome === 'FORMAT', `byte ${i} → ${JSON.stringify(ch)}: ${outcome}`);
        refused++;
      }
    }
    assert.ok(refused > enc.length * 4, `${refused} refusals, ${headerless} header-less`);
  });
});

describe('envelope: text store (selections)', () => {
  const key = testKey();
  const yaml = 'db:\n  password: hunter2\n  user: admin\n';

  it('encrypts a selection into a token and back, verified by the MAC', async () => {
    const start = yaml.indexOf('hunter2');
    const body = encryptRanges(yaml, [{ start, end: start + 7 }], key, seededRandom('t'));
    assert.match(body, /password: ENC\[kmsenv:v1:[\w-]+\]\n/);
    const sealed = joinSealed(assemble('text', key, body, { leader: '#', eol: '\n' }));
    const opened = await open(sealed);
    assert.equal(opened.plaintext, yaml);
    const back = decryptRanges(body, [{ start: body.indexOf('ENC['), end: body.indexOf('ENC[') + 1 }], key);
    assert.equal(back, yaml);
  });

  it('keeps a script\'s shebang line first, with the header below it', async () => {
    const script = '#!/bin/sh\nexport TOKEN=s3cret\nexec app\n';
    const prefix = prefixOf(script);
    const body = script.slice(prefix.length);
    const at = body.indexOf('s3cret');
    const sealed = joinSealed(assemble('text', key, encryptRanges(body, [{ start: at, end: at + 6 }], key), { leader: '#', eol: '\n' }, prefix));
    assert.match(sealed, /^#!\/bin\/sh\n# kms-envelope v1 text\n/);
    assert.ok(!sealed.includes('s3cret'));
    assert.equal((await open(sealed)).plaintext, script);
  });

  it('detects a token removed from the text', async () => {
    const s = yaml.indexOf('admin');
    const body = encryptRanges(yaml, [{ start: 0, end: 2 }, { start: s, end: s + 5 }], key);
    const sealed = joinSealed(assemble('text', key, body, { leader: '#', eol: '\n' }));
    await rejects(open(sealed.replace(/ENC\[[^\]]+\]\n$/, 'admin\n')), 'TAMPERED', /header MAC/);
  });
});

describe('reading back a document just sealed (a save of the decrypted view)', () => {
  it('with the reuse map of its open, gives the same plaintext and reuse map as a full open', async () => {
    const first = await open(seal(SAMPLE));
    const edited = first.plaintext.replace('abc123', 'changed');
    const sealed = joinSealed(sealDotenv(edited, first.key, { layout: first.layout, reuse: first.reuse }));
    const quick = await openDocument(splitDocument(sealed)!, unwrapTo(), first.reuse);
    const full = await open(sealed);
    assert.equal(quick.plaintext, edited);
    assert.deepEqual([...quick.reuse], [...full.reuse]);
  });

  it('a carried token under another entry name is decrypted, and refused: its tag binds the name, even under a valid MAC', async () => {
    const key = testKey();
    const first = await open(seal('A=alpha\nB=bravo\n'));
    const tokens = [...first.reuse].map(([, , token]) => token);
    const swapped = assemble('dotenv', key, `A=${tokens[1]}\nB=${tokens[0]}\n`, { leader: '#', eol: '\n' });
    const e = await rejects(openDocument(splitDocument(joinSealed(swapped))!, unwrapTo(), first.reuse), 'TAMPERED');
    assert.match(e.message, /entry A/);
  });
});

describe('each value on its own (not only through the header MAC)', () => {
  it('a value whose GCM tag was changed is refused naming its entry, even under a valid MAC', async () => {
    const key = testKey();
    const first = await open(seal('A=alpha\nB=bravo\n'));
    const tokenB = [...first.reuse].find(([name]) => name === 'B')![2];
    const sealed = parseToken(tokenB)!;
    sealed[sealed.length - 1] ^= 1; // the last byte of the tag
    const forged = assemble('dotenv', key, `A=${[...first.reuse][0][2]}\nB=${formatToken(sealed)}\n`, { leader: '#', eol: '\n' });
    const e = await rejects(openDocument(splitDocument(joinSealed(forged))!, unwrapTo()), 'TAMPERED');
    assert.match(e.message, /entry B/);
  });

  it('every value gets a fresh IV (2,000 values sealed with the real random source: no IV repeats, none is zero)', () => {
    const key = testKey();
    const ivs = new Set<string>();
    const text = Array.from({ length: 1000 }, (_, i) => `K${i}=same\n`).join('');
    for (const round of [1, 2]) {
      const body = sealDotenv(text, key, { layout: { leader: '#', eol: '\n' } }).body;
      for (const m of body.matchAll(/ENC\[kmsenv:v1:([\w-]+)\]/g)) ivs.add(Buffer.from(m[1], 'base64url').subarray(0, 12).toString('hex'));
      assert.equal(ivs.size, 1000 * round);
    }
    assert.ok(!ivs.has('0'.repeat(24)));
  });
});
