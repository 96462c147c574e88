// mocha's spec reporter plus a closing "node: N passed, N failed" line, the plain summary that
// CI reads (the extension runner prints its own).
const Mocha = require('mocha');
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SpecWithSummary extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats;
      console.log(`node: ${s.passes} passed, ${s.failures} failed${s.pending ? `, ${s.pending} skipped` : ''}`);
    });
  }
}
module.exports = SpecWithSummary;
