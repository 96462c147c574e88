/**
 * Git in the editor, the part that runs from activation: the warning about secrets tracked or
 * staged in clear, the `kms-envelope-head:` documents (served by the commands bundle), and the
 * git launcher kept pointing at this version. The commands are in git/commands.ts.
 */
import vscode = require('vscode');
import { refreshLauncher } from './driver-command';
import { gitApi } from './git-extension';
import { HEAD_SCHEME } from './head-scheme';
import { PlaintextGuard } from './plaintext-guard';

export interface GitDeps {
  readonly context: vscode.ExtensionContext;
  readonly log: vscode.LogOutputChannel;
  readonly patterns: () => string[];
  /** The HEAD versions' provider, from the commands bundle (loaded on first use). */
  readonly head: () => vscode.TextDocumentContentProvider;
}

export interface GitFeatures {
  readonly disposables: vscode.Disposable[];
  /** Files the plaintext guard warned about (for the test suites). */
  readonly guardWarnings: () => string[];
}

export function registerGit(d: GitDeps): GitFeatures {
  let guard: PlaintextGuard | undefined;
  void gitApi().then((api) => {
    if (api) guard = new PlaintextGuard(api, d.patterns, (file) => vscode.commands.executeCommand('kmsEnvelope.encryptFile', file));
  });
  // a launcher written by an older version of the extension points at its old folder
  const timer = setTimeout(() => void refreshLauncher(d.context).catch((err) => d.log.warn(`git launcher: ${String(err)}`)), 2000);
  return {
    disposables: [
      vscode.workspace.registerTextDocumentContentProvider(HEAD_SCHEME, { provideTextDocumentContent: (uri, token) => d.head().provideTextDocumentContent(uri, token) }),
      { dispose: () => (clearTimeout(timer), guard?.dispose()) },
    ],
    guardWarnings: () => [...(guard?.warnings ?? [])],
  };
}
