/**
 * The one glob dialect of kms-envelope (rules file, secret patterns, decrypt-on-open): `**`
 * any folders, `*` and `?` within one name; a pattern without `/` matches the file name in any
 * folder, as in .gitignore.
 *
 * Globs come from committed text (`.kms-envelope.json`, workspace settings), so they are matched
 * by simulating a small automaton over the path, never by a backtracking regular expression:
 * the cost is at most (pattern length × path length) steps for any pattern and any path. A run
 * of stars means the same as one star, and is folded to one before matching.
 */
import path = require('node:path');
import { KmsEnvelopeError } from './errors';

/** Longest glob accepted, and most wildcards in one: a committed glob past either is an error, not a slow match. */
export const GLOB_MAX_LENGTH = 1024;
export const GLOB_MAX_WILDCARDS = 32;

const globError = (glob: string, what: string) =>
  new KmsEnvelopeError('CONFIG', `pattern ${JSON.stringify(glob.slice(0, 40))}${glob.length > 40 ? '…' : ''}: ${what}`, 'Use a shorter pattern with fewer wildcards.');

/**
 * One step of a compiled glob. `name`: one character other than `/` (`?`); `names`: any run of
 * characters other than `/` (`*`); `any`: any run (`**`); `folders`: two stars and a slash,
 * nothing or any run that ends with `/`; `char`: itself.
 */
type Step = { kind: 'char'; c: string } | { kind: 'name' | 'names' | 'any' | 'folders' };

const cache = new Map<string, Step[]>();

/** Compiles a glob to its steps, refusing one past the limits (the message names the limit). */
export function compileGlob(glob: string): Step[] {
  const hit = cache.get(glob);
  // Stryker disable next-line ConditionalExpression: equivalent when false (the glob is compiled again, with the same result)
  if (hit) return hit;
  if (glob.length > GLOB_MAX_LENGTH) throw globError(glob, `longer than ${GLOB_MAX_LENGTH} characters`);
  const steps: Step[] = [];
  let wildcards = 0;
  const wildcard = (step: Step) => {
    steps.push(step);
    if (++wildcards > GLOB_MAX_WILDCARDS) throw globError(glob, `more than ${GLOB_MAX_WILDCARDS} wildcards`);
  };
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '?') {
      wildcard({ kind: 'name' });
      continue;
    }
    if (c !== '*') {
      steps.push({ kind: 'char', c });
      continue;
    }
    let end = i;
    while (glob[end + 1] === '*') end++;
    const stars = end - i + 1;
    i = end;
    // stars pair up from the left: `**/` is `folders`; any other run of two or more is `any`, and
    // with an even count of four or more before a `/`, that `/` is part of it (`.*(?:.*/)?` is `.*`)
    const slash = glob[i + 1] === '/' && stars % 2 === 0;
    if (slash) i++;
    const kind = stars === 1 ? 'names' : slash && stars === 2 ? 'folders' : 'any';
    const last = steps[steps.length - 1];
    // `***`, `**/**/` and the like mean what one of them means: keep the automaton small
    if (last && last.kind === kind) continue;
    wildcard({ kind });
  }
  // Stryker disable next-line ConditionalExpression,EqualityOperator: the bound only keeps the cache's memory small; a glob past it is compiled again, with the same result
  if (cache.size < 1000) cache.set(glob, steps);
  return steps;
}

/**
 * Whether `text` matches the steps as a whole. States are the indexes of the steps; index
 * `n` is the end. A wildcard state stays where it is on a character it accepts and can also be
 * left without one (`folders` only at its start, or right after a `/`).
 */
function run(steps: readonly Step[], text: string): boolean {
  const n = steps.length;
  // 1: at the step, free to leave it without a character; 2: inside a `folders` run, which only a `/` ends
  let now = new Uint8Array(n + 1);
  let next = new Uint8Array(n + 1);
  const skip = (set: Uint8Array) => {
    for (let i = 0; i < n; i++) if (set[i] === 1 && steps[i].kind !== 'char' && steps[i].kind !== 'name') set[i + 1] = 1;
  };
  now[0] = 1;
  skip(now);
  for (const c of text) {
    next.fill(0);
    for (let i = 0; i < n; i++) {
      if (!now[i]) continue;
      const step = steps[i];
      if (step.kind === 'char') {
        if (step.c === c) next[i + 1] = 1;
      } else if (step.kind === 'name') {
        if (c !== '/') next[i + 1] = 1;
      } else if (step.kind === 'names') {
        if (c !== '/') next[i] = 1;
      } else if (step.kind === 'any') {
        next[i] = 1;
      } else {
        if (next[i] === 0) next[i] = 2;
        if (c === '/') next[i + 1] = 1;
      }
    }
    skip(next);
    [now, next] = [next, now];
  }
  return now[n] !== 0;
}

/** Whether a slash-separated relative path (or a bare file name) matches a glob. Throws a CONFIG error for a glob past the limits. */
export const matchesGlob = (glob: string, relPath: string): boolean =>
  run(compileGlob(glob), glob.includes('/') ? relPath : path.posix.basename(relPath));

export const matchesAny = (globs: readonly string[], relPath: string): boolean => globs.some((g) => matchesGlob(g, relPath));

/** At most this many patterns are taken from one setting. */
export const GLOB_MAX_PATTERNS = 64;

/** The patterns of a setting that are strings within the limits, at most GLOB_MAX_PATTERNS of them; the others are left out. */
export function usableGlobs(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list
    .filter((g): g is string => typeof g === 'string' && g !== '')
    .filter(compiles)
    .slice(0, GLOB_MAX_PATTERNS);
}

function compiles(glob: string): boolean {
  try {
    compileGlob(glob);
  } catch {
    return false;
  }
  return true;
}
