/**
 * Which comment leader a file type uses for the header, or null where the type has no comments
 * and the header goes into a sidecar file (`<file>.kms-envelope`).
 */
import type { Leader } from '../header';

// Every other type takes '#': .env files, YAML, TOML, shell, INI, Python, Ruby, Terraform, … and the unknown.
const SLASH = new Set(['js', 'mjs', 'cjs', 'ts', 'mts', 'cts', 'jsx', 'tsx', 'jsonc', 'json5', 'go', 'java', 'kt', 'kts', 'scala', 'c', 'h', 'cc', 'cpp', 'hpp', 'cs', 'rs', 'swift', 'dart', 'php', 'groovy', 'gradle', 'proto', 'zig']);
const NONE = new Set(['json', 'ipynb', 'csv', 'md', 'markdown', 'xml', 'html', 'svg', 'pem', 'key', 'crt']);

export const SIDECAR_SUFFIX = '.kms-envelope';

const baseName = (fileName: string): string => fileName.split(/[\\/]/).pop()!.toLowerCase();

/** True for `.env`, `.env.local`, `prod.env`, `.env.production` and the like. */
export const isDotenvName = (fileName: string): boolean => {
  const base = baseName(fileName);
  return base.startsWith('.env.') || base.endsWith('.env');
};

export function commentLeader(fileName: string): Leader | null {
  // `.env.<anything>` is a dotenv file whatever its last extension
  if (isDotenvName(fileName)) return '#';
  const base = baseName(fileName);
  const ext = base.slice(base.lastIndexOf('.') + 1);
  if (SLASH.has(ext)) return '//';
  if (NONE.has(ext)) return null;
  return '#';
}
