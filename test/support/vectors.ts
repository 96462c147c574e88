/**
 * The test vectors of docs/FORMAT.md, computed from the fixed data key, stanzas and IVs of
 * fixtures.ts. `npx tsx test/support/vectors.ts` prints them; test/unit/vectors.test.ts checks
 * that the document still says exactly this, and that each decrypts back.
 */
import { createHash } from 'node:crypto';
import { assemble, encryptRanges, FileKey, joinSealed, makeFileKey, sealDotenv } from '../../src/core/envelope';
import { defaultContext, prefixOf } from '../../src/core/header';
import { sealFileStream } from '../../src/core/whole-file';
import { countingRandom, testKey, VECTOR_DEK, VECTOR_STANZA, VECTOR_STANZA_2 } from './fixtures';

export const VECTOR_DOTENV_PLAINTEXT = '# demo\nexport DB_PASSWORD="s3cr3t # not a comment"\nAPI_KEY=abc123\nEMPTY=\n';
/** BOM, CRLF, a multi-line value, a quoted value on the line after `=`, no final line ending. */
export const VECTOR_CRLF_PLAINTEXT = '\uFEFF# crlf\r\nPEM="line one\r\nline two"\r\nNEXT=\r\n  \'quoted on the next line\'\r\nLAST=end';
export const VECTOR_YAML_PLAINTEXT = 'db:\n  password: hunter2\n';
export const VECTOR_JS_PLAINTEXT = '#!/usr/bin/env node\nconst key = "sk_live_42";\n';
export const VECTOR_JSON_PLAINTEXT = '{"token": "json-secret"}\n';
export const VECTOR_FILE_PLAINTEXT = 'hello, world\n';
/** Exactly one chunk of plaintext: the payload ends with an empty final chunk. */
export const VECTOR_64K_PLAINTEXT = Buffer.alloc(65536, 0x61);

const LF = { leader: '#', eol: '\n' } as const;

async function wholeFile(plain: Buffer, key: FileKey): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of sealFileStream([plain], key, countingRandom())) parts.push(p);
  return Buffer.concat(parts);
}

const selection = (text: string, secret: string, key: FileKey) => {
  const at = text.indexOf(secret);
  return encryptRanges(text, [{ start: at, end: at + secret.length }], key, countingRandom());
};

export async function vectors(): Promise<Record<string, string>> {
  const key = testKey();
  const twoKeys = makeFileKey(Buffer.from(VECTOR_DEK), [VECTOR_STANZA, VECTOR_STANZA_2], defaultContext({ project: 'demo' }));
  const hex = (b: Buffer) => b.toString('hex');
  const jsPrefix = prefixOf(VECTOR_JS_PLAINTEXT);
  const jsBody = VECTOR_JS_PLAINTEXT.slice(jsPrefix.length);
  const json = assemble('text', key, selection(VECTOR_JSON_PLAINTEXT, 'json-secret', key), LF, '', 'sidecar');
  const big = await wholeFile(VECTOR_64K_PLAINTEXT, key);
  const bigText = big.toString('latin1').split('\n');
  return {
    keys: [`dek        ${hex(key.dek)}`, `value key  ${hex(key.keys.value)}`, `mac key    ${hex(key.keys.mac)}`, `commitment ${hex(key.keys.commitment)}`].join('\n') + '\n',
    dotenv: joinSealed(sealDotenv(VECTOR_DOTENV_PLAINTEXT, key, { layout: LF, random: countingRandom() })),
    // shown with each CR as ␍ and the BOM as ␖, so that the block survives as Markdown
    // the file has no final line ending: the block's last line break is the document's
    'dotenv-crlf-bom': visible(joinSealed(sealDotenv(VECTOR_CRLF_PLAINTEXT, key, { layout: { leader: '#', eol: '\r\n' }, random: countingRandom() }))) + '\n',
    'dotenv-two-keys': joinSealed(sealDotenv('A=1\n', twoKeys, { layout: LF, random: countingRandom() })),
    'dotenv-empty': joinSealed(sealDotenv('', key, { layout: LF, random: countingRandom() })),
    yaml: joinSealed(assemble('text', key, selection(VECTOR_YAML_PLAINTEXT, 'hunter2', key), LF)),
    'js-shebang': joinSealed(assemble('text', key, selection(jsBody, 'sk_live_42', key), { leader: '//', eol: '\n' }, jsPrefix)),
    'json-sidecar': `data.json:\n${json.body}data.json.kms-envelope:\n${json.header}`,
    file: (await wholeFile(Buffer.from(VECTOR_FILE_PLAINTEXT), key)).toString('latin1'),
    'file-64k': [`sha256 ${createHash('sha256').update(big).digest('hex')}`, `lines ${bigText.length - 1}`, `line 6 ${bigText[5]}`, `last   ${bigText[bigText.length - 2]}`].join('\n') + '\n',
  };
}

/** CR as ␍ (U+240D) and BOM as ␖ (U+2416), so that a vector with both can stand in a Markdown block. */
export const visible = (s: string): string => s.replace(/\r/g, '\u240D').replace(/\uFEFF/g, '\u2416');
export const invisible = (s: string): string => s.replace(/\u240D/g, '\r').replace(/\u2416/g, '\uFEFF');

if (require.main === module) {
  void vectors().then((v) => {
    for (const [name, text] of Object.entries(v)) console.log(`\`\`\`text vector:${name}\n${text}\`\`\`\n`);
  });
}
