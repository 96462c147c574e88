/**
 * The KMS fault matrix: each fault of the local KMS against each operation, through the CLI
 * (encrypt, decrypt, rotate, rewrap) and through the core path the extension's decrypted view
 * uses (open, save). Every failing operation must leave the file byte-identical, say what to
 * do, and stop after a bounded number of requests; a save needs no KMS at all.
 */
import { promises as fs } from 'node:fs';
import { LOCAL_ACCOUNT_KEYS } from '../support/accounts';
import path from 'node:path';
import { isKmsEnvelopeError } from '../../src/core/errors';
import { joinSealed, sealDotenv, wipeFileKey } from '../../src/core/envelope';
import { atomicWrite } from '../../src/core/io';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { encryptFile, openTextFile } from '../../src/core/operations';
import type { Sandbox } from '../support/aws-sandbox';
import { runCli } from '../support/cli';
import { withEnv } from '../support/with-env';

export interface FaultRow {
  fault: string;
  op: string;
  outcome: string; // exit code or error code, or "saved"
  unchanged: boolean;
  requests: number;
  bounded: boolean;
  hint: string;
}

const PLAIN = 'DB_PASSWORD="fault-matrix-secret"\nAPI_KEY=fault-matrix-key\n';
const MAX_REQUESTS = 3; // the SDK's attempts per KMS call

interface Fault {
  name: string;
  profile?: string;
  env?: Record<string, string>;
  arm(sb: Sandbox): void;
  disarm(sb: Sandbox): void;
}

const injected = (name: string, kind: 'throttle' | 'error500' | 'reset' | 'delay' | 'expiredToken', delayMs?: number): Fault => ({
  name,
  env: kind === 'delay' ? { KMS_ENVELOPE_TIMEOUT_MS: '400' } : undefined,
  arm: (sb) => sb.kms.injectFault({ kind, times: Infinity, delayMs }),
  disarm: (sb) => sb.kms.clearFaults(),
});

export const FAULTS: Fault[] = [
  injected('throttling (ThrottlingException on every request)', 'throttle'),
  injected('HTTP 500 (KMSInternalException on every request)', 'error500'),
  injected('connection reset on every request', 'reset'),
  injected('response slower than the timeout (2 s vs 400 ms)', 'delay', 2000),
  { name: 'access denied (profile without permissions)', profile: 'nobody', arm: () => undefined, disarm: () => undefined },
  { name: 'disabled key', arm: (sb) => sb.kms.setEnabled(sb.keyArn, false), disarm: (sb) => sb.kms.setEnabled(sb.keyArn, true) },
  injected('expired credentials (ExpiredTokenException)', 'expiredToken'),
  { name: 'expired SSO token', profile: 'sso-expired', arm: () => undefined, disarm: () => undefined },
];

export const faultMatrix = (sb: Sandbox, faults: readonly Fault[] = FAULTS): Promise<FaultRow[]> => withEnv(sb.env, () => run(sb, faults));

async function run(sb: Sandbox, faults: readonly Fault[]): Promise<FaultRow[]> {
  const rows: FaultRow[] = [];
  const dir = await fs.mkdtemp(path.join(sb.dir, 'faults-'));
  const good = new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS] });
  try {
    for (const fault of faults) {
      const profile = fault.profile ?? 'default';
      const plain = path.join(dir, 'plain.env');
      const enc = path.join(dir, 'enc.env');
      await fs.writeFile(plain, PLAIN);
      await fs.writeFile(enc, PLAIN);
      await encryptFile(enc, good, { keys: [sb.keyArn] });
      const session = await openTextFile(enc, good); // the view opened before the fault
      const cli = async (op: string, file: string, args: string[]) => {
        const before = await fs.readFile(file);
        sb.kms.log.length = 0;
        fault.arm(sb);
        const r = await runCli(args, { cwd: dir, env: { ...sb.env, AWS_PROFILE: profile, ...(fault.env ?? {}) } });
        fault.disarm(sb);
        const requests = sb.kms.log.length;
        rows.push({
          fault: fault.name,
          op: `CLI ${op}`,
          outcome: `exit ${r.code}`,
          unchanged: (await fs.readFile(file)).equals(before) && r.code !== 0,
          requests,
          bounded: requests <= MAX_REQUESTS,
          hint: r.stderr.split('\n')[1]?.trim() ?? '',
        });
      };
      await cli('encrypt', plain, ['encrypt', 'plain.env', '-k', sb.keyArn]);
      await cli('decrypt', enc, ['decrypt', 'enc.env']);
      await cli('rotate', enc, ['rotate', 'enc.env', '-k', sb.keyArn]);
      await cli('rewrap', enc, ['rewrap', 'enc.env', '--add-key', sb.otherKeyArn]);

      // the extension's open (a fresh window: no data key cached) and save (the view's key)
      const before = await fs.readFile(enc);
      sb.kms.log.length = 0;
      const fresh = new KmsKeyProvider({ profile, allowedKeys: [LOCAL_ACCOUNT_KEYS], requestTimeoutMs: fault.env ? 400 : undefined });
      fault.arm(sb);
      let outcome = 'opened';
      let hint = '';
      try {
        wipeFileKey((await openTextFile(enc, fresh)).key);
      } catch (err) {
        outcome = isKmsEnvelopeError(err) ? err.code : `untyped ${(err as Error).name}`;
        hint = isKmsEnvelopeError(err) ? err.hint ?? '' : '';
      }
      const requests = sb.kms.log.length;
      rows.push({ fault: fault.name, op: 'extension open', outcome, unchanged: (await fs.readFile(enc)).equals(before) && outcome !== 'opened', requests, bounded: requests <= MAX_REQUESTS, hint });
      sb.kms.log.length = 0;
      const edited = session.plaintext.replace('fault-matrix-key', 'fault-matrix-key-2');
      await atomicWrite(enc, joinSealed(sealDotenv(edited, session.key, { layout: session.layout, reuse: session.reuse })));
      const saveRequests = sb.kms.log.length;
      fault.disarm(sb);
      const check = await openTextFile(enc, good);
      rows.push({ fault: fault.name, op: 'extension save', outcome: check.plaintext === edited ? 'saved' : 'wrong content', unchanged: true, requests: saveRequests, bounded: saveRequests === 0, hint: 'needs no KMS call' });
      wipeFileKey(check.key);
      wipeFileKey(session.key);
      fresh.destroy();
    }
  } finally {
    good.destroy();
    await fs.rm(dir, { recursive: true, force: true });
  }
  return rows;
}

/** A row passes when the failing operation left the file intact with a hint, within bounds (or the save worked). */
export const rowPasses = (r: FaultRow): boolean =>
  r.op === 'extension save' ? r.outcome === 'saved' && r.bounded : r.unchanged && r.bounded && r.hint.length > 0;
