/**
 * The test vectors of docs/FORMAT.md, computed from the fixed data key, stanza and IVs of
 * fixtures.ts. `npx tsx test/support/vectors.ts` prints them; test/unit/vectors.test.ts checks
 * that the document still says exactly this.
 */
import { assemble, encryptRanges, joinSealed, sealDotenv } from '../../src/core/envelope';
import { sealFileStream } from '../../src/core/whole-file';
import { countingRandom, testKey } from './fixtures';

export const VECTOR_DOTENV_PLAINTEXT = '# demo\nexport DB_PASSWORD="s3cr3t # not a comment"\nAPI_KEY=abc123\nEMPTY=\n';
export const VECTOR_YAML_PLAINTEXT = 'db:\n  password: hunter2\n';
export const VECTOR_FILE_PLAINTEXT = 'hello, world\n';

export async function vectors(): Promise<Record<string, string>> {
  const key = testKey();
  const hex = (b: Buffer) => b.toString('hex');
  const dotenv = joinSealed(sealDotenv(VECTOR_DOTENV_PLAINTEXT, key, { layout: { leader: '#', eol: '\n' }, random: countingRandom() }));
  const at = VECTOR_YAML_PLAINTEXT.indexOf('hunter2');
  const body = encryptRanges(VECTOR_YAML_PLAINTEXT, [{ start: at, end: at + 7 }], key, countingRandom());
  const yaml = joinSealed(assemble('text', key, body, { leader: '#', eol: '\n' }));
  const parts: Buffer[] = [];
  for await (const p of sealFileStream([Buffer.from(VECTOR_FILE_PLAINTEXT)], key, countingRandom())) parts.push(p);
  const file = Buffer.concat(parts);
  const headerEnd = file.indexOf('\n# mac ') + 1 + file.subarray(file.indexOf('\n# mac ') + 1).indexOf('\n') + 1;
  return {
    keys: [`dek        ${hex(key.dek)}`, `value key  ${hex(key.keys.value)}`, `mac key    ${hex(key.keys.mac)}`, `commitment ${hex(key.keys.commitment)}`].join('\n') + '\n',
    dotenv,
    yaml,
    file: file.subarray(0, headerEnd).toString('utf8') + `<payload, hex>\n${hex(file.subarray(headerEnd)).replace(/(.{64})/g, '$1\n').trimEnd()}\n`,
  };
}

if (require.main === module) {
  void vectors().then((v) => {
    for (const [name, text] of Object.entries(v)) console.log(`\`\`\`text vector:${name}\n${text}\`\`\`\n`);
  });
}
