/**
 * `npm run test:electron`: the same extension-host suites in desktop VS Code, downloaded and
 * cached by @vscode/test-electron (for laptops and hosted CI; this project's own CI machines
 * cannot reach the download host and use code-server instead, see run.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { startSandbox } from '../support/aws-sandbox';
import { buildSuites, USER_SETTINGS } from './build-suites';
import { makeWorkspace } from './workspace';

const ROOT = path.join(__dirname, '../..');

async function main(): Promise<number> {
  const testsPath = await buildSuites();
  const scratch = mkdtempSync(path.join(tmpdir(), 'kms-envelope-electron-'));
  const sb = await startSandbox();
  try {
    const workspace = await makeWorkspace(path.join(scratch, 'workspace'), sb);
    const userData = path.join(scratch, 'user-data');
    mkdirSync(path.join(userData, 'User'), { recursive: true });
    writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify(USER_SETTINGS, null, 2));
    await runTests({
      version: '1.100.3',
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: testsPath,
      launchArgs: [workspace, '--user-data-dir', userData, '--disable-extensions', '--skip-welcome'],
      extensionTestsEnv: {
        ...sb.env,
        KMS_ENVELOPE_TEST_KMS: sb.kms.url,
        KMS_ENVELOPE_CLI: path.join(ROOT, 'dist', 'cli.js'),
        KMS_ENVELOPE_TEST_KEY: sb.keyArn,
        // the extension's V8 code caches (src/code-cache.ts) go to the scratch folder, not the user's
        XDG_CACHE_HOME: path.join(scratch, 'xdg-cache'),
        KMS_ENVELOPE_SUITES: process.env.KMS_ENVELOPE_SUITES ?? '10,20,30,40,50',
      },
    });
    return 0;
  } finally {
    await sb.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`electron extension tests failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
