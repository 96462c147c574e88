/**
 * Which workspace files are encrypted, known lazily: a file is classified when VS Code asks for
 * its decoration (the explorer, a tab or Source Control draws it) or a command needs it, at most
 * 32 files read at once, and the verdict is kept until the file watcher says the file changed.
 * No up-front scan, no file count cap. The encrypted ones are published as the context key
 * `kmsEnvelope.encryptedFiles`, so that the menus of any file the user can see or right-click
 * fit it; a command re-checks its file on the spot, so a menu is never wrong in effect.
 */
import vscode = require('vscode');
import { Classifier, EncryptedFacts, sniffFile } from '../core/classify';

const SKIPPED = ['node_modules', '.git', '.cache', 'dist', 'out'];
/**
 * Dependencies and build output, by the path *inside* the workspace folder: a workspace that
 * itself lives under a folder named `out` or `.cache` is seen like any other.
 */
export const skipped = (uri: vscode.Uri): boolean => {
  const rel = vscode.workspace.asRelativePath(uri, false);
  return rel === uri.fsPath || rel.split('/').slice(0, -1).some((part) => SKIPPED.includes(part));
};

export class EncryptedFiles implements vscode.Disposable {
  private readonly classifier = new Classifier<EncryptedFacts>({ sniff: sniffFile });
  private readonly encrypted = new Set<string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri[]>();
  /** Files whose verdict changed after they were first seen (decorations are drawn again). */
  readonly onDidChange = this.changed.event;
  private readonly watcher = vscode.workspace.createFileSystemWatcher('**/*');
  private publishTimer?: NodeJS.Timeout;

  constructor() {
    // a file already seen is read again when it changes; one never seen waits until it is shown
    const changed = (u: vscode.Uri) => {
      if (this.classifier.known(u.fsPath) === undefined && !this.encrypted.has(u.path)) return;
      this.classifier.forget(u.fsPath);
      void this.classify(u);
    };
    this.watcher.onDidCreate(changed);
    this.watcher.onDidChange(changed);
    this.watcher.onDidDelete((u) => {
      this.classifier.forget(u.fsPath);
      this.set(u, false);
    });
  }

  /** Files classified so far. */
  get classified(): number {
    return this.classifier.size;
  }

  /** Whether the file is known to be encrypted (without reading it). */
  has(uri: vscode.Uri): boolean {
    return this.encrypted.has(uri.path);
  }

  /** The facts of a file (cached): its store and key labels when encrypted, null when plain, undefined when unreadable. */
  async classify(uri: vscode.Uri): Promise<EncryptedFacts | null | undefined> {
    if (uri.scheme !== 'file' || skipped(uri)) return null;
    const facts = await this.classifier.classify(uri.fsPath);
    if (facts !== undefined) this.set(uri, facts !== null);
    return facts;
  }

  /** Reads the file again (a command is about to act on it). */
  async check(uri: vscode.Uri): Promise<boolean> {
    return !!(await this.recheck(uri));
  }

  /** The facts of a file, read again. */
  async recheck(uri: vscode.Uri): Promise<EncryptedFacts | null | undefined> {
    if (uri.scheme !== 'file') return null;
    this.classifier.forget(uri.fsPath);
    return this.classify(uri);
  }

  private set(uri: vscode.Uri, encrypted: boolean): void {
    if (this.encrypted.has(uri.path) === encrypted) return;
    if (encrypted) this.encrypted.add(uri.path);
    else this.encrypted.delete(uri.path);
    this.changed.fire([uri]);
    clearTimeout(this.publishTimer);
    this.publishTimer = setTimeout(() => this.publish(), 50);
  }

  private publish(): void {
    void vscode.commands.executeCommand('setContext', 'kmsEnvelope.encryptedFiles', [...this.encrypted]);
  }

  dispose(): void {
    clearTimeout(this.publishTimer);
    this.watcher.dispose();
    this.changed.dispose();
  }
}
