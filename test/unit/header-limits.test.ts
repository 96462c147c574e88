/**
 * Every rule of the header, on its own (issue 12): for each malformed header, the exact error a
 * reader gives (so a rule that is dropped, loosened or misreported fails its own row), and at
 * each limit, the last accepted value next to the first refused one. Writers (serializeUnsigned,
 * defaultContext) refuse what readers would.
 */
import assert from 'node:assert/strict';
import { KmsEnvelopeError } from '../../src/core/errors';
import { defaultContext, Header, LIMITS, parseHeader, prefixOf, serializeUnsigned, Stanza, storeOf } from '../../src/core/header';
import { refusedAs } from '../support/errors';

const arn = (i: number, region = 'us-east-1') => `arn:aws:kms:${region}:111122223333:key/${i.toString(16).padStart(8, '0')}-1111-2222-3333-444455556666`;
const B64_32 = Buffer.alloc(32, 1).toString('base64');
const stanza = (i: number, rest = `${Buffer.alloc(40, i).toString('base64')}`) => `-> aws-kms ${arn(i)} ${rest}`;
const CONTEXT = 'context {"kms-envelope":"v1"}';

/** A header from its field lines (without the leader), `#` and `\n` unless told. */
function headerText(o: { first?: string; stanzas?: string[]; context?: string; prefix?: string; eol?: string; leader?: string } = {}): string {
  const { leader = '#', eol = '\n' } = o;
  const lines = [o.first ?? 'kms-envelope v1 dotenv', ...(o.stanzas ?? [stanza(1)]), o.context ?? CONTEXT, `commitment ${B64_32}`, `mac ${B64_32}`];
  return (o.prefix ?? '') + lines.map((l) => `${leader} ${l}${eol}`).join('') + 'A=1\n';
}

const parses = (text: string) => assert.ok(parseHeader(text), 'accepted');
const contextOf = (pairs: Record<string, string>) => `context ${JSON.stringify(Object.fromEntries(Object.entries({ ...pairs, 'kms-envelope': 'v1' }).sort(([a], [b]) => (a < b ? -1 : 1))))}`;

