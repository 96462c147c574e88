import assert from 'node:assert/strict';
import { defaultContext, Header, parseHeader, serializeHeader } from '../../src/core/header';
import { KmsEnvelopeError } from '../../src/core/errors';
import { VECTOR_STANZA } from '../support/fixtures';

const header: Header = {
  store: 'dotenv',
  stanzas: [VECTOR_STANZA, { ...VECTOR_STANZA, keyArn: VECTOR_STANZA.keyArn.replace('us-east-1', 'eu-west-1'), alias: undefined }],
  context: defaultContext({ project: 'billing', env: 'prod' }),
  commitment: Buffer.alloc(32, 7),
  mac: Buffer.alloc(32, 9),
};

const formatError = (fn: () => unknown, where: RegExp): void =>
  assert.throws(fn, (e: unknown) => e instanceof KmsEnvelopeError && e.code === 'FORMAT' && where.test(e.message));

describe('header', () => {
  it('serializes and parses back the same fields, in both comment syntaxes and line endings', () => {
    for (const layout of [{ leader: '#', eol: '\n' }, { leader: '//', eol: '\r\n' }] as const) {
      const text = serializeHeader(header, layout) + 'BODY';
      const parsed = parseHeader(text)!;
      assert.deepEqual(parsed.layout, layout);
      assert.equal(text.slice(parsed.headerEnd), 'BODY');
      assert.equal(serializeHeader(parsed.header, layout), serializeHeader(header, layout));
    }
  });

  it('returns null for text without a header', () => {
    assert.equal(parseHeader('A=1\n'), null);
    assert.equal(parseHeader('# a comment\n# kms-envelope v1 dotenv\n'), null);
  });

  it('refuses a future version with a message that says to upgrade', () => {
    assert.throws(() => parseHeader('# kms-envelope v2 dotenv\n'), /v2 is not supported/);
  });

  it('names the line of each malformed field', () => {
    const good = serializeHeader(header, { leader: '#', eol: '\n' });
    const lines = good.split('\n');
    const swap = (i: number, line: string) => [...lines.slice(0, i), line, ...lines.slice(i + 1)].join('\n');
    formatError(() => parseHeader(swap(0, '# kms-envelope v1 yaml')), /line 1/);
    formatError(() => parseHeader(swap(1, '# -> aws-kms not-an-arn AAAA')), /line 2 \(key stanza\)/);
    formatError(() => parseHeader(swap(1, `# -> gcp-kms ${VECTOR_STANZA.keyArn} AAAA`)), /unknown key type/);
    formatError(() => parseHeader(swap(3, '# context {"project":"billing","kms-envelope":"v1"}')), /canonical/);
    formatError(() => parseHeader(swap(3, '# context {"kms-envelope":"v1","n":1}')), /string values/);
    formatError(() => parseHeader(swap(4, '# commitment AAAA')), /32 bytes/);
    formatError(() => parseHeader(swap(5, '# mac ' + 'A'.repeat(40))), /line 6 \(mac\)/);
    formatError(() => parseHeader(swap(2, '// -> aws-kms x')), /expected "# …"/);
    formatError(() => parseHeader(lines.slice(0, 4).join('\n')), /missing or overlong/);
  });

  it('rejects oversized headers in bounded time', () => {
    const stanza = (i: number) => `# -> aws-kms ${VECTOR_STANZA.keyArn.replace(/.{4}$/, i.toString(16).padStart(4, '0'))} ${Buffer.alloc(64).toString('base64')}\n`;
    const start = process.hrtime.bigint();
    formatError(() => parseHeader('# kms-envelope v1 dotenv\n' + Array.from({ length: 10_000 }, (_, i) => stanza(i)).join('')), /more than 16/);
    formatError(() => parseHeader('# kms-envelope v1 dotenv\n# ' + 'x'.repeat(5_000_000) + '\n'), /overlong/);
    assert.ok(Number(process.hrtime.bigint() - start) / 1e6 < 2000);
  });
});
