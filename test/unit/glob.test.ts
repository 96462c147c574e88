import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { matchesAny, matchesGlob } from '../../src/core/glob';

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
