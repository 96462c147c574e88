/**
 * Which files are secrets that must not be committed in clear: the decrypt-on-open names, less
 * templates. Small and alone, for the editor's guard, which runs before anything heavier loads.
 */
import { matchesAny } from '../glob';

export const SECRET_PATTERNS: readonly string[] = ['.env', '.env.*', '*.env'];

/** A template (`.env.example`, `.env.sample`, `.env.template`, `.env.dist`) stays in clear by design. */
const TEMPLATE = /\.(?:example|sample|template|dist)$/i;

export const isTemplate = (relPath: string): boolean => TEMPLATE.test(relPath);
export const isSecretPath = (relPath: string, patterns: readonly string[]): boolean => matchesAny(patterns, relPath) && !isTemplate(relPath);

/** A word for sh, single-quoted where needed (git runs its drivers through the shell). */
export const shellQuote = (word: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);
