/**
 * Classifying a large workspace under a low file-handle limit, in a fresh process started with
 * `ulimit -n <limit>`:  tsx classify-worker.ts <dir> <truth.json> <lazy|eager>
 * `lazy`: the Classifier (bounded concurrency), asked for every file at once, as a burst of
 * decoration requests would. `eager`: what the extension did before, every kindOf at once, an
 * error taken as plain. Prints {"ms", "misclassified", "peak"}.
 */
import { readFileSync } from 'node:fs';
import { Classifier, sniffFile } from '../../src/core/classify';
import { kindOf } from '../../src/core/operations';

const [, , , truthFile, mode] = process.argv;
const truth = JSON.parse(readFileSync(truthFile, 'utf8')) as { files: string[]; encrypted: string[] };
const encrypted = new Set(truth.encrypted);

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  let verdicts: boolean[];
  let peak = 0;
  if (mode === 'lazy') {
    const c = new Classifier({ sniff: sniffFile });
    verdicts = (await Promise.all(truth.files.map((f) => c.classify(f)))).map((v) => !!v);
    peak = c.peak;
  } else {
    verdicts = await Promise.all(truth.files.map((f) => kindOf(f).then((k) => k !== 'plain', () => false)));
    peak = truth.files.length;
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const misclassified = truth.files.filter((f, i) => verdicts[i] !== encrypted.has(f)).length;
  console.log(JSON.stringify({ ms, misclassified, peak }));
}

void main();
