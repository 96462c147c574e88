/**
 * The product as a person uses it: Playwright drives the real workbench (explorer context menu,
 * command palette, editor context menu) in headless Chromium, checks what happened on disk and
 * on screen, and saves the screenshots the README shows (media/).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { LocalKms } from '../local-kms/server';
import { folderUrl } from '../support/workbench';

export interface UiResult {
  title: string;
  ok: boolean;
  error?: string;
}

interface Options {
  base: string;
  port: number;
  folder: string;
  extensionPath: string;
  kms: LocalKms;
  media: string;
}

const row = (page: Page, name: string) => page.locator(`.explorer-folders-view .monaco-list-row[aria-label^="${name}"]`).first();
const menuItem = (page: Page, label: string) => page.locator('.context-view .monaco-menu .action-item', { hasText: label }).first();

/** Right-clicks until the context menu offers `label` (menus follow context keys that update asynchronously). */
async function contextMenuWith(page: Page, target: () => ReturnType<Page['locator']>, label: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await target().click({ button: 'right' });
    if (await menuItem(page, label).waitFor({ timeout: 1500 }).then(() => true, () => false)) return;
    await page.keyboard.press('Escape');
    if (Date.now() > deadline) throw new Error(`the context menu never offered "${label}"`);
  }
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runUiTest(browser: Browser, o: Options): Promise<UiResult[]> {
  const results: UiResult[] = [];
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const shot = async (name: string) => {
    await page.screenshot({ path: path.join(o.media, name) });
  };
  const step = async (title: string, fn: () => Promise<void>) => {
    try {
      await fn();
      results.push({ title, ok: true });
    } catch (err) {
      await page.screenshot({ path: path.join(o.folder, '..', `failed-${results.length}.png`) }).catch(() => undefined);
      results.push({ title, ok: false, error: err instanceof Error ? err.message.split('\n')[0] : String(err) });
    }
  };
  try {
    await page.goto(folderUrl(o.base, o.folder, [['extensionDevelopmentPath', `vscode-remote://127.0.0.1:${o.port}${o.extensionPath}`], ['skipWelcome', 'true']]));
    await page.locator('.explorer-folders-view').waitFor({ timeout: 60_000 });
    await page.locator('.statusbar-item', { hasText: 'alias/test' }).waitFor({ timeout: 30_000 });

    await step('clicking an encrypted .env in the explorer shows it decrypted (decrypt-on-open)', async () => {
      await row(page, 'app').click();
      await row(page, '.env').click();
      await page.locator('.monaco-editor .view-lines', { hasText: 'hunter2-ALPHA' }).waitFor({ timeout: 20_000 });
      await page.locator('.statusbar-item .codicon-unlock').first().waitFor(); // the status bar says data keys are in memory
      await page.mouse.move(900, 600);
      await shot('decrypted-env.png');
    });

    await step('the explorer context menu offers Encrypt File on a plain file, and it encrypts the file whole', async () => {
      await row(page, 'cert.pem').click({ button: 'right' });
      await menuItem(page, 'Encrypt File').waitFor();
      await shot('explorer-menu.png');
      await menuItem(page, 'Encrypt File').click();
      const file = path.join(o.folder, 'cert.pem');
      await until('cert.pem to be encrypted', async () => (await fs.readFile(file, 'utf8')).startsWith('# kms-envelope v1 file\n'));
      await contextMenuWith(page, () => row(page, 'cert.pem'), 'Open Decrypted');
      await page.keyboard.press('Escape');
    });

    await step('the editor context menu encrypts a selection', async () => {
      await row(page, 'config.yaml').dblclick();
      const word = page.locator('.monaco-editor .view-line span', { hasText: 'yaml-secret-CHARLIE' }).first();
      await word.waitFor();
      await page.keyboard.press('Control+End');
      await page.keyboard.press('Home');
      await page.keyboard.press('End');
      await page.keyboard.press('Shift+Control+ArrowLeft');
      await page.keyboard.press('Shift+Control+ArrowLeft');
      await page.keyboard.press('Shift+Control+ArrowLeft');
      await word.click({ button: 'right' });
      await menuItem(page, 'Encrypt Selection').waitFor();
      await shot('editor-menu.png');
      await menuItem(page, 'Encrypt Selection').click();
      await until('config.yaml to hold a token', async () => /password: ENC\[kmsenv:v1:[\w-]+\]/.test(await fs.readFile(path.join(o.folder, 'config.yaml'), 'utf8')));
      // now that the file holds encrypted text, its menu offers Decrypt Selection
      await contextMenuWith(page, () => page.locator('.monaco-editor .view-line span', { hasText: 'ENC[' }).first(), 'Decrypt Selection');
      await page.keyboard.press('Escape');
    });

    await step('the command palette lists the KMS Envelope commands, and Lock closes the decrypted views', async () => {
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor();
      await input.fill('>KMS Envelope');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'KMS Envelope: Open Decrypted' }).waitFor();
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'KMS Envelope: Lock' }).waitFor();
      await shot('command-palette.png');
      await input.fill('>KMS Envelope: Lock');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'KMS Envelope: Lock' }).first().click();
      await until('the decrypted tabs to close', async () => (await page.locator('.tabs-container .tab', { hasText: '.env' }).count()) === 0);
      await page.locator('.statusbar-item .codicon-lock').first().waitFor();
    });
  } catch (err) {
    results.push({ title: 'the workbench loads with the extension', ok: false, error: err instanceof Error ? err.message.split('\n')[0] : String(err) });
  } finally {
    await page.close();
  }
  if (results.length === 0) results.push({ title: 'the UI test ran', ok: false, error: 'no step ran' });
  return results;
}
