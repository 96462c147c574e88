import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { LOCAL_ACCOUNT_KEYS } from '../support/accounts';

const OUT = path.join(__dirname, '../../out/extension-tests');

/** Bundles each suite (and the mocha entry) for the extension host; returns the extensionTestsPath. */
export async function buildSuites(): Promise<string> {
  rmSync(OUT, { recursive: true, force: true });
  const dir = path.join(__dirname, 'suite');
  const entries = readdirSync(dir).filter((f) => f.endsWith('.test.ts') || f === 'index.ts').map((f) => path.join(dir, f));
  await build({ entryPoints: entries, outdir: OUT, bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['vscode', 'mocha'], logLevel: 'warning', mainFields: ['module', 'main'] });
  return path.join(OUT, 'index.js');
}

/** The user settings the suites run under (any VS Code: code-server or desktop). */
export const USER_SETTINGS = {
  'files.autoSave': 'off', // code-server's default is afterDelay; desktop VS Code's is off
  'security.workspace.trust.enabled': false,
  'security.workspace.trust.startupPrompt': 'never',
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'telemetry.telemetryLevel': 'off',
  'git.openRepositoryInParentFolders': 'never',
  'breadcrumbs.enabled': false,
  'terminal.integrated.gpuAcceleration': 'off', // the DOM renderer: terminal text the UI test can read
  'kmsEnvelope.keyId': 'alias/test',
  // the team's account: an allow-list written by the user (a workspace cannot widen it)
  'kmsEnvelope.allowedKeys': [LOCAL_ACCOUNT_KEYS],
  'kmsEnvelope.profile': 'default',
};
