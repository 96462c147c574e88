/**
 * Opening a `.env` without a frame of its ciphertext: for the decrypt-on-open file names, VS
 * Code's default editor is this custom editor. Its placeholder shows nothing of the file; it
 * hands over to the decrypted view for an encrypted file (trusted workspace, decrypt-on-open on),
 * to the ordinary text editor for anything else or when decryption fails (the error says why),
 * then closes. Files opened through the API (showTextDocument) and files encrypted whole go
 * through DecryptOnOpen's tab replacement instead.
 */
import path = require('node:path');
import vscode = require('vscode');
import { remnantsOfFile } from '../core/damage';
import { kindOf } from '../core/kind';
import { openTextDiff } from './ui';
import { isViewOf } from './view-uri';
import { matchesPattern } from './settings';

export const OPENER_VIEW_TYPE = 'kmsEnvelope.opener';

export interface OpenerDeps {
  readonly enabled: () => { on: boolean; patterns: string[] };
  /** A diff of an encrypted file (git's Open Changes of a `.env`): shown decrypted. */
  readonly openChanges: (file: vscode.Uri) => Thenable<unknown>;
  /** Decrypts the file for its view; false when that failed (reported, and marked so that its ciphertext tab is left alone until the user comes back to it). */
  readonly openView: (file: vscode.Uri) => Promise<boolean>;
  /** Shows the view in a column in place of the file's ciphertext there (DecryptOnOpen.showView). */
  readonly showView: (file: vscode.Uri, column: vscode.ViewColumn) => Promise<void>;
  /** A `.env` without a header that still holds kms-envelope's tokens or header lines: said as damaged (core/damage.ts). */
  readonly damaged: (file: vscode.Uri, remnants: string) => void;
}

/** The file a `git:` URI of the git extension stands for (its query is JSON with the path). */
const gitPath = (uri: vscode.Uri): string | undefined => {
  try {
    const q = JSON.parse(uri.query) as { path?: unknown };
    return typeof q.path === 'string' ? q.path : undefined;
  } catch {
    return undefined;
  }
};

/** Whether the column shows a decrypted view of `file` (in any tab). */
const viewIn = (file: vscode.Uri, column: vscode.ViewColumn): boolean =>
  vscode.window.tabGroups.all.some((g) => g.viewColumn === column && g.tabs.some((t) => t.input instanceof vscode.TabInputText && isViewOf(t.input.uri, file)));

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function registerOpener(d: OpenerDeps): vscode.Disposable {
  /** Runs after the placeholder resolved: VS Code does not take an editor disposed while it resolves. */
  async function handOver(uri: vscode.Uri, panel: vscode.WebviewPanel): Promise<void> {
    // VS Code also picks this editor for both sides of a diff (git's Open Changes of a `.env`):
    // the tab then is a diff, not this custom editor's, and is replaced by a text diff
    const tab = vscode.window.tabGroups.all.find((g) => g.viewColumn === panel.viewColumn)?.activeTab;
    if (tab && !(tab.input instanceof vscode.TabInputCustom)) return diffInstead(uri, tab, panel);
    let closed = false;
    panel.onDidDispose(() => (closed = true));
    const column = panel.viewColumn ?? vscode.ViewColumn.Active;
    const { on, patterns } = d.enabled();
    const wanted = on && vscode.workspace.isTrusted && uri.scheme === 'file' && matchesPattern(path.basename(uri.path), patterns);
    const kind = wanted ? await kindOf(uri.fsPath).catch(() => 'plain') : 'plain';
    const encrypted = kind === 'dotenv' || kind === 'sops';
    if (wanted && kind === 'plain') {
      const remnants = await remnantsOfFile(uri.fsPath, { tokens: true });
      if (remnants) d.damaged(uri, remnants);
    }
    const decrypted = encrypted && (await d.openView(uri));
    if (closed) return; // the user closed the placeholder meanwhile: open nothing
    // the view replaces a ciphertext tab of the file in this column (a failed attempt's); and when
    // this attempt failed but a view of the file is open here, that view stays what the column shows
    if (decrypted || viewIn(uri, column)) await d.showView(uri, column);
    else await vscode.commands.executeCommand('vscode.openWith', uri, 'default', column);
    const placeholders = vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .filter((t) => t.input instanceof vscode.TabInputCustom && t.input.viewType === OPENER_VIEW_TYPE && t.input.uri.toString() === uri.toString());
    await vscode.window.tabGroups.close(placeholders, true);
  }

  /**
   * One side of a diff opened in this editor: the left side (git's version) reopens the diff as
   * text (decrypted for an encrypted file), the right side (the file) leaves it to the left.
   */
  async function diffInstead(uri: vscode.Uri, tab: vscode.Tab, panel: vscode.WebviewPanel): Promise<void> {
    if (uri.scheme === 'file') return;
    const file = vscode.Uri.file(gitPath(uri) ?? uri.path);
    const column = panel.viewColumn ?? vscode.ViewColumn.Active;
    await vscode.window.tabGroups.close(tab, true);
    if (['dotenv', 'sops'].includes(await kindOf(file.fsPath).catch(() => 'plain'))) await d.openChanges(file);
    else await openTextDiff(uri, file, tab.label, column);
  }

  return vscode.window.registerCustomEditorProvider(
    OPENER_VIEW_TYPE,
    {
      resolveCustomTextEditor(document, panel) {
        panel.webview.options = { enableScripts: false };
        panel.webview.html = `<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"></head><body style="font-family: var(--vscode-font-family); color: var(--vscode-descriptionForeground); padding: 2em">Opening ${escapeHtml(path.basename(document.uri.path))}…</body></html>`;
        setTimeout(() => void handOver(document.uri, panel), 0);
      },
    },
    { supportsMultipleEditorsPerDocument: true },
  );
}
