/**
 * Headless Chromium (Debian's, through playwright-core) on code-server's web workbench.
 * `runExtensionTests` opens a folder with the test payload, so that VS Code loads the
 * extension under development and runs the mocha suites in its extension host.
 */
import { Browser, chromium, Page } from 'playwright-core';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
}

export const folderUrl = (base: string, folder: string, payload?: [string, string][]): string =>
  `${base}/?folder=${encodeURIComponent(folder)}${payload ? `&payload=${encodeURIComponent(JSON.stringify(payload))}` : ''}`;

export interface ExtensionTestRun {
  readonly base: string;
  readonly port: number;
  readonly folder: string;
  readonly extensionPath: string;
  readonly testsPath: string;
  readonly timeoutMs: number;
  readonly log: (line: string) => void;
}

/** Resolves with the exit code that the workbench reports for the extension tests. */
export async function runExtensionTests(browser: Browser, o: ExtensionTestRun): Promise<number> {
  const remote = (p: string) => `vscode-remote://127.0.0.1:${o.port}${p}`;
  const page: Page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    const exit = new Promise<number>((resolve) => {
      void page.exposeFunction('codeAutomationExit', (code: number) => resolve(code));
    });
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
      const [fmt, ...rest] = Array.isArray(args) ? args : [String(args)];
      let i = 0;
      const line = String(fmt).replace(/%[sdoOjc]/g, (m) => (m === '%c' ? (i++, '') : String(rest[i++])));
      o.log(`[${type}] ${line}`);
    });
    const url = folderUrl(o.base, o.folder, [
      ['extensionDevelopmentPath', remote(o.extensionPath)],
      ['extensionTestsPath', remote(o.testsPath)],
      ['skipWelcome', 'true'],
    ]);
    await page.goto(url);
    const timeout = new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`extension tests did not finish within ${o.timeoutMs / 1000} s`)), o.timeoutMs));
    return await Promise.race([exit, timeout]);
  } finally {
    await page.close().catch(() => undefined);
  }
}
