/**
 * The environment of a program started from the editor (a debug session, a task, a terminal)
 * whose configuration names env files: encrypted `.env` files are decrypted in memory, plain
 * ones are left to the tool that reads them. Values go into the child's environment only.
 */
import { parse as parseDotenv } from 'dotenv';
import { mergeEnv } from './env-policy';
import { KmsEnvelopeError } from './errors';
import { kindOf } from './kind';
import type { KeyService } from './kms/key-service';
import { loadEnvFiles, readText } from './operations';

/** One env file of a configuration, opened. */
export type OpenedEnvFile =
  | { readonly file: string; readonly kind: 'encrypted'; readonly values: Record<string, string> }
  /** A `.env` without a kms-envelope header: only its names are read (to know what it sets). */
  | { readonly file: string; readonly kind: 'plain'; readonly names: readonly string[] }
  | { readonly file: string; readonly kind: 'missing' };

const missing = (err: unknown): boolean => {
  const { code } = err as NodeJS.ErrnoException;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

/** Opens env files: one KMS call per encrypted file, none while its data key is cached. */
export async function openEnvFiles(files: readonly string[], svc: KeyService): Promise<OpenedEnvFile[]> {
  const opened: OpenedEnvFile[] = [];
  for (const file of files) {
    const kind = await kindOf(file).catch((err: unknown) => {
      if (missing(err)) return 'missing' as const;
      throw err;
    });
    if (kind === 'missing') opened.push({ file, kind });
    else if (kind === 'plain') opened.push({ file, kind, names: Object.keys(parseDotenv(await readText(file))) });
    else if (kind === 'dotenv' || kind === 'sops') opened.push({ file, kind: 'encrypted', values: await loadEnvFiles([file], svc) });
    else throw new KmsEnvelopeError('USAGE', `${file} is encrypted whole, not an encrypted .env: it cannot be an env file`, 'Name a .env file, or decrypt this one into a .env.');
  }
  return opened;
}

/** Whether any of the files has a kms-envelope header (else a configuration is left as it is). */
export const anyEncrypted = (opened: readonly OpenedEnvFile[]): boolean => opened.some((f) => f.kind === 'encrypted');

export interface DebugEnv {
  /** The configuration's `env` with the encrypted files' values added. */
  readonly env: Record<string, string | null>;
  /** The files left for the debug adapter to read itself (plain or missing), in their order. */
  readonly envFile: string[];
  /** Variables the files set that change what code runs, left out (names only). */
  readonly blocked: string[];
}

/**
 * A debug configuration's `env` and `envFile` with its encrypted files folded into `env`. Debug
 * adapters apply envFile, then `env` over it: so a variable already in `env` keeps its value
 * (null unsets), a later file wins over an earlier one, and a variable that a later *plain*
 * file sets is left to that file, which the adapter still reads.
 */
export function foldDebugEnv(env: Record<string, string | null> | undefined, opened: readonly OpenedEnvFile[]): DebugEnv {
  const fromFiles: Record<string, string> = {};
  opened.forEach((f, i) => {
    if (f.kind !== 'encrypted') return;
    // Stryker disable next-line ArrayDeclaration: equivalent — the name a mutant adds has spaces, which no .env name has
    const setLater = new Set(opened.slice(i + 1).flatMap((later) => (later.kind === 'plain' ? later.names : [])));
    for (const [name, value] of Object.entries(f.values)) if (!setLater.has(name)) fromFiles[name] = value;
  });
  const merged = mergeEnv((env ?? {}) as NodeJS.ProcessEnv, fromFiles);
  return { env: merged.env as Record<string, string | null>, envFile: opened.filter((f) => f.kind !== 'encrypted').map((f) => f.file), blocked: merged.blocked };
}
