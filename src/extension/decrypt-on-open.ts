/**
 * Decrypt-on-open: when a `.env` (by the patterns setting) that carries a kms-envelope header,
 * or any file encrypted whole, opens in a tab of a trusted workspace, the tab is replaced by the
 * decrypted view in the same group and position. KMS is never called in an untrusted workspace
 * without a command.
 */
import path = require('node:path');
import vscode = require('vscode');
import { kindOf } from '../core/kind';
import { fileOf, toView } from './view-uri';
import { matchesPattern } from './settings';
import { OPENER_VIEW_TYPE } from './opener';

export class DecryptOnOpen implements vscode.Disposable {
  private readonly subscription: vscode.Disposable;
  /** Files the user asked to see as ciphertext (Open Encrypted), until their tab closes. */
  private readonly showCiphertext = new Set<string>();
  /**
   * Files whose decryption failed (and was reported), and whether the user has since been on
   * another tab: the file is tried again when its tab becomes active again after that.
   */
  private readonly failed = new Map<string, boolean>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly enabled: () => { on: boolean; patterns: string[]; wholeFiles: boolean },
    private readonly openView: (file: vscode.Uri) => Promise<boolean>,
  ) {
    this.subscription = vscode.window.tabGroups.onDidChangeTabs((e) => {
      const active = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      const activePath = active instanceof vscode.TabInputText ? fileOf(active.uri) : undefined;
      for (const [file, left] of this.failed) if (!left && activePath !== undefined && activePath !== file) this.failed.set(file, true);
      for (const tab of [...e.opened, ...e.changed]) void this.consider(tab);
      // A mark belongs to the file's ciphertext tabs: it goes with the last of them (closing the
      // decrypted view beside one left it unmarked, and its next change replaced it, edits and all)
      const texts = new Set(vscode.window.tabGroups.all.flatMap((g) => g.tabs).flatMap((t) => (t.input instanceof vscode.TabInputText && t.input.uri.scheme === 'file' ? [t.input.uri.path] : [])));
      for (const tab of e.closed) {
        if (!(tab.input instanceof vscode.TabInputText) || tab.input.uri.scheme !== 'file' || texts.has(tab.input.uri.path)) continue;
        this.showCiphertext.delete(tab.input.uri.path);
        this.failed.delete(tab.input.uri.path);
      }
    });
  }

  /**
   * Considers every open tab (when the extension starts, or the workspace becomes trusted), or
   * only those of `file` (just encrypted); resolves when each has been replaced by its view, or
   * left (a failure is reported by the opener, and one tab's does not stop the others).
   */
  async sweep(file?: vscode.Uri): Promise<void> {
    const tabs = vscode.window.tabGroups.all.flatMap((group) => group.tabs);
    const mine = file ? tabs.filter((t) => t.input instanceof vscode.TabInputText && t.input.uri.toString() === file.toString()) : tabs;
    await Promise.allSettled(mine.map((tab) => this.consider(tab)));
  }

  keepCiphertext(file: vscode.Uri): void {
    this.showCiphertext.add(file.path);
  }

  /** Decryption failed and was reported: retried when the user comes back to the file. */
  markFailed(file: vscode.Uri): void {
    this.failed.set(file.path, false);
  }

  /**
   * Shows the decrypted view of `file` in `column`, in place of the file's other tabs there: its
   * ciphertext (a failed attempt's, or the tab being replaced) and the opener's placeholder.
   * Whoever opens the view (decrypt-on-open, the opener, Retry), a column never ends with the
   * view beside the ciphertext it replaced. Kept: ciphertext the user asked for (Open
   * Encrypted), and tabs with unsaved edits (closing them would ask to save, or lose them).
   */
  async showView(file: vscode.Uri, column: vscode.ViewColumn | undefined, options: { preview?: boolean; preserveFocus?: boolean } = {}): Promise<void> {
    await vscode.window.showTextDocument(toView(file), { viewColumn: column, preview: false, ...options });
    // Tab objects are snapshots: the group's tabs are looked up after the view opened. No column,
    // or a relative one (Active, Beside): the view opened focused, in the active group.
    const group = column === undefined || column < 0 ? vscode.window.tabGroups.activeTabGroup : vscode.window.tabGroups.all.find((g) => g.viewColumn === column);
    const same = (uri: vscode.Uri) => uri.toString() === file.toString();
    const stale = (group?.tabs ?? []).filter((t) =>
      t.input instanceof vscode.TabInputText
        ? same(t.input.uri) && !t.isDirty && !this.showCiphertext.has(file.path)
        : t.input instanceof vscode.TabInputCustom && t.input.viewType === OPENER_VIEW_TYPE && same(t.input.uri),
    );
    if (stale.length) await vscode.window.tabGroups.close(stale, true);
  }

  private async consider(tab: vscode.Tab): Promise<void> {
    if (!(tab.input instanceof vscode.TabInputText)) return;
    const uri = tab.input.uri;
    const file = fileOf(uri);
    if (file !== undefined && this.failed.has(file)) {
      // coming back to the file (its tab active again after another one was) tries again; the
      // tab events of the failure itself (the ciphertext tab it leaves) do not
      if (!this.failed.get(file) || !tab.isActive) return;
      this.failed.delete(file);
    }
    const { on, patterns, wholeFiles } = this.enabled();
    // a tab with unsaved edits is never replaced: closing it would ask to save them, or lose them
    if (uri.scheme !== 'file' || tab.isDirty || !on || !vscode.workspace.isTrusted) return;
    if (this.showCiphertext.has(uri.path) || this.busy.has(uri.path)) return;
    const dotenv = matchesPattern(path.basename(uri.path), patterns);
    this.busy.add(uri.path); // before any await: tab events come in bursts
    try {
      // any file may be a SOPS file (sops reads every other name as binary): its metadata says so
      const kind = await kindOf(uri.fsPath).catch(() => 'plain');
      if ((dotenv && kind === 'dotenv') || (wholeFiles && kind === 'file') || kind === 'sops') await this.replace(tab, uri);
    } finally {
      this.busy.delete(uri.path);
    }
  }

  private async replace(tab: vscode.Tab, uri: vscode.Uri): Promise<void> {
    const index = tab.group.tabs.indexOf(tab);
    if (!(await this.openView(uri))) return; // reported and marked failed: tried again when the user comes back to it
    await this.showView(uri, tab.group.viewColumn, { preview: tab.isPreview, preserveFocus: !tab.isActive });
    if (index >= 0 && tab.isActive) await vscode.commands.executeCommand('moveActiveEditor', { to: 'position', by: 'tab', value: index + 1 });
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
