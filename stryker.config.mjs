// Mutation testing of src/core (issue 12): `npm run mutate` (all of it, long) or
// `npm run mutate -- --mutate src/core/cipher.ts` (one file). scripts/mutate.ts runs it and turns the
// JSON report into docs/MUTATION.md.
// Only the suites that import src/ in-process can see a mutant: the CLI suites run the built
// bundle (dist/), and the reliability suites (fuzzing, SIGKILL) are too slow to run per mutant.
export default {
  testRunner: 'mocha',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  mutate: ['src/core/**/*.ts'],
  mochaOptions: {
    config: '.mocharc.json',
    spec: ['test/unit/**/*.test.ts', 'test/kms/**/*.test.ts', 'test/cli/hostile-repository.test.ts'],
  },
  coverageAnalysis: 'perTest',
  ignoreStatic: true,
  reporters: ['json', 'progress', 'clear-text'],
  jsonReporter: { fileName: '.cache/stryker/report.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  tempDirName: '.cache/stryker/tmp',
  // the sandbox copies only what the suites need (not code-server or the demo; dist/ stays: the hostile-repository suite also runs the CLI)
  ignorePatterns: ['.cache', 'out', '*.vsix'],
  // incremental: a re-run tests again only the mutants whose code or covering tests changed (a run from scratch takes over an hour)
  incremental: true,
  incrementalFile: '.cache/stryker/incremental.json',
  concurrency: 2,
  timeoutMS: 20000,
  cleanTempDir: 'always',
};
