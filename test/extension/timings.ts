/**
 * The extension host's own time on the 10,000-entry `.env` of suite 80, as the extension logged
 * it ("opened … in N ms of the host's CPU time (at most L ms at once, C ms of it CPU; at most P ms of CPU in
 * one slice; W ms in all), plus M ms waiting for KMS", "saved … in N ms of the host's CPU time (…, writing
 * included; no KMS call)"; HostTime.summary): the runner reads the
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
  /** The longest the open held the host without a pause (by the clock). */
  readonly longestSliceMs: number;
  /** That slice's CPU time: far below its clock time, the machine was busy elsewhere. */
  readonly longestSliceCpuMs?: number;
  /** The most CPU time of any one slice of the open: how long its own work held the host at once. */
  readonly mostSliceCpuMs?: number;
  /** The open from start to end, KMS and other work included. */
  readonly openWallMs: number;
  readonly kmsMs: number;
  /** The save's own share of the host's CPU time (writing to disk excluded). */
  readonly saveMs: number;
  /** The longest the save held the host without a pause (by the clock). */
  readonly saveLongestSliceMs: number;
  readonly saveLongestSliceCpuMs?: number;
  readonly saveMostSliceCpuMs?: number;
  /** The save from start to end, the atomic write (and its fsync) included. */
  readonly saveWallMs: number;
  /** Raw AES-256-GCM decryption of as many values of the same size, in the same host after the open (suite 80 logs it with RAW_AES_GCM_MARK): Node's crypto code warmed by the open's. */
  readonly rawMs?: number;
  /** The same in a new isolate of the host, before the open (RAW_AES_GCM_COLD_MARK): a first run, as the open is. */
  readonly rawColdMs?: number;
  /**
   * The host's event loop from the open's request to the view on screen, whoever held it (suite
   * 80 logs it with HOST_LOOP_MARK): its longest block and the share of the time it was busy.
   */
  readonly loop?: { readonly openLongestMs: number; readonly openBusy: number; readonly saveLongestMs: number; readonly saveBusy: number };
  readonly measuredAt: string;
}

/** Suite 80 logs this and a number: the host's raw AES-GCM time for the big file's values, beside which its open is judged (after the open: warm). */
export const RAW_AES_GCM_MARK = 'kms-envelope:raw-aes-gcm-ms';
/** Suite 80 logs this and four numbers: the event loop's longest block and busy share, during the open and during the save. */
export const HOST_LOOP_MARK = 'kms-envelope:host-loop';
/** The same, a first run in a new isolate (cold, like the open). */
export const RAW_AES_GCM_COLD_MARK = 'kms-envelope:raw-aes-gcm-cold-ms';

function* logFiles(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* logFiles(p);
    else if (e.name === 'KMS Envelope.log') yield p;
  }
}

/** The timings of the big file's open and save in the logs under `userData`, if both were logged. */
export function readViewTimings(userData: string, hostLog: string): ViewTimings | undefined {
  const text = [...logFiles(userData)].map((f) => readFileSync(f, 'utf8')).join('\n');
  const file = BIG_VIEW_FILE.replace(/[.]/g, '\\.');
  const slices = `at most (\\d+) ms at once, (\\d+) ms of it CPU; at most (\\d+) ms of CPU in one slice; (\\d+) ms in all`;
  const open = new RegExp(`opened \\S*/${file} decrypted \\(dotenv\\) in (\\d+) ms of the host's CPU time \\(${slices}\\), plus (\\d+) ms waiting for KMS`).exec(text);
  const save = new RegExp(`saved \\S*/${file} encrypted in (\\d+) ms of the host's CPU time \\(${slices}`).exec(text);
  if (!open || !save) return undefined;
  const raw = new RegExp(`${RAW_AES_GCM_MARK} ([\\d.]+)`).exec(hostLog);
  const rawCold = new RegExp(`${RAW_AES_GCM_COLD_MARK} ([\\d.]+)`).exec(hostLog);
  const loop = new RegExp(`${HOST_LOOP_MARK} ([\\d.]+) ([\\d.]+) ([\\d.]+) ([\\d.]+)`).exec(hostLog);
  return {
    openMs: Number(open[1]),
    longestSliceMs: Number(open[2]),
    longestSliceCpuMs: Number(open[3]),
    mostSliceCpuMs: Number(open[4]),
    openWallMs: Number(open[5]),
    kmsMs: Number(open[6]),
    saveMs: Number(save[1]),
    saveLongestSliceMs: Number(save[2]),
    saveLongestSliceCpuMs: Number(save[3]),
    saveMostSliceCpuMs: Number(save[4]),
    saveWallMs: Number(save[5]),
    ...(raw ? { rawMs: Number(raw[1]) } : {}),
    ...(rawCold ? { rawColdMs: Number(rawCold[1]) } : {}),
    ...(loop ? { loop: { openLongestMs: Number(loop[1]), openBusy: Number(loop[2]), saveLongestMs: Number(loop[3]), saveBusy: Number(loop[4]) } } : {}),
    measuredAt: new Date().toISOString(),
  };
}

export function keepViewTimings(t: ViewTimings): void {
  mkdirSync(path.dirname(TIMINGS_FILE), { recursive: true });
  writeFileSync(TIMINGS_FILE, `${JSON.stringify(t, null, 2)}\n`);
}
