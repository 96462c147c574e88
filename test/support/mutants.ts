/**
 * Lets mutation testing (`npm run mutate`, StrykerJS) see the src/core code that the CLI suites
 * run in child processes: the CLI, git's hooks, merge driver and textconv, and the Node preload.
 *
 * Under Stryker, dist/ is built from the instrumented sources (stryker.config.mjs `buildCommand`),
 * so a child runs the same mutant switches as the test process. Stryker's mocha runner chooses
 * the active mutant in this process only; children learn it from `__STRYKER_ACTIVE_MUTANT__`,
 * which the instrumented code reads at load. In the dry run Stryker records which test covers
 * which mutant, in this process only; children record theirs into files (mutant-coverage.cjs,
 * preloaded by NODE_OPTIONS) that are added to the spawning test's coverage when the child ends,
 * so a mutant is tested by the tests whose children reach it.
 *
 * Outside Stryker both functions do nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

type Hits = Record<string, number>;
interface StrykerNamespace {
  activeMutant?: string;
  currentTestId?: string;
  mutantCoverage?: { static: Hits; perTest: Record<string, Hits> };
}

const DUMP = path.join(__dirname, 'mutant-coverage.cjs');
let coverageDir: string | undefined;

const stryker = (): StrykerNamespace | undefined => (globalThis as { __stryker__?: StrykerNamespace }).__stryker__;

/** Variables to add to a child's environment so that it runs the active mutant, or records what it covers. */
export function mutantEnv(): Record<string, string> {
  const ns = stryker();
  if (!ns) return {};
  if (ns.activeMutant !== undefined) return { __STRYKER_ACTIVE_MUTANT__: String(ns.activeMutant) };
  coverageDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'kmsenv-mutant-coverage-'));
  return { NODE_OPTIONS: `--require ${DUMP}`, KMS_ENVELOPE_MUTANT_COVERAGE: coverageDir };
}

/** Adds what the children that ended since the last call covered to the current test's coverage. */
export function collectChildCoverage(): void {
  const ns = stryker();
  if (!ns || coverageDir === undefined) return;
  const coverage = (ns.mutantCoverage ??= { static: {}, perTest: {} });
  const into = ns.currentTestId === undefined ? coverage.static : (coverage.perTest[ns.currentTestId] ??= {});
  for (const name of fs.readdirSync(coverageDir)) {
    const file = path.join(coverageDir, name);
    const hits = JSON.parse(fs.readFileSync(file, 'utf8')) as Hits;
    fs.rmSync(file);
    // A child cannot tell its module-level code from the rest: what this process ran at load is
    // that code (static mutants, which Stryker leaves out rather than run every test for).
    for (const [id, n] of Object.entries(hits)) if (!(id in coverage.static)) into[id] = (into[id] ?? 0) + n;
  }
}

/** Runs `spawn` with the mutant's environment and collects its children's coverage when it ends. */
export async function underMutation<T>(spawn: (env: Record<string, string>) => Promise<T>): Promise<T> {
  try {
    return await spawn(mutantEnv());
  } finally {
    collectChildCoverage();
  }
}
