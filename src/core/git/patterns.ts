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

/** The message of a launcher whose program is gone. */
const GONE = 'is gone (kms-envelope was uninstalled or moved). Reinstall it and run `kms-envelope git setup` again, or take the integration out of this repository with `kms-envelope git setup --undo`';

/**
 * Shell lines that stop, in one line, when a file the command needs is gone: git's textconv then
 * prints the file as it is (a diff still works, showing ciphertext), anything else exits 1 (a
 * merge keeps ours, a commit is refused). `files`: absolute paths the command runs.
 */
export const missingGuard = (files: readonly string[]): string =>
  files.length === 0
    ? ''
    : `for f in ${files.map(shellQuote).join(' ')}; do
  if [ ! -e "$f" ]; then
    echo "kms-envelope: $f ${GONE.replace(/`/g, '\\`')}" >&2
    for last; do :; done
    case " $* " in *" textconv "*) exec cat -- "$last";; esac
    exit 1
  fi
done
`;