describe('header rules, one by one', () => {
  const rows: [string, string, string][] = [
    ['a newer format version', headerText({ first: 'kms-envelope v2 dotenv' }), 'header line 1: kms-envelope v2 is not supported by this version'],
    ['an unknown store', headerText({ first: 'kms-envelope v1 blob' }), 'header line 1: unknown store "blob"'],
    ['no store at all', headerText({ first: 'kms-envelope v1' }), 'header line 1: unknown store ""'],
    ['a first line with no line ending', '# kms-envelope v1 dotenv', 'header line 1: the header is not terminated'],
    ['a header that ends early', '# kms-envelope v1 dotenv\n# ' + stanza(1), 'header line 2: missing or overlong line'],
    ['a line in another comment syntax', headerText().replace('# context', '// context'), 'header line 3: expected "# …"'],
    ['a carriage return inside a line', headerText().replace('# context {', '# context\r{'), 'header line 3: mixed line endings'],
    ['a bare \\n inside a CRLF header', headerText({ eol: '\r\n' }).replace('# context {', '# context\n{'), 'header line 3: mixed line endings'],
    ['an ASCII line of 8193 bytes', headerText({ context: `context ${'x'.repeat(8193 - 10)}` }), 'header line 3: missing or overlong line'],
    ['a UTF-8 line over 8192 bytes (fewer characters)', headerText({ context: `context ${'€'.repeat(2800)}` }), 'header line 3: overlong line'],
    ['no key stanza', headerText({ stanzas: [] }), 'header line 2: expected at least one "-> aws-kms" key stanza'],
    ['two stanzas for one key', headerText({ stanzas: [stanza(1), stanza(1)] }), 'header line 3 (key stanza): a second stanza for the same key'],
    ['17 key stanzas', headerText({ stanzas: Array.from({ length: 17 }, (_, i) => stanza(i)) }), 'header line 18: more than 16 key stanzas'],
    ['a stanza of three fields', headerText({ stanzas: [`-> aws-kms ${arn(1)}`] }), 'header line 2 (key stanza): expected "-> aws-kms <key ARN> <wrapped key> [alias]"'],
    ['a stanza of six fields', headerText({ stanzas: [`${stanza(1)} alias/a extra`] }), 'header line 2 (key stanza): expected "-> aws-kms <key ARN> <wrapped key> [alias]"'],
    ['another key type', headerText({ stanzas: [stanza(1).replace('aws-kms', 'gcp-kms')] }), 'header line 2 (key stanza): unknown key type "gcp-kms"'],
    ['a key that is not a KMS key ARN', headerText({ stanzas: [stanza(1).replace(':key/', ':alias/')] }), 'header line 2 (key stanza): not a KMS key ARN'],
    ['an empty wrapped key', headerText({ stanzas: [`-> aws-kms ${arn(1)}  alias/a`] }), 'header line 2 (key stanza): wrapped key is not base64'],
    ['a wrapped key that is not base64', headerText({ stanzas: [stanza(1, 'not*base64')] }), 'header line 2 (key stanza): wrapped key is not base64'],
    ['a wrapped key over 4096 bytes', headerText({ stanzas: [stanza(1, Buffer.alloc(4097, 7).toString('base64'))] }), 'header line 2 (key stanza): wrapped key longer than 4096 bytes'],
    ['an alias that does not look like one', headerText({ stanzas: [`${stanza(1)} key/x`] }), 'header line 2 (key stanza): alias must look like alias/name'],
    ['no context line', headerText({ context: `commitment ${B64_32}` }), 'header line 3: expected "context"'],
    ['a context that is not JSON', headerText({ context: 'context {nope' }), 'header line 3 (context): not JSON'],
    ['a context that is a JSON array', headerText({ context: 'context ["kms-envelope"]' }), 'header line 3 (context): not a JSON object'],
    ['a context that is JSON null', headerText({ context: 'context null' }), 'header line 3 (context): not a JSON object'],
    ['a context over 4096 bytes', headerText({ context: contextOf({ a: 'x'.repeat(4100) }) }), 'header line 3 (context): longer than 4096 bytes'],
    ['a context of 33 pairs', headerText({ context: contextOf(Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v']))) }), 'header line 3 (context): more than 32 pairs'],
    ['a context with a non-string value', headerText({ context: 'context {"kms-envelope":"v1","n":1}' }), 'header line 3 (context): expected string values'],
    ['a "__proto__" key beside others', headerText({ context: 'context {"__proto__":"x","kms-envelope":"v1"}' }), 'header line 3 (context): the key "__proto__" is not allowed'],
    ['a context out of order', headerText({ context: 'context {"kms-envelope":"v1","a":"b"}' }), 'header line 3 (context): not in canonical form (sorted keys, compact JSON, one spelling per key)'],
    ['a context without the format pair', headerText({ context: 'context {"a":"b"}' }), 'header line 3 (context): missing "kms-envelope":"v1"'],
    ['a commitment of 31 bytes', headerText().replace(`commitment ${B64_32}`, `commitment ${Buffer.alloc(31).toString('base64')}`), 'header line 4 (commitment): expected 32 bytes in base64'],
    ['a "#!" line over 256 bytes', headerText({ prefix: `#!${'x'.repeat(257)}\n` }), 'line 1: a "#!" line longer than 256 bytes after "#!"'],
  ];
  for (const [what, text, message] of rows) {
    it(`refuses ${what}: FORMAT, "${message}"`, () => assert.throws(() => parseHeader(text), refusedAs('FORMAT', message)));
  }

  it('a newer version says to upgrade', () =>
    assert.throws(() => parseHeader(headerText({ first: 'kms-envelope v2 dotenv' })), (e: unknown) => e instanceof KmsEnvelopeError && e.hint === 'Upgrade kms-envelope to read this file.'));

  it('accepts each limit exactly: 16 stanzas, 32 pairs, 4096 context bytes, an 8192-byte line, a 256-byte "#!" line (with a BOM, either line ending)', () => {
    parses(headerText({ stanzas: Array.from({ length: 16 }, (_, i) => stanza(i)) }));
    parses(headerText({ context: contextOf(Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v']))) }));
    const base = contextOf({ a: '' }).length - 'context '.length;
    parses(headerText({ context: contextOf({ a: 'x'.repeat(4096 - base) }) }));
    for (const eol of ['\n', '\r\n']) parses(headerText({ prefix: `\uFEFF#!${'x'.repeat(256)}${eol}`, eol }));
    // a line of exactly 8192 bytes passes the line rules and fails only on its content, also far down the file
    const long = `-> aws-kms ${arn(1)} ${'A'.repeat(8192 - 2 - `-> aws-kms ${arn(1)} `.length)}`;
    assert.equal(Buffer.byteLength(`# ${long}`), 8192);
    for (const prefix of ['', `#!${'x'.repeat(256)}\n`]) {
      assert.throws(() => parseHeader(headerText({ prefix, stanzas: [long] })), refusedAs('FORMAT', 'header line 2 (key stanza): wrapped key is not base64'));
    }
  });

  it('looks for a header only in the first 400 characters: a longer "#!" line means no header, not an error', () => {
    const text = headerText({ prefix: `#!${'x'.repeat(500)}\n` });
    assert.equal(parseHeader(text), null);
    assert.equal(storeOf(text), null);
    assert.equal(storeOf(headerText()), 'dotenv');
  });

  it('prefixOf keeps a BOM and a "#!" line of up to 256 bytes, and refuses a longer one', () => {
    assert.equal(prefixOf(`\uFEFF#!${'x'.repeat(256)}\r\nA=1`), `\uFEFF#!${'x'.repeat(256)}\r\n`);
    assert.throws(() => prefixOf(`#!${'x'.repeat(257)}\nA=1`), refusedAs('FORMAT', 'line 1: a "#!" line longer than 256 bytes after "#!"'));
  });
});

describe('header writers refuse what readers would', () => {
  const wrapped = Buffer.alloc(40, 1);
  const s = (i: number, extra: Partial<Stanza> = {}): Stanza => ({ type: 'aws-kms', keyArn: arn(i), wrapped, ...extra });
  const header = (stanzas: Stanza[], context = defaultContext()): Omit<Header, 'mac'> => ({ store: 'dotenv', stanzas, context, commitment: Buffer.alloc(32) });
  const write = (h: Omit<Header, 'mac'>) => serializeUnsigned(h, { leader: '#', eol: '\n' });
  const rows: [string, () => unknown, string, string][] = [
    ['no key', () => write(header([])), 'USAGE', 'a file needs at least one KMS key'],
    ['17 keys', () => write(header(Array.from({ length: 17 }, (_, i) => s(i)))), 'USAGE', 'at most 16 KMS keys per file'],
    ['one key twice', () => write(header([s(1), s(1)])), 'USAGE', "a KMS key may wrap a file's data key once"],
    ['a key that is not an ARN', () => write(header([s(1, { keyArn: 'alias/x' })])), 'USAGE', 'not a KMS key ARN: alias/x'],
    ['an alias that is not one', () => write(header([s(1, { alias: 'key/x' })])), 'USAGE', 'not a KMS alias: key/x'],
    ['an empty wrapped key', () => write(header([s(1, { wrapped: Buffer.alloc(0) })])), 'USAGE', 'a wrapped data key of unexpected size'],
    ['a wrapped key over 4096 bytes', () => write(header([s(1, { wrapped: Buffer.alloc(LIMITS.wrappedBytes + 1) })])), 'USAGE', 'a wrapped data key of unexpected size'],
    ['a context of 33 pairs', () => write(header([s(1)], { ...defaultContext(Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, 'v']))), z: 'one too many' })), 'FORMAT', 'encryption context: 33 pairs; at most 32'],
    ['a context over 4096 bytes', () => write(header([s(1)], { ...defaultContext(), a: 'x'.repeat(4096) })), 'FORMAT', 'encryption context: longer than 4096 bytes as JSON'],
    ['a context with the format key changed', () => defaultContext({ 'kms-envelope': 'v2' }), 'USAGE', 'the encryption context key "kms-envelope" is the format\'s own (always "v1")'],
    ['a context with a "__proto__" key', () => defaultContext(JSON.parse('{"__proto__":"x"}') as Record<string, string>), 'USAGE', 'the encryption context key "__proto__" is not allowed'],
    ['a default context of 33 pairs', () => defaultContext(Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, 'v']))), 'FORMAT', 'encryption context: 33 pairs; at most 32'],
  ];
  for (const [what, fn, code, message] of rows) {
    it(`refuses ${what}: ${code}, "${message}"`, () => assert.throws(fn, refusedAs(code, message)));
  }

  it('accepts each limit exactly: 16 keys, a 4096-byte wrapped key (its line within a header line\'s limit), 32 pairs, the format key set to "v1"', () => {
    assert.ok(write(header(Array.from({ length: 16 }, (_, i) => s(i)))));
    // the longest stanza a writer writes (a 4096-byte key, the longest alias, with '//') is a line a reader reads
    const longest = write(header([s(1, { wrapped: Buffer.alloc(LIMITS.wrappedBytes, 7), alias: `alias/${'a'.repeat(250)}` })]));
    assert.ok(longest.split('\n').every((l) => Buffer.byteLength(`/${l}`) <= LIMITS.lineBytes));
    assert.deepEqual(parseHeader(`${serializeUnsigned(header([s(1, { wrapped: Buffer.alloc(LIMITS.wrappedBytes, 7), alias: `alias/${'a'.repeat(250)}` })]), { leader: '//', eol: '\n' })}// mac ${'A'.repeat(43)}=\n`)!.header.stanzas[0].wrapped.length, LIMITS.wrappedBytes);
    assert.equal(Object.keys(defaultContext(Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`k${i}`, 'v'])))).length, 32);
    assert.deepEqual(defaultContext({ 'kms-envelope': 'v1', a: 'b' }), { a: 'b', 'kms-envelope': 'v1' });
    const json = JSON.stringify(defaultContext({ a: '' }));
    assert.ok(write(header([s(1)], defaultContext({ a: 'x'.repeat(4096 - Buffer.byteLength(json)) }))));
  });
});
