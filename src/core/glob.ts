/**
 * The one glob dialect of kms-envelope (rules file, secret patterns, decrypt-on-open): `**`
 * any folders, `*` and `?` within one name; a pattern without `/` matches the file name in any
 * folder, as in .gitignore.
 */
import path = require('node:path');

const cache = new Map<string, RegExp>();

export function globToRegExp(glob: string): RegExp {
  let re = cache.get(glob);
  // Stryker disable next-line ConditionalExpression: equivalent when false (the glob is compiled again, with the same result); when true, every match throws
  if (re) return re;
  let src = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      src += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += glob[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') src += '[^/]*';
    else if (c === '?') src += '[^/]';
    else src += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  re = new RegExp(`^${src}$`);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: the bound only keeps the cache's memory small; a glob past it is compiled again, with the same result
  if (cache.size < 1000) cache.set(glob, re);
  return re;
}

/** Whether a slash-separated relative path (or a bare file name) matches a glob. */
export const matchesGlob = (glob: string, relPath: string): boolean =>
  globToRegExp(glob).test(glob.includes('/') ? relPath : path.posix.basename(relPath));

export const matchesAny = (globs: readonly string[], relPath: string): boolean => globs.some((g) => matchesGlob(g, relPath));
