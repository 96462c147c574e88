/**
 * The HEAD version of an encrypted file, decrypted, for the left side of *Compare with
 * HEAD (Decrypted)*: a read-only document on the `kms-envelope-head` scheme, served from memory
 * (git's blob is read through `git show`, decrypted in this process, never written anywhere).
 * Like the decrypted view, it decrypts only for a command the user ran, or in a trusted workspace.
 */
import path = require('node:path');
import vscode = require('vscode');
import { KmsEnvelopeError } from '../../core/errors';
import { commentLeader, SIDECAR_SUFFIX } from '../../core/formats/comment-syntax';
import { GitError, gitBytes, repoRoot } from '../../core/git/git';
import { decryptVersion } from '../../core/git/textconv';
import type { Header } from '../../core/header';
import type { KeyService } from '../../core/kms/key-service';

export { HEAD_SCHEME, toHead } from './head-scheme';

export class HeadVersions implements vscode.TextDocumentContentProvider {
  private readonly requested = new Set<string>();
  /** The header of each HEAD version shown (its keys and data key, for the diff's title). */
  readonly headers = new Map<string, Header>();
  /** Files whose last HEAD version asked for does not exist (a new file). */
  readonly notInHead = new Set<string>();

  constructor(
    private readonly keys: () => KeyService,
    private readonly gitPath: () => Promise<string | undefined>,
  ) {}

  /** A command's explicit request to show this file's HEAD version decrypted. */
  allow(file: string): void {
    this.requested.add(file);
  }

  private mayOpen(file: string): boolean {
    if (this.requested.has(file)) return true;
    return vscode.workspace.isTrusted && vscode.workspace.getWorkspaceFolder(vscode.Uri.file(file)) !== undefined;
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const file = uri.path;
    if (!this.mayOpen(file)) throw new KmsEnvelopeError('USAGE', `${path.basename(file)}'s history is not decrypted without a command here: run KMS Envelope: Compare with HEAD (Decrypted)`);
    const opts = { cwd: path.dirname(file), git: await this.gitPath() };
    const root = await repoRoot(opts);
    const rel = path.relative(root, file).split(path.sep).join('/');
    const show = (p: string) =>
      gitBytes(['show', `HEAD:${p}`], { ...opts, cwd: root }).catch((err) => {
        if (err instanceof GitError) return undefined; // not in HEAD (a new file)
        throw err;
      });
    const bytes = await show(rel);
    this.notInHead.delete(file);
    if (!bytes) {
      this.notInHead.add(file);
      return '';
    }
    const sidecar = commentLeader(file) === null ? (await show(rel + SIDECAR_SUFFIX))?.toString('utf8') : undefined;
    const version = await decryptVersion(bytes, `${path.basename(file)} (HEAD)`, this.keys(), sidecar);
    if (version?.header) this.headers.set(file, version.header);
    return (version?.plaintext ?? bytes).toString('utf8');
  }
}
