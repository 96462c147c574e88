// Preloaded into the CLI's child processes during Stryker's dry run (see mutants.ts): at exit,
// writes which mutants this process reached, for the test that spawned it.
const fs = require('node:fs');
const path = require('node:path');

// The preload takes itself out of the environment: the programs the CLI runs must not see it
// (tests assert that `run` passes on NODE_OPTIONS only when the user names it).
const dir = process.env.KMS_ENVELOPE_MUTANT_COVERAGE;
delete process.env.KMS_ENVELOPE_MUTANT_COVERAGE;
const options = (process.env.NODE_OPTIONS || '').replace(`--require ${__filename}`, '').trim();
if (options) process.env.NODE_OPTIONS = options;
else delete process.env.NODE_OPTIONS;

function dump() {
  const coverage = globalThis.__stryker__ && globalThis.__stryker__.mutantCoverage;
  if (!coverage || !dir) return;
  const hits = { ...coverage.static };
  for (const perTest of Object.values(coverage.perTest)) for (const [id, n] of Object.entries(perTest)) hits[id] = (hits[id] || 0) + n;
  fs.writeFileSync(path.join(dir, `${process.pid}-${process.hrtime.bigint()}.json`), JSON.stringify(hits));
}
process.on('exit', dump);
// A process that ends by re-raising a signal at itself (io.ts's clean-up) has no 'exit' event.
const kill = process.kill;
process.kill = function (pid, signal) {
  if (pid === process.pid && signal !== 0) dump();
  return kill.call(process, pid, signal);
};
