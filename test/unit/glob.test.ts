import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import fc from 'fast-check';
import { refusedAs } from '../support/errors';
import { KmsEnvelopeError } from '../../src/core/errors';
import { GLOB_MAX_LENGTH, GLOB_MAX_WILDCARDS, matchesAny, matchesGlob, usableGlobs } from '../../src/core/glob';

/**
 * The one glob dialect (rules file, secret patterns, decrypt-on-open). Compiled globs are cached
 * for the life of the process, so each test ends its globs with a fresh literal: the glob is
 * compiled by the code under test now, not taken from an earlier run (mutation testing runs the
 * suite again and again in one process).
 */
describe('globs: ** across folders, * and ? within a name, a bare name in any folder', () => {
  let tag = '';
  beforeEach(() => (tag = randomBytes(4).toString('hex')));
  const matches = (glob: string, relPath: string) => matchesGlob(`${glob}${tag}`, `${relPath}${tag}`);

  const cases: [glob: string, path: string, expected: boolean][] = [
    // a pattern without '/' is matched against the file name, in any folder (as in .gitignore)
    ['*.env', 'c.env', true],
    ['*.env', 'a/b/c.env', true],
    ['*.env', 'a/b/c.envx', false],
    ['*.env', 'a/b/xc.env/d', false],
    ['.env', 'x.env', false],
    // with a '/', the whole relative path
    ['config/*.env', 'config/a.env', true],
    ['config/*.env', 'config/sub/a.env', false],
    ['config/*.env', 'x/config/a.env', false],
    ['config/*.env', 'config/.env', true],
    // ** followed by '/': any folders, none included
    ['**/secrets/*.json', 'secrets/a.json', true],
    ['**/secrets/*.json', 'a/b/secrets/a.json', true],
    ['**/secrets/*.json', 'a/secretsx/a.json', false],
    ['**/secrets/*.json', 'a/xsecrets/a.json', false],
    ['deploy/**/*.env', 'deploy/prod.env', true],
    ['deploy/**/*.env', 'deploy/eu/west/prod.env', true],
    ['deploy/**/*.env', 'deployx/prod.env', false],
    // ** elsewhere: anything, folders included, and the next character is kept
    ['config/**', 'config/a/b/c', true],
    ['a/**.env', 'a/b/c.env', true],
    ['a/**.env', 'a/b/cxenv', false],
    ['a/**.env', 'a/b/c/env', false],
    // * and ? stay within one name
    ['d/a?c', 'd/abc', true],
    ['d/a?c', 'd/a/c', false],
    ['d/a?c', 'd/ac', false],
    ['d/a?c', 'd/abbc', false],
    ['d/*c', 'd/a/c', false],
    ['d/*c', 'd/abc', true],
    // everything else is literal, the characters regular expressions give a meaning to included
    ['a.env', 'axenv', false],
    ['a+b', 'aab', false],
    ['a+b', 'a+b', true],
    ['(x)|[y]{2}^$\\', '(x)|[y]{2}^$\\', true],
    ['(x)|[y]{2}^$\\', 'x', false],
    ['[ab]', 'a', false],
    ['x{2}', 'xx', false],
  ];
  for (const [glob, relPath, expected] of cases) {
    it(`${JSON.stringify(glob)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(relPath)}`, () => {
      assert.equal(matches(glob, relPath), expected);
    });
  }

  it('matches from the start of the path to its end, not a part of it', () => {
    assert.equal(matchesGlob(`dir/a${tag}`, `x/dir/a${tag}`), false);
    assert.equal(matchesGlob(`dir/a${tag}`, `dir/a${tag}x`), false);
    assert.equal(matchesGlob(`dir/a${tag}`, `dir/a${tag}`), true);
  });

  it('a glob gives the same answer the second time (from the cache)', () => {
    assert.equal(matches('s/*.env', 's/a.env'), true);
    assert.equal(matches('s/*.env', 's/a.env'), true);
    assert.equal(matches('s/*.env', 's/t/a.env'), false);
  });

  it('matchesAny: true when one glob matches, false for none or an empty list', () => {
    assert.equal(matchesAny([`x${tag}`, `*.env${tag}`], `a/b.env${tag}`), true);
    assert.equal(matchesAny([`*.env${tag}`, `x${tag}`], `a/b.env${tag}`), true);
    assert.equal(matchesAny([`x${tag}`, `y${tag}`], `a/b.env${tag}`), false);
    assert.equal(matchesAny([], 'a'), false);
  });
});

