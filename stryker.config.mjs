// Mutation testing of src/core (issue 12): `npm run mutate` (all of it, long) or
// `npm run mutate -- --mutate src/core/cipher.ts` (one file). scripts/mutate.ts runs it and turns the
// JSON report into docs/MUTATION.md.
// The CLI suites run the built bundles in child processes: `buildCommand` builds dist/ from the
// instrumented sources, and test/support/mutants.ts tells each child the active mutant and brings
// back what it covered. Left out: the reliability suites (fuzzing, SIGKILL), too slow to run per
// mutant; the git suite, whose every test builds a repository through hooks that start the CLI
// (seconds per test: a surviving mutant of src/core/git cost a minute), where src/core/git has
// in-process tests of its own (test/unit/git-*.test.ts, test/kms/merge-driver and textconv); and the
// Node-preload suite, which asserts on NODE_OPTIONS (the children's coverage rides on it).
import path from 'node:path';

// The sandboxes sit inside this checkout: a mutant that drops git's cwd (src/core/git/git.ts) would
// run git in a sandbox, and git would find this checkout's repository above it and set it up.
// The test runners inherit this: git stops looking at the sandboxes' parent.
process.env.GIT_CEILING_DIRECTORIES = path.resolve('.cache/stryker/tmp');

export default {
  testRunner: 'mocha',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: ['src/core/**/*.ts'],
  mochaOptions: {
    config: '.mocharc.json',
    spec: ['test/unit/**/*.test.ts', 'test/kms/**/*.test.ts', 'test/cli/cli.test.ts', 'test/cli/hostile-repository.test.ts', 'test/cli/hostile-repository-2.test.ts', 'test/cli/agent.test.ts', 'test/cli/sops.test.ts', 'test/cli/import.test.ts'],
  },
  buildCommand: 'node scripts/build.mjs',
  coverageAnalysis: 'perTest',
  ignoreStatic: true,
  reporters: ['json', 'progress', 'clear-text'],
  jsonReporter: { fileName: '.cache/stryker/report.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  tempDirName: '.cache/stryker/tmp',
  // the sandbox copies only what the suites need (not code-server or the demo)
  ignorePatterns: ['.cache', 'out', '*.vsix'],
  // incremental: a re-run tests again only the mutants whose code or covering tests changed (a run from scratch takes over an hour)
  incremental: true,
  incrementalFile: '.cache/stryker/incremental.json',
  // two test runners beside the checker: the CLI suites wait on child processes much of the time
  concurrency: 3,
  timeoutMS: 20000,
  cleanTempDir: 'always',
};
