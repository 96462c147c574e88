/**
 * Generated and mutated inputs through every decoder (fast-check, fixed seed): only typed
 * errors, never a crash, a hang or different plaintext. Returns counts for the report.
 */
import fc from 'fast-check';
import { decodeFile, decodeText, Verdict } from './decoders';
import { dotenvSample, fileSample, yamlSample } from './samples';
import { dotenvText } from '../support/arbitraries';

export interface FuzzReport {
  inputs: number;
  refused: number;
  same: number;
  findings: string[];
  slowestMs: number;
  maxHeapMb: number;
}

/** Edits of a text: flips, inserts, deletes, duplicated, dropped and swapped lines, truncation. */
const textMutation = (base: string) =>
  fc.oneof(
    fc.tuple(fc.nat(base.length - 1), fc.string({ minLength: 1, maxLength: 4, unit: 'binary' })).map(([i, s]) => base.slice(0, i) + s + base.slice(i + 1)),
    fc.tuple(fc.nat(base.length), fc.string({ maxLength: 40, unit: 'grapheme' })).map(([i, s]) => base.slice(0, i) + s + base.slice(i)),
    fc.tuple(fc.nat(base.length), fc.nat(200)).map(([i, n]) => base.slice(0, i) + base.slice(i + n)),
    fc.nat(base.length).map((i) => base.slice(0, i)),
    fc.tuple(fc.nat(30), fc.nat(30)).map(([a, b]) => {
      const lines = base.split('\n');
      const [x, y] = [a % lines.length, b % lines.length];
      [lines[x], lines[y]] = [lines[y], lines[x]];
      return lines.join('\n');
    }),
    fc.tuple(fc.nat(30), fc.boolean()).map(([a, dup]) => {
      const lines = base.split('\n');
      const x = a % lines.length;
      lines.splice(x, dup ? 0 : 1, ...(dup ? [lines[x]] : []));
      return lines.join('\n');
    }),
    fc.tuple(fc.nat(30), fc.constantFrom('# kms-envelope v1 dotenv', '# -> aws-kms arn:aws:kms:us-east-1:111122223333:key/x AAAA', '# endpoint http://127.0.0.1:1', `# context {"kms-envelope":"v1"${',"a":"b"'.repeat(40)}}`, 'ENC[kmsenv:v1:AAAA]', 'X=ENC[kmsenv:v1:]')).map(([a, line]) => {
      const lines = base.split('\n');
      lines.splice(a % lines.length, 0, line);
      return lines.join('\n');
    }),
    fc.nat(8).map((k) => base.split('\n').slice(0, 5).join('\n').repeat(k * 500)), // oversized headers
  );

const byteMutation = (base: Buffer) =>
  fc.oneof(
    fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
      const b = Buffer.from(base);
      b[i] ^= x;
      return b;
    }),
    fc.nat(base.length).map((i) => base.subarray(0, i)),
    fc.tuple(fc.nat(base.length), fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([i, x]) => Buffer.concat([base.subarray(0, i), Buffer.from(x), base.subarray(i)])),
    fc.tuple(fc.nat(base.length), fc.nat(70_000)).map(([i, n]) => Buffer.concat([base.subarray(0, i), base.subarray(i + n)])),
  );

export async function fuzzDecoders(total: number, seed = 20261128): Promise<FuzzReport> {
  const report: FuzzReport = { inputs: 0, refused: 0, same: 0, findings: [], slowestMs: 0, maxHeapMb: 0 };
  const dotenv = dotenvSample();
  const yaml = yamlSample();
  const file = await fileSample();
  const record = (v: Verdict, ms: number, what: string) => {
    report.inputs++;
    report.slowestMs = Math.max(report.slowestMs, ms);
    if (v.ok) report[v.outcome]++;
    else if (report.findings.length < 20) report.findings.push(`${what}: ${v.finding}`);
    if (ms > 2000 && report.findings.length < 20) report.findings.push(`${what}: took ${ms.toFixed(0)} ms`);
  };
  const share = Math.floor(total / 10);
  const plans: [string, number, fc.Arbitrary<unknown>, (x: unknown) => Promise<Verdict>][] = [
    ['mutated encrypted .env', share * 4, textMutation(dotenv), (x) => decodeText(x as string, 'dotenv')],
    ['mutated token-bearing YAML', share * 2, textMutation(yaml), (x) => decodeText(x as string, 'text')],
    ['generated .env-like text', share * 2, fc.tuple(dotenvText(), fc.boolean()).map(([t, h]) => (h ? `# kms-envelope v1 dotenv\n${t}` : t)), (x) => decodeText(x as string, 'dotenv')],
    ['mutated whole-file blob', total - share * 8, byteMutation(file), (x) => decodeFile(x as Buffer)],
  ];
  for (const [p, [what, count, arb, run]] of plans.entries()) {
    // in batches, so that memory holds one batch of inputs at a time
    for (let done = 0, batch = 0; done < count; done += 200, batch++) {
      for (const input of fc.sample(arb, { numRuns: Math.min(200, count - done), seed: seed + p * 100_003 + batch })) {
        const t = process.hrtime.bigint();
        const v = await run(input);
        record(v, Number(process.hrtime.bigint() - t) / 1e6, what);
      }
      report.maxHeapMb = Math.max(report.maxHeapMb, process.memoryUsage().heapUsed / 1024 / 1024);
    }
  }
  return report;
}
