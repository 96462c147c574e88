/**
 * Crash safety: the CLI is killed with SIGKILL at random moments while it encrypts, rotates and
 * writes whole files. After every kill the file must be the old or the new complete version,
 * and no temporary file may hold plaintext.
 */
import { spawn } from 'node:child_process';
import { LOCAL_ACCOUNT_KEYS } from '../support/accounts';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { decryptFile, encryptFile, kindOf } from '../../src/core/operations';
import { removeStaleTemps } from '../../src/core/io';
import type { Sandbox } from '../support/aws-sandbox';
import { CLI } from '../support/cli';
import { Writable } from 'node:stream';
import { withEnv } from '../support/with-env';

export interface KillReport {
  kills: number;
  survived: number;
  /** Kills that landed while the CLI was writing (a temporary sibling existed). */
  midWrite: number;
  leftoverTemps: number;
  /** Leftovers that the next write of the same file removed. */
  cleaned: number;
  /** Temporary files holding plaintext left by killed encrypt and rotate runs (must be 0). */
  plaintextTemps: number;
  /** Plaintext temporary files left by killed decrypts: owner-only (0600), removed by the next write. */
  decryptTemps: number;
  /** Any of those readable by group or others (must be 0). */
  exposedTemps: number;
  failures: string[];
}

const SECRET = 'kill-test-secret-value';
const ENV_PLAIN = `# kill test\n${Array.from({ length: 300 }, (_, i) => `K${i}="${SECRET}-${i}"`).join('\n')}\n`;

type Op = 'encrypt .env' | 'rotate .env' | 'encrypt whole file' | 'rotate whole file' | 'decrypt .env' | 'decrypt whole file';
const OPS: Op[] = ['encrypt .env', 'rotate .env', 'encrypt whole file', 'rotate whole file', 'decrypt .env', 'decrypt whole file'];

async function collect(file: string, kms: KmsKeyProvider): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new Writable({ write: (c, _e, cb) => (parts.push(Buffer.from(c)), cb()) });
  await decryptFile(file, kms, { kind: 'stream', stream: sink });
  return Buffer.concat(parts);
}

export async function killTest(count: number, sb: Sandbox, seed = 7): Promise<KillReport> {
  const dir = await fs.mkdtemp(path.join(sb.dir, 'kill-'));
  return withEnv(sb.env, () => run(count, sb, seed, dir));
}

async function run(count: number, sb: Sandbox, seed: number, dir: string): Promise<KillReport> {
  const report: KillReport = { kills: 0, survived: 0, midWrite: 0, leftoverTemps: 0, cleaned: 0, plaintextTemps: 0, decryptTemps: 0, exposedTemps: 0, failures: [] };
  const kms = new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS] });
  const big = Buffer.concat([Buffer.from(`${SECRET}\n`), randomBytes(24 * 1024 * 1024), Buffer.from(SECRET)]);
  const plans = fc.sample(fc.noBias(fc.tuple(fc.constantFrom(...OPS), fc.integer({ min: 0, max: 1100 }).map((n) => n / 1000))), { numRuns: count, seed });
  const durations = new Map<Op, number>();
  try {
    for (let i = 0; i < plans.length; i++) {
      const [op, fraction] = plans[i];
      const file = path.join(dir, op.endsWith('.env') ? `k${i}.env` : `k${i}.bin`);
      const plain = op.endsWith('.env') ? Buffer.from(ENV_PLAIN) : big;
      await fs.writeFile(file, plain);
      if (!op.startsWith('encrypt')) await encryptFile(file, kms, { keys: [sb.keyArn] });
      await fs.chmod(file, 0o644); // a umask-022 file: plaintext must still be written owner-only
      const before = await fs.readFile(file);
      const args = op.startsWith('encrypt') ? ['encrypt', file, '-k', sb.keyArn] : op.startsWith('rotate') ? ['rotate', file, '-k', sb.keyArn] : ['decrypt', file];
      const started = Date.now();
      const child = spawn(process.execPath, [CLI, '-q', ...args], { env: { ...process.env, ...sb.env, AWS_PROFILE: 'default' }, stdio: 'ignore' });
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      if (!durations.has(op)) {
        // the first run of each operation is not killed: it measures how long the operation takes
        await exited;
        durations.set(op, Date.now() - started);
        await fs.writeFile(file, before);
        plans.push([op, fraction]);
        continue;
      }
      const delay = Math.round(durations.get(op)! * fraction);
      await new Promise((r) => setTimeout(r, delay));
      const temps = async () => (await fs.readdir(dir)).filter((n) => n.startsWith(`.${path.basename(file)}.`) && n.endsWith('.kms-envelope-tmp'));
      const writing = (await temps()).length > 0;
      child.kill('SIGKILL');
      await exited;
      report.kills++;
      if (writing) report.midWrite++;

      const after = await fs.readFile(file);
      let ok = after.equals(before);
      if (!ok && op.startsWith('decrypt')) {
        ok = after.equals(plain);
        if (!ok) report.failures.push(`#${i} ${op} after ${delay} ms: neither the encrypted file nor its whole plaintext`);
        if (((await fs.stat(file)).mode & 0o077) !== 0) report.failures.push(`#${i} ${op}: the decrypted file is readable by others`);
      } else if (!ok) {
        // the new version: complete, and decrypting to the same plaintext
        try {
          ok = (await kindOf(file)) !== 'plain' && (await collect(file, kms)).equals(plain);
        } catch (err) {
          report.failures.push(`#${i} ${op} after ${delay} ms: neither old nor new complete version (${(err as Error).message})`);
        }
      }
      for (const t of await temps()) {
        report.leftoverTemps++;
        const holdsPlaintext = (await fs.readFile(path.join(dir, t))).includes(SECRET);
        if (holdsPlaintext && op.startsWith('decrypt')) {
          report.decryptTemps++;
          if (((await fs.stat(path.join(dir, t))).mode & 0o077) !== 0) {
            report.exposedTemps++;
            report.failures.push(`#${i} ${op}: temporary file ${t} is readable by others`);
          }
        } else if (holdsPlaintext) {
          report.plaintextTemps++;
          report.failures.push(`#${i} ${op}: temporary file ${t} holds plaintext`);
        }
      }
      if (ok) report.survived++;
      report.cleaned += await removeStaleTemps(file); // what the next write of this file does first
      await fs.rm(file, { force: true });
    }
  } finally {
    kms.destroy();
    await fs.rm(dir, { recursive: true, force: true });
  }
  return report;
}
