/** The encrypted samples the fuzz, tamper and kill checks start from (fixed key, fixed IVs). */
import { parse } from 'dotenv';
import { assemble, encryptRanges, joinSealed, sealDotenv } from '../../src/core/envelope';
import { sealFileStream } from '../../src/core/whole-file';
import { seededRandom } from '../support/fixtures';
import { keyringKey } from '../support/local-keyring';
import { defaultContext } from '../../src/core/header';

export const sampleKey = () => keyringKey(defaultContext({ project: 'demo' }));

export const DOTENV_PLAIN = '# service\nDB_HOST=db.internal\nDB_PASSWORD="p@ss # not a comment"\nexport API_KEY=sk-123 # billing\nEMPTY=\nMULTI="line one\nline two"\n';
export const YAML_PLAIN = 'db:\n  user: admin\n  password: hunter2\napi:\n  token: tok-456\n';
export const YAML_SECRETS = ['hunter2', 'tok-456'];
export const FILE_PLAIN = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) & 0xff));

export const dotenvSample = (): string => joinSealed(sealDotenv(DOTENV_PLAIN, sampleKey(), { layout: { leader: '#', eol: '\n' }, random: seededRandom('sample-dotenv') }));

export function yamlSample(): string {
  const key = sampleKey();
  const ranges = YAML_SECRETS.map((s) => ({ start: YAML_PLAIN.indexOf(s), end: YAML_PLAIN.indexOf(s) + s.length }));
  return joinSealed(assemble('text', key, encryptRanges(YAML_PLAIN, ranges, key, seededRandom('sample-yaml')), { leader: '#', eol: '\n' }));
}

export async function fileSample(): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of sealFileStream([FILE_PLAIN], sampleKey(), seededRandom('sample-file'))) parts.push(p);
  return Buffer.concat(parts);
}

export const sameValues = (a: string, b: string): boolean => JSON.stringify(parse(a)) === JSON.stringify(parse(b));
