/**
 * A warning when a secret file sits in git in clear: a file matching the decrypt-on-open
 * patterns (`.env`, `.env.*`, `*.env`; templates such as `.env.example` excepted) that is not
 * encrypted and is tracked or staged, as the built-in git extension reports it. Once per file per
 * session, never blocking; its action encrypts the file. The pre-commit hook is the hard stop.
 */
import { remnantsOfFile } from '../../core/damage';
import path = require('node:path');
import vscode = require('vscode');
import { isTemplate } from '../../core/git/patterns';
import { kindOf } from '../../core/kind';
import { matchesPattern } from '../settings';
import { GitApi, Repository } from './git-extension';
import { succeeds } from '../../core/succeeds';

export class PlaintextGuard implements vscode.Disposable {
  private readonly warned = new Set<string>();
  private readonly disposables: vscode.Disposable[] = [];
  /** Files warned about, for the test suites. */
  readonly warnings: string[] = [];

  constructor(
    private readonly api: GitApi,
    private readonly patterns: () => string[],
    private readonly encrypt: (file: vscode.Uri) => Thenable<unknown>,
  ) {
    const watchRepo = (repo: Repository) => this.disposables.push(repo.state.onDidChange(() => void this.checkStaged(repo)));
    api.repositories.forEach(watchRepo);
    this.disposables.push(
      api.onDidOpenRepository((repo) => {
        watchRepo(repo);
        void this.checkStaged(repo);
      }),
      vscode.workspace.onDidOpenTextDocument((doc) => void this.checkOpened(doc.uri)),
    );
    api.repositories.forEach((repo) => void this.checkStaged(repo));
    vscode.workspace.textDocuments.forEach((doc) => void this.checkOpened(doc.uri));
  }

  private candidate(uri: vscode.Uri): boolean {
    const name = path.basename(uri.path);
    return uri.scheme === 'file' && !this.warned.has(uri.path) && matchesPattern(name, this.patterns()) && !isTemplate(name);
  }

  private async checkStaged(repo: Repository): Promise<void> {
    for (const change of repo.state.indexChanges) {
      if (this.candidate(change.uri)) await this.warnIfPlain(change.uri, 'staged');
    }
  }

  private async checkOpened(uri: vscode.Uri): Promise<void> {
    if (!this.candidate(uri)) return;
    const repo = this.api.getRepository(uri);
    if (!repo) return;
    const rel = path.relative(repo.rootUri.fsPath, uri.fsPath).split(path.sep).join('/');
    const staged = repo.state.indexChanges.some((c) => c.uri.path === uri.path);
    const tracked = staged || (await succeeds(repo.getObjectDetails('HEAD', rel)));
    if (tracked) await this.warnIfPlain(uri, staged ? 'staged' : 'tracked');
  }

  private async warnIfPlain(uri: vscode.Uri, how: 'staged' | 'tracked'): Promise<void> {
    if (this.warned.has(uri.path) || (await kindOf(uri.fsPath).catch(() => 'gone')) !== 'plain') return;
    this.warned.add(uri.path);
    this.warnings.push(uri.path);
    const name = vscode.workspace.asRelativePath(uri);
    // a file that lost its header is damaged, not plain: encrypting it again would wrap its tokens
    const remnants = await remnantsOfFile(uri.fsPath);
    if (remnants) {
      void vscode.window.showErrorMessage(`KMS Envelope: ${name} is damaged: it holds ${remnants} but no valid kms-envelope header. Restore the header or the file from version control (git checkout -- ${name}); do not encrypt it again.`);
      return;
    }
    const pick = await vscode.window.showWarningMessage(
      `KMS Envelope: ${name} is ${how === 'staged' ? 'staged for commit' : 'tracked by git'} in clear. Encrypt it before it is committed${how === 'tracked' ? ' again' : ''}.`,
      'Encrypt File',
    );
    if (pick === 'Encrypt File') await this.encrypt(uri);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}
