/**
 * Which workspace files are encrypted, published as the context key
 * `kmsEnvelope.encryptedFiles` so that menus offer Encrypt or Decrypt as fits each file.
 * Only the first bytes of each file are read.
 */
import * as vscode from 'vscode';
import { kindOf } from '../core/operations';

const SKIPPED = ['node_modules', '.git', '.cache', 'dist', 'out'];
const EXCLUDE = `**/{${SKIPPED.join(',')}}/**`;
/**
 * Dependencies and build output, by the path *inside* the workspace folder: a workspace that
 * itself lives under a folder named `out` or `.cache` is watched like any other.
 */
const skipped = (uri: vscode.Uri): boolean => {
  const rel = vscode.workspace.asRelativePath(uri, false);
  return rel === uri.fsPath || rel.split('/').slice(0, -1).some((part) => SKIPPED.includes(part));
};
const MAX_FILES = 5000;

export class EncryptedFiles implements vscode.Disposable {
  private readonly paths = new Set<string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri[]>();
  /** Files that became encrypted or plain. */
  readonly onDidChange = this.changed.event;
  private readonly watcher = vscode.workspace.createFileSystemWatcher('**/*');
  private publishTimer?: NodeJS.Timeout;

  constructor() {
    // build output and dependencies churn: not worth a read per change
    this.watcher.onDidCreate((u) => void (skipped(u) || this.check(u)));
    this.watcher.onDidChange((u) => void (skipped(u) || this.check(u)));
    this.watcher.onDidDelete((u) => this.set(u, false));
  }

  async scan(): Promise<void> {
    const files = await vscode.workspace.findFiles('**/*', EXCLUDE, MAX_FILES);
    await Promise.all(files.map((u) => this.check(u)));
    this.publish();
  }

  has(uri: vscode.Uri): boolean {
    return this.paths.has(uri.path);
  }

  async check(uri: vscode.Uri): Promise<boolean> {
    if (uri.scheme !== 'file') return false;
    const encrypted = await kindOf(uri.fsPath).then((k) => k !== 'plain', () => false);
    this.set(uri, encrypted);
    return encrypted;
  }

  private set(uri: vscode.Uri, encrypted: boolean): void {
    const had = this.paths.has(uri.path);
    if (had === encrypted) return;
    if (encrypted) this.paths.add(uri.path);
    else this.paths.delete(uri.path);
    this.changed.fire([uri]);
    clearTimeout(this.publishTimer);
    this.publishTimer = setTimeout(() => this.publish(), 50);
  }

  private publish(): void {
    void vscode.commands.executeCommand('setContext', 'kmsEnvelope.encryptedFiles', [...this.paths]);
  }

  dispose(): void {
    clearTimeout(this.publishTimer);
    this.watcher.dispose();
    this.changed.dispose();
  }
}
