/**
 * Marks that tell ciphertext from plaintext at a glance: an `E` badge on encrypted files (in the
 * explorer, tabs and Source Control), with a tooltip naming the store and the keys, and a green
 * `D` on the decrypted view. Letters, as git's own decorations use: an emoji badge shows as an
 * empty box where no emoji font is installed. VS Code asks for the files it draws, and only
 * those are read (EncryptedFiles, a few at a time).
 */
import vscode = require('vscode');
import type { EncryptedFacts } from '../core/classify';
import { fileOf, SCHEME } from './view-uri';
import type { EncryptedFiles } from './encrypted-files';

export const DECRYPTED_BADGE = 'D';
export const ENCRYPTED_BADGE = 'E';
export const DECRYPTED_TOOLTIP = 'Decrypted by KMS Envelope, in memory only: saving encrypts it again';
/** A file with encrypted selections opens read-only: its secrets are spans the view cannot tell from the rest. */
export const DECRYPTED_TEXT_TOOLTIP = 'Decrypted by KMS Envelope, in memory only, read-only: to change a value, put the cursor on it in the file (Open Encrypted) and run Edit Encrypted Value';

const STORES: Record<string, string> = { dotenv: 'each value', text: 'encrypted selections', file: 'the whole file' };
export const encryptedTooltip = (facts: EncryptedFacts): string =>
  facts.store === 'sops'
    ? `Encrypted with SOPS${facts.keys.length ? `, for ${facts.keys.join(', ')}` : ''}: Open Decrypted to read it (KMS Envelope reads its AWS KMS keys)`
    : `Encrypted with KMS Envelope (${STORES[facts.store] ?? facts.store}${facts.keys.length ? `, for ${facts.keys.join(', ')}` : ''}): Open Decrypted to read it`;

export class Decorations implements vscode.FileDecorationProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.Uri | vscode.Uri[] | undefined>();
  readonly onDidChangeFileDecorations = this.emitter.event;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly encrypted: EncryptedFiles) {
    this.subscription = encrypted.onDidChange((uris) => this.emitter.fire(uris));
  }

  async provideFileDecoration(uri: vscode.Uri): Promise<vscode.FileDecoration | undefined> {
    if (uri.scheme === SCHEME) {
      const file = fileOf(uri);
      const store = file ? (await this.encrypted.classify(vscode.Uri.file(file)))?.store : undefined;
      return { badge: DECRYPTED_BADGE, tooltip: store === 'text' ? DECRYPTED_TEXT_TOOLTIP : DECRYPTED_TOOLTIP, color: new vscode.ThemeColor('charts.green') };
    }
    const facts = uri.scheme === 'file' ? await this.encrypted.classify(uri) : undefined;
    return facts ? { badge: ENCRYPTED_BADGE, tooltip: encryptedTooltip(facts) } : undefined;
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
