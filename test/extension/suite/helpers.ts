/** Helpers for suites that run in the extension host against the runner's local KMS. */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Api } from '../../../src/extension/extension';
import { fileOf, isViewOf } from '../../../src/extension/view-uri';

export const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: these suites run through npm run test:extension`);
  return v;
};

export const WORKSPACE = () => vscode.workspace.workspaceFolders![0].uri.fsPath;
export const file = (rel: string) => vscode.Uri.file(path.join(WORKSPACE(), rel));

export interface KmsLogEntry {
  action: string;
  accessKeyId: string;
  status: number;
  keyArn?: string;
}

const admin = async (what: string, body?: unknown): Promise<unknown> => {
  const r = await fetch(`${env('KMS_ENVELOPE_TEST_KMS')}/__admin/${what}`, {
    method: 'POST',
    headers: { 'x-local-kms-admin': env('KMS_ENVELOPE_TEST_KMS_ADMIN') },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return r.json();
};
export const kms = {
  log: () => admin('log') as Promise<KmsLogEntry[]>,
  clearLog: () => admin('clear-log'),
  fault: (f: { kind: string; action?: string; times?: number; delayMs?: number }) => admin('fault', f),
  clearFaults: () => admin('clear-faults'),
  count: async (action?: string) => (await kms.log()).filter((e) => !action || e.action === action).length,
};

export async function api(): Promise<Api> {
  const ext = vscode.extensions.getExtension<Api>('kms-envelope.kms-envelope')!;
  return ext.isActive ? ext.exports : ext.activate();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The CLI, outside VS Code, reading what the extension wrote. */
export function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [env('KMS_ENVELOPE_CLI'), ...args], { cwd: WORKSPACE(), env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', ...extraEnv } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

export async function closeAll(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

export const activeUri = () => vscode.window.activeTextEditor?.document.uri;

/** The visible editor of the decrypted view of `rel`. */
export const viewEditor = (rel: string) => vscode.window.visibleTextEditors.find((e) => isViewOf(e.document.uri, file(rel)));

/** Every tab that shows `rel`: its text, its decrypted view, or the placeholder of either. */
export const tabsOf = (rel: string) => vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => {
  const uri = (t.input as { uri?: unknown } | undefined)?.uri;
  return uri instanceof vscode.Uri && fileOf(uri) === file(rel).path;
});

/**
 * Has the runner read the web workbench's browser storage (desktop VS Code's state.vscdb) now,
 * for its plaintext scan; waits until it has.
 */
export async function scanBrowserStorage(): Promise<void> {
  console.log('kms-envelope:scan-browser-storage'); // test/support/workbench.ts SCAN_BROWSER_STORAGE
  await sleep(3000);
}
