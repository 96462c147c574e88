/**
 * Whether a text is a SOPS file, and of which store: by its `sops` metadata (a MAC and a
 * lastmodified where SOPS writes them), not by its name, since sops itself reads `.env.prod` as
 * binary and `.env` as dotenv. Cheap and import-free: the editor asks it of files as they open.
 */
export type SopsStoreName = 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary';

/** How much of a file's end is read to find its metadata (SOPS writes it last). */
export const SOPS_TAIL_BYTES = 64 * 1024;

export function sopsStoreOfText(text: string, name: string): SopsStoreName | undefined {
  if (/^sops_mac=/m.test(text) && /^sops_lastmodified=/m.test(text)) return 'dotenv';
  if (/^\[sops\][ \t]*\r?$/m.test(text) && /^mac[ \t]*=/m.test(text)) return 'ini';
  if (/^sops:[ \t]*(?:#.*)?\r?$/m.test(text) && /^[ \t]+mac:/m.test(text)) return 'yaml';
  if (/"sops"\s*:\s*\{/.test(text) && /"mac"\s*:/.test(text) && /"lastmodified"\s*:/.test(text)) {
    return !/\.json$/i.test(name) && /^\s*\{\s*"data"\s*:\s*"/.test(text) ? 'binary' : 'json';
  }
  return undefined;
}

/** The SOPS store of a file's bytes, judged by their last SOPS_TAIL_BYTES (as kindOf judges a file). */
export const sopsStoreOfBytes = (bytes: Buffer, name: string): SopsStoreName | undefined =>
  sopsStoreOfText(bytes.subarray(Math.max(0, bytes.length - SOPS_TAIL_BYTES)).toString('utf8'), name);
