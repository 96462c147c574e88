/**
 * Which comment leader a file type uses for the header, or null where the type has no comments
 * and the header goes into a sidecar file (`<file>.kms-envelope`).
 */
import type { Leader } from '../header';

const HASH = new Set(['env', 'yaml', 'yml', 'toml', 'sh', 'bash', 'zsh', 'properties', 'conf', 'cfg', 'ini', 'py', 'rb', 'pl', 'r', 'tf', 'tfvars', 'hcl', 'txt', 'dockerfile', 'mk', 'makefile', 'ps1', 'nix', 'cmake', 'gitignore']);
const SLASH = new Set(['js', 'mjs', 'cjs', 'ts', 'mts', 'cts', 'jsx', 'tsx', 'jsonc', 'json5', 'go', 'java', 'kt', 'kts', 'scala', 'c', 'h', 'cc', 'cpp', 'hpp', 'cs', 'rs', 'swift', 'dart', 'php', 'groovy', 'gradle', 'proto', 'zig']);
const NONE = new Set(['json', 'ipynb', 'csv', 'md', 'markdown', 'xml', 'html', 'svg', 'pem', 'key', 'crt']);

export const SIDECAR_SUFFIX = '.kms-envelope';

/** True for `.env`, `.env.local`, `prod.env`, `.env.production` and the like. */
export const isDotenvName = (fileName: string): boolean => {
  const base = fileName.split(/[\\/]/).pop()!.toLowerCase();
  return base === '.env' || base.startsWith('.env.') || base.endsWith('.env');
};

export function commentLeader(fileName: string): Leader | null {
  if (isDotenvName(fileName)) return '#';
  const base = fileName.split(/[\\/]/).pop()!.toLowerCase();
  const ext = base.includes('.') ? base.slice(base.lastIndexOf('.') + 1) : base;
  if (HASH.has(ext)) return '#';
  if (SLASH.has(ext)) return '//';
  if (NONE.has(ext)) return null;
  return '#';
}
