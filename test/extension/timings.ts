/**
 * The extension host's own time on the 10,000-entry `.env` of suite 80, as the extension logged
 * it ("opened … in N ms of the host's CPU time (at most L ms at once; W ms in all), plus M ms waiting
 * for KMS", "saved … in N ms of the host's CPU time (at most L ms at once; W ms in all, …)"): the runner reads the
 * extension's log file under code-server's user-data folder and keeps the numbers for the bench
 * (`npm run bench` prints them beside its in-process measurement of the same code paths).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const BIG_VIEW_FILE = 'big/huge/.env';
export const TIMINGS_FILE = path.join(__dirname, '../../.cache/bench/extension-host.json');

export interface ViewTimings {
  /** The open's own share of the host's CPU time (KMS and the pauses in which other work ran excluded). */
  readonly openMs: number;
  /** The longest the open held the host without a pause. */
  readonly longestSliceMs: number;
  /** The open from start to end, KMS and other work included. */
  readonly openWallMs: number;
  readonly kmsMs: number;
  /** The save's own share of the host's CPU time (writing to disk excluded). */
  readonly saveMs: number;
  /** The longest the save held the host without a pause. */
  readonly saveLongestSliceMs: number;
  /** The save from start to end, the atomic write (and its fsync) included. */
  readonly saveWallMs: number;
  readonly measuredAt: string;
}

function* logFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* logFiles(p);
    else if (e.name === 'KMS Envelope.log') yield p;
  }
}

/** The timings of the big file's open and save in the logs under `userData`, if both were logged. */
export function readViewTimings(userData: string): ViewTimings | undefined {
  const text = [...logFiles(userData)].map((f) => readFileSync(f, 'utf8')).join('\n');
  const file = BIG_VIEW_FILE.replace(/[.]/g, '\\.');
  const open = new RegExp(`opened \\S*/${file} decrypted \\(dotenv\\) in (\\d+) ms of the host's CPU time \\(at most (\\d+) ms at once; (\\d+) ms in all\\), plus (\\d+) ms waiting for KMS`).exec(text);
  const save = new RegExp(`saved \\S*/${file} encrypted in (\\d+) ms of the host's CPU time \\(at most (\\d+) ms at once; (\\d+) ms in all`).exec(text);
  if (!open || !save) return undefined;
  return { openMs: Number(open[1]), longestSliceMs: Number(open[2]), openWallMs: Number(open[3]), kmsMs: Number(open[4]), saveMs: Number(save[1]), saveLongestSliceMs: Number(save[2]), saveWallMs: Number(save[3]), measuredAt: new Date().toISOString() };
}

export function keepViewTimings(t: ViewTimings): void {
  mkdirSync(path.dirname(TIMINGS_FILE), { recursive: true });
  writeFileSync(TIMINGS_FILE, `${JSON.stringify(t, null, 2)}\n`);
}
