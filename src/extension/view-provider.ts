/**
 * The `kms-envelope:` file system as VS Code sees it from activation: every call goes to the
 * decrypted view of the commands bundle, loaded by the first call (a restored tab, a command).
 */
import vscode = require('vscode');
import type { DecryptedFs } from './decrypted-fs';

export class ViewProvider implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.emitter.event;

  constructor(private readonly view: () => DecryptedFs) {}

  /** Passes on the view's change events (called once the view exists). */
  follow(view: DecryptedFs): vscode.Disposable {
    return view.onDidChangeFile((e) => this.emitter.fire(e));
  }

  watch(uri: vscode.Uri): vscode.Disposable {
    return this.view().watch(uri);
  }
  stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    return this.view().stat(uri);
  }
  readFile(uri: vscode.Uri): Promise<Uint8Array> {
    return this.view().readFile(uri);
  }
  writeFile(uri: vscode.Uri, content: Uint8Array, options: { create: boolean; overwrite: boolean }): Promise<void> {
    return this.view().writeFile(uri, content, options);
  }
  readDirectory(): [string, vscode.FileType][] {
    return this.view().readDirectory();
  }
  createDirectory(): void {
    this.view().createDirectory();
  }
  delete(): void {
    this.view().delete();
  }
  rename(): void {
    this.view().rename();
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
