/**
 * The tamper matrix: every byte of a sample changed in turn, and every line deleted, duplicated
 * and swapped with the next. Every byte of a file is authenticated, so each change must be
 * refused with the place named (entry, token, header line or field, MAC, payload chunk or
 * armour line); "harmless" (the same values come out of a changed file) is counted, and must be 0.
 */
import { decodeFile, decodeText, Verdict } from './decoders';
import { dotenvSample, sampleKey, yamlSample } from './samples';
import { sealFileStream } from '../../src/core/whole-file';
import { seededRandom } from '../support/fixtures';

export interface TamperRow {
  sample: string;
  cases: number;
  refusedNamed: number;
  harmless: number;
  failures: string[];
}

const NAMED = /entry \S+ \(line \d+\)|token at line \d+|header line \d+|header (MAC|commitment|key stanza)|payload|\bline \d+|sidecar/;

function lineEdits(text: string): [string, string][] {
  const lines = text.split('\n');
  const out: [string, string][] = [];
  for (let i = 0; i < lines.length; i++) {
    out.push([`delete line ${i + 1}`, [...lines.slice(0, i), ...lines.slice(i + 1)].join('\n')]);
    out.push([`duplicate line ${i + 1}`, [...lines.slice(0, i + 1), lines[i], ...lines.slice(i + 1)].join('\n')]);
    if (i + 1 < lines.length) out.push([`swap lines ${i + 1} and ${i + 2}`, [...lines.slice(0, i), lines[i + 1], lines[i], ...lines.slice(i + 2)].join('\n')]);
  }
  return out;
}

async function judge(row: TamperRow, what: string, v: Verdict): Promise<void> {
  row.cases++;
  if (!v.ok) row.failures.push(`${what}: ${v.finding}`);
  else if (v.outcome === 'same') row.harmless++;
  else if (v.message && NAMED.test(v.message)) row.refusedNamed++;
  else row.failures.push(`${what}: refused without naming the place (${v.message})`);
}

/** `stride` > 1 samples every n-th byte (the fixed-seed share in npm test). */
export async function tamperMatrix(stride = 1): Promise<TamperRow[]> {
  const rows: TamperRow[] = [];
  for (const [sample, kind, text] of [
    ['encrypted .env', 'dotenv', dotenvSample()],
    ['YAML with tokens', 'text', yamlSample()],
  ] as const) {
    const row: TamperRow = { sample, cases: 0, refusedNamed: 0, harmless: 0, failures: [] };
    const bytes = Buffer.from(text, 'utf8');
    for (let i = 0; i < bytes.length; i += stride) {
      const b = Buffer.from(bytes);
      b[i] = b[i] === 0x41 ? 0x42 : 0x41; // a printable change, so the text stays text
      await judge(row, `byte ${i}`, await decodeText(b.toString('utf8'), kind));
    }
    for (const [what, edited] of lineEdits(text)) await judge(row, what, await decodeText(edited, kind));
    rows.push(row);
  }
  const parts: Buffer[] = [];
  const plain = Buffer.from('a small whole-file secret\n'.repeat(8));
  for await (const p of sealFileStream([plain], sampleKey(), seededRandom('tamper'))) parts.push(p);
  const blob = Buffer.concat(parts);
  const row: TamperRow = { sample: 'whole-file blob', cases: 0, refusedNamed: 0, harmless: 0, failures: [] };
  for (let i = 0; i < blob.length; i += stride) {
    const b = Buffer.from(blob);
    b[i] ^= 0x01;
    await judge(row, `byte ${i}`, await decodeFile(b, plain));
  }
  rows.push(row);
  return rows;
}
