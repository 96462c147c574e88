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
  /**
   * Called with everything the workbench keeps in the browser's storage: when a suite logs
   * SCAN_BROWSER_STORAGE (while what it tests still holds values), and once the tests ended.
   */
  readonly browserStorage?: (dump: string) => void;
}

/** A suite logs this line to have the runner read the browser's storage now (helpers.scanBrowserStorage). */
export const SCAN_BROWSER_STORAGE = 'kms-envelope:scan-browser-storage';

/**
 * Everything the page's origin keeps in IndexedDB, as text: the web workbench stores its
 * workspace and global state there (where desktop VS Code uses state.vscdb in the user-data
 * folder), so a plaintext scan must look here too.
 */
export async function dumpIndexedDb(page: Page): Promise<string> {
  // a string, since the test tree is compiled without the DOM's types
  return page.evaluate<string>(`(async () => {
    const parts = [];
    const text = (v) => (v instanceof Uint8Array || v instanceof ArrayBuffer ? new TextDecoder().decode(v) : typeof v === 'string' ? v : JSON.stringify(v));
    const done = (req) => new Promise((resolve, reject) => { req.onsuccess = () => resolve(req.result); req.onerror = () => reject(req.error); });
    for (const info of await indexedDB.databases()) {
      if (!info.name) continue;
      const db = await done(indexedDB.open(info.name));
      for (const store of Array.from(db.objectStoreNames)) {
        const os = db.transaction(store, 'readonly').objectStore(store);
        const [keys, values] = await Promise.all([done(os.getAllKeys()), done(os.getAll())]);
        keys.forEach((k, i) => parts.push(info.name + '/' + store + '/' + text(k) + ': ' + text(values[i])));
      }
      db.close();
    }
    return parts.join('\\n');
  })()`);
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
      if (line.includes(SCAN_BROWSER_STORAGE) && o.browserStorage) {
        // the workbench writes its state to IndexedDB a moment after a change
        void page.waitForTimeout(1500).then(() => dumpIndexedDb(page)).then(o.browserStorage, (err) => o.log(`[error] browser storage scan: ${String(err)}`));
      }
    });
    const url = folderUrl(o.base, o.folder, [
      ['extensionDevelopmentPath', remote(o.extensionPath)],
      ['extensionTestsPath', remote(o.testsPath)],
      ['skipWelcome', 'true'],
    ]);
    await page.goto(url);
    const timeout = new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`extension tests did not finish within ${o.timeoutMs / 1000} s`)), o.timeoutMs));
    const code = await Promise.race([exit, timeout]);
    if (o.browserStorage) {
      await page.waitForTimeout(1500); // the workbench writes its state to IndexedDB a moment after a change
      o.browserStorage(await dumpIndexedDb(page));
    }
    return code;
  } finally {
    await page.close().catch(() => undefined);
  }
}
