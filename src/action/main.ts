/**
 * The GitHub Action (action.yml, bundled to action/index.js): the decrypted values of encrypted
 * .env files for a workflow, either exported to the job's later steps or given to one command.
 *
 * A runner passes inputs as INPUT_<NAME> variables and reads workflow commands (`::add-mask::`,
 * `::error::`) from stdout; later steps get variables from the file named by GITHUB_ENV and
 * outputs from GITHUB_OUTPUT. Every value is masked before anything else is printed, so that no
 * log line of this step or a later one shows it.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { constants } from 'node:os';
import { mergeEnv } from '../core/env-policy';
import { isKmsEnvelopeError, KmsEnvelopeError } from '../core/errors';
import { KmsKeyProvider } from '../core/kms/aws-kms';
import { loadEnvFiles } from '../core/operations';
import { exitCodeOf } from '../cli/exit-codes';

/** An input as the runner passes it (`with: allowed-keys:` → INPUT_ALLOWED-KEYS). */
export function input(env: NodeJS.ProcessEnv, name: string): string {
  return (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim();
}

/** A list input: one item per line or comma, blanks dropped. */
export const listInput = (env: NodeJS.ProcessEnv, name: string): string[] =>
  input(env, name)
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);

function booleanInput(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const v = input(env, name).toLowerCase();
  if (v === '') return fallback;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new KmsEnvelopeError('USAGE', `input ${name} must be true or false, got "${v}"`);
}

/** Data of a workflow command, escaped as the runner's toolkit escapes it. */
const escapeData = (s: string): string => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

/**
 * The `::add-mask::` commands for a value: the whole value, and each of its lines on its own
 * (the runner masks line by line, so a multi-line secret is masked in every line it prints).
 */
export function maskCommands(value: string): string[] {
  const parts = new Set([value, ...value.split(/\r?\n/)].filter((p) => p.trim() !== ''));
  return [...parts].map((p) => `::add-mask::${escapeData(p)}\n`);
}

/** `NAME<<delimiter` … `delimiter`: the GITHUB_ENV form that holds any value, newlines included. */
export function envFileEntry(name: string, value: string, delimiter = `ghadelimiter_${randomUUID()}`): string {
  if (value.includes(delimiter) || name.includes(delimiter)) throw new Error('a value holds the delimiter');
  return `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
}

export interface ActionIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: NodeJS.WritableStream;
}

export async function runAction(io: ActionIo): Promise<number> {
  const { env, stdout } = io;
  const say = (s: string) => stdout.write(s);
  try {
    const files = listInput(env, 'files');
    const command = input(env, 'run');
    const exportValues = booleanInput(env, 'export', command === '');
    if (!exportValues && !command) throw new KmsEnvelopeError('USAGE', 'nothing to do: set run, or leave export at true');
    const kms = new KmsKeyProvider({
      profile: input(env, 'profile') || undefined,
      region: input(env, 'region') || undefined,
      chosenKeys: listInput(env, 'keys'),
      allowedKeys: listInput(env, 'allowed-keys'),
      onIgnoredKeys: (keys) => say(`::warning::kms-envelope: the file also names KMS keys outside the allow-list, not used: ${escapeData(keys.join(', '))}\n`),
    });
    let values: Record<string, string>;
    try {
      values = await loadEnvFiles(files.length ? files : ['.env'], kms);
    } finally {
      kms.cache.clear();
      kms.destroy();
    }
    // masks first: nothing below may print a value unmasked
    for (const value of Object.values(values)) for (const c of maskCommands(value)) say(c);

    const merged = mergeEnv(env, values, { override: booleanInput(env, 'override', false), allow: listInput(env, 'allow-env') });
    if (merged.blocked.length) say(`::warning::kms-envelope: not taken from the file, as they change what code runs: ${merged.blocked.join(', ')} (allow-env: NAME to take one)\n`);
    if (merged.kept.length) say(`kms-envelope: already set in this job, kept: ${merged.kept.join(', ')} (override: true to take the file's)\n`);
    const taken = Object.keys(values).filter((n) => !merged.blocked.includes(n) && !merged.kept.includes(n));

    if (exportValues) {
      if (!env.GITHUB_ENV) throw new KmsEnvelopeError('USAGE', 'GITHUB_ENV is not set: export needs a GitHub Actions runner (or set run)');
      appendFileSync(env.GITHUB_ENV, taken.map((n) => envFileEntry(n, values[n])).join(''));
      say(`kms-envelope: exported ${taken.length} variable(s) to the job's later steps: ${taken.join(', ') || 'none'}\n`);
    }
    if (env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, envFileEntry('names', taken.join(',')));
    if (!command) return 0;
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(command, { shell: true, stdio: 'inherit', env: merged.env });
      child.on('error', reject);
      child.on('exit', (c, signal) => resolve(c ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  } catch (err) {
    if (isKmsEnvelopeError(err)) {
      say(`::error title=kms-envelope::${escapeData(`${err.message}${err.hint ? ` ${err.hint}` : ''}`)}\n`);
      return exitCodeOf(err.code);
    }
    const e = err as NodeJS.ErrnoException;
    say(`::error title=kms-envelope::${escapeData(e?.code === 'ENOENT' ? `no such file: ${e.path ?? ''}` : `unexpected error: ${e?.name ?? 'Error'}${e?.code ? ` (${e.code})` : ''}`)}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  void runAction({ env: process.env, stdout: process.stdout }).then((code) => {
    process.exitCode = code;
  });
}
