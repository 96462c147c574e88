/**
 * Runs inside VS Code's extension host (extensionTestsPath): mocha over the *.test.js files
 * next to this one. Results also go to a JSON file the runner prints, since the host's
 * console is not the runner's.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

interface Result {
  title: string;
  state: 'passed' | 'failed';
  error?: string;
}

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  const only = process.env.KMS_ENVELOPE_SUITES?.split(',');
  for (const f of readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) {
    if (!only || only.some((o) => f.startsWith(o))) mocha.addFile(path.join(__dirname, f));
  }
  const results: Result[] = [];
  const failures = await new Promise<number>((resolve) => {
    const runner = mocha.run((n) => resolve(n));
    runner.on('pass', (t) => results.push({ title: t.fullTitle(), state: 'passed' }));
    runner.on('fail', (t, err) => results.push({ title: t.fullTitle(), state: 'failed', error: String((err as Error)?.stack ?? err) }));
  });
  if (process.env.KMS_ENVELOPE_TEST_RESULTS) writeFileSync(process.env.KMS_ENVELOPE_TEST_RESULTS, JSON.stringify(results, null, 2));
  if (failures > 0 || results.length === 0) throw new Error(`${failures} of ${results.length} extension tests failed`);
}
