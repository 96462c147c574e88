/**
 * `npm run test:extension`: the extension's suites inside a real VS Code extension host
 * (code-server + headless Chromium), against the local KMS, then the plaintext scan.
 * Fails loudly if the host cannot start; never passes empty.
 */
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSandbox } from '../support/aws-sandbox';
import { startCodeServer } from '../support/code-server';
import { launchBrowser, runExtensionTests } from '../support/workbench';
import { makeWorkspace, NEVER_ON_DISK } from './workspace';
import { scanForPlaintext } from './scan';
import { runUiTest } from './ui-test';

const ROOT = path.join(__dirname, '../..');
const OUT = path.join(ROOT, 'out', 'extension-tests');

async function buildSuites(): Promise<string> {
  rmSync(OUT, { recursive: true, force: true });
  const dir = path.join(__dirname, 'suite');
  const entries = readdirSync(dir).filter((f) => f.endsWith('.test.ts') || f === 'index.ts').map((f) => path.join(dir, f));
  await build({ entryPoints: entries, outdir: OUT, bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['vscode', 'mocha'], logLevel: 'warning' });
  return path.join(OUT, 'index.js');
}

async function main(): Promise<number> {
  if (!existsSync(path.join(ROOT, 'dist', 'extension.js'))) throw new Error('dist/extension.js is missing: npm run build first');
  const testsPath = await buildSuites();
  const scratch = mkdtempSync(path.join(tmpdir(), 'kms-envelope-vscode-'));
  const sb = await startSandbox();
  const results = path.join(scratch, 'results.json');
  const logLines: string[] = [];
  let server;
  let browser;
  let failed = 0;
  let passed = 0;
  try {
    const workspace = await makeWorkspace(path.join(scratch, 'workspace'), sb);
    server = await startCodeServer({
      scratch: path.join(scratch, 'code-server'),
      env: {
        ...sb.env,
        HOME: sb.env.HOME,
        KMS_ENVELOPE_TEST_KMS: sb.kms.url,
        KMS_ENVELOPE_TEST_RESULTS: results,
        KMS_ENVELOPE_CLI: path.join(ROOT, 'dist', 'cli.js'),
        KMS_ENVELOPE_TEST_KEY: sb.keyArn,
        KMS_ENVELOPE_TEST_OTHER_KEY: sb.otherKeyArn,
        ...(process.env.KMS_ENVELOPE_SUITES ? { KMS_ENVELOPE_SUITES: process.env.KMS_ENVELOPE_SUITES } : {}),
      },
      userSettings: {
        'files.autoSave': 'off', // code-server's default is afterDelay; desktop VS Code's is off
        'security.workspace.trust.enabled': false,
        'workbench.startupEditor': 'none',
        'workbench.tips.enabled': false,
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'telemetry.telemetryLevel': 'off',
        'kmsEnvelope.keyId': 'alias/test',
        'kmsEnvelope.profile': 'default',
      },
      log: (s) => logLines.push(s),
    });
    browser = await launchBrowser();
    const code = await runExtensionTests(browser, {
      base: server.url,
      port: server.port,
      folder: workspace,
      extensionPath: ROOT,
      testsPath,
      timeoutMs: 8 * 60_000,
      log: (l) => {
        logLines.push(`${l}\n`);
        if (process.env.KMS_ENVELOPE_VERBOSE) console.log(l);
      },
    });
    const list = existsSync(results) ? (JSON.parse(readFileSync(results, 'utf8')) as { title: string; state: string; error?: string }[]) : [];
    for (const r of list) {
      console.log(`${r.state === 'passed' ? '  ✔' : '  ✘'} [extension host] ${r.title}`);
      if (r.error) console.log(r.error.split('\n').slice(0, 8).map((l) => `      ${l}`).join('\n'));
    }
    passed += list.filter((r) => r.state === 'passed').length;
    failed += list.filter((r) => r.state === 'failed').length;
    if (list.length === 0) {
      console.log(logLines.join('').slice(-4000));
      throw new Error(`the extension host ran no test (exit code ${code})`);
    }
    if (code !== 0 && failed === 0) failed++;
    if (failed) console.log(`--- workbench and code-server log (last lines) ---\n${logLines.join('').slice(-6000)}\n---`);

    if (!process.env.KMS_ENVELOPE_SUITES) {
      const ui = await runUiTest(browser, { base: server.url, port: server.port, folder: workspace, extensionPath: ROOT, kms: sb.kms, media: path.join(ROOT, 'media') });
      for (const r of ui) console.log(`${r.ok ? '  ✔' : '  ✘'} [ui] ${r.title}${r.error ? `\n      ${r.error}` : ''}`);
      passed += ui.filter((r) => r.ok).length;
      failed += ui.filter((r) => !r.ok).length;
    }
    await browser.close();
    browser = undefined;
    await server.stop();
    server = undefined;

    const hits = scanForPlaintext([workspace, path.join(scratch, 'code-server')], NEVER_ON_DISK);
    const scanTitle = `plaintext scan: no secret in the workspace, TMPDIR or the VS Code user-data folder (${NEVER_ON_DISK.length} secrets)`;
    if (hits.length) {
      console.log(`  ✘ [scan] ${scanTitle}\n${hits.map((h) => `      ${h}`).join('\n')}`);
      failed++;
    } else {
      console.log(`  ✔ [scan] ${scanTitle}`);
      passed++;
    }
  } finally {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    await sb.close();
    if (!process.env.KMS_ENVELOPE_KEEP) rmSync(scratch, { recursive: true, force: true });
    else console.log(`kept ${scratch}`);
  }
  console.log(`\nextension: ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`extension tests could not run: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);