/** The old compiler, kept here as the reference meaning of the dialect (it backtracks: small inputs only). */
const reference = (glob: string, relPath: string): boolean => {
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
  return new RegExp(`^${src}$`).test(glob.includes('/') ? relPath : path.posix.basename(relPath));
};

describe('globs from committed text match in linear time (security review F2)', () => {
  it('means what the regular-expression dialect meant, on any small glob and path', () => {
    const part = fc.constantFrom('*', '**', '**/', '?', '/', 'a', 'b', '.', '.env');
    const name = fc.constantFrom('/', 'a', 'b', '.', '.env', 'x');
    fc.assert(
      fc.property(fc.array(part, { maxLength: 7 }), fc.array(name, { maxLength: 8 }), (g, p) => {
        const glob = g.join('');
        const relPath = p.join('');
        assert.equal(matchesGlob(glob, relPath), reference(glob, relPath), `${glob} on ${relPath}`);
      }),
      { numRuns: 3000 },
    );
  });

  it("answers at once for the review's pattern ('**' × 18 + 'Z', and × 32) on a long path", () => {
    const started = process.hrtime.bigint();
    for (const k of [18, 24, 32]) {
      assert.equal(matchesGlob('**'.repeat(k) + 'Z', 'a'.repeat(200) + '/README.md'), false);
      assert.equal(matchesGlob('*a'.repeat(k) + 'Z', 'a'.repeat(200)), false);
      assert.equal(matchesAny(['*/'.repeat(8) + '*?'.repeat(12) + 'Z'], 'a/'.repeat(8) + 'a'.repeat(200)), false);
    }
    // a backtracking matcher takes minutes here; 2 s leaves room for a loaded machine and mutation testing
    assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
  });

  it('refuses a glob longer than the limit or with too many wildcards, with a CONFIG error that says which', () => {
    assert.throws(() => matchesGlob('a'.repeat(GLOB_MAX_LENGTH + 1), 'a'), (e: KmsEnvelopeError) => e.code === 'CONFIG' && /longer than 1024/.test(e.message));
    assert.equal(matchesGlob('a'.repeat(GLOB_MAX_LENGTH), 'a'.repeat(GLOB_MAX_LENGTH)), true);
    assert.throws(() => matchesGlob('*a'.repeat(GLOB_MAX_WILDCARDS + 1), 'a'), (e: KmsEnvelopeError) => e.code === 'CONFIG' && /more than 32 wildcards/.test(e.message));
    assert.equal(matchesGlob('*a'.repeat(GLOB_MAX_WILDCARDS), 'a'.repeat(GLOB_MAX_WILDCARDS)), true);
    // a run of stars is one wildcard; each ? is one
    assert.equal(matchesGlob('*'.repeat(500) + 'Z', 'abcZ'), true);
    assert.throws(() => matchesGlob('?'.repeat(GLOB_MAX_WILDCARDS + 1), 'a'), /more than 32 wildcards/);
    // the message quotes the start of a long pattern, and says what to do
    const long = 'x/'.repeat(30) + '*a'.repeat(40);
    assert.throws(() => matchesGlob(long, 'a'), refusedAs('CONFIG', `pattern ${JSON.stringify(long.slice(0, 40))}…: more than 32 wildcards`));
    assert.throws(() => matchesGlob(long, 'a'), (e: KmsEnvelopeError) => e.hint === 'Use a shorter pattern with fewer wildcards.');
    const fortyish = '?'.repeat(33) + 'abcdefg';
    assert.equal(fortyish.length, 40);
    assert.throws(() => matchesGlob(fortyish, 'a'), refusedAs('CONFIG', `pattern ${JSON.stringify(fortyish)}: more than 32 wildcards`));
  });
});

describe('usableGlobs: what a setting may hold', () => {
  it('keeps strings within the limits, at most 64 of them, and leaves out the rest', () => {
    assert.deepEqual(usableGlobs(['.env', 5, '', '*a'.repeat(40), 'x'.repeat(GLOB_MAX_LENGTH + 1), '*.env']), ['.env', '*.env']);
    assert.equal(usableGlobs(Array.from({ length: 100 }, (_, i) => `f${i}`)).length, 64);
    assert.deepEqual(usableGlobs('*.env'), []);
  });
});
