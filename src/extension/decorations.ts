/**
 * Marks that tell ciphertext from plaintext at a glance: an `E` badge on encrypted files (in the
 * explorer, tabs and Source Control) and a green `D` on the decrypted view, with tooltips that
 * say which is which. Letters, as git's own decorations use: an emoji badge shows as an empty box
 * where no emoji font is installed. Computed from what EncryptedFiles already knows: no file is
 * read here.
 */
import * as vscode from 'vscode';
import { SCHEME } from './decrypted-fs';
import type { EncryptedFiles } from './encrypted-files';

export const DECRYPTED_BADGE = 'D';
export const ENCRYPTED_BADGE = 'E';
export const DECRYPTED_TOOLTIP = 'Decrypted by KMS Envelope, in memory only: saving encrypts it again';
export const ENCRYPTED_TOOLTIP = 'Encrypted with KMS Envelope (what is on disk): Open Decrypted to read it';

export class Decorations implements vscode.FileDecorationProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.Uri | vscode.Uri[] | undefined>();
  readonly onDidChangeFileDecorations = this.emitter.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly encrypted: EncryptedFiles) {
    this.subscription = encrypted.onDidChange((uris) => this.emitter.fire(uris));
  }

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme === SCHEME) return { badge: DECRYPTED_BADGE, tooltip: DECRYPTED_TOOLTIP, color: new vscode.ThemeColor('charts.green') };
    if (uri.scheme === 'file' && this.encrypted.has(uri)) return { badge: ENCRYPTED_BADGE, tooltip: ENCRYPTED_TOOLTIP };
    return undefined;
  }

  dispose(): void {
    this.subscription.dispose();
    this.emitter.dispose();
  }
}

export function registerDecorations(encrypted: EncryptedFiles): { provider: Decorations; disposables: vscode.Disposable[] } {
  const provider = new Decorations(encrypted);
  return { provider, disposables: [provider, vscode.window.registerFileDecorationProvider(provider)] };
}
