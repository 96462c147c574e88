/**
 * Git in the editor: *Set Up Git Integration* (the CLI's `git setup`, run for the repository
 * of a file or folder), *Open Changes (Decrypted)* (HEAD against the decrypted view), and the
 * warning about secrets tracked or staged in clear.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { repoRoot } from '../../core/git/git';
import { setupGit, shellQuote } from '../../core/git/setup';
import { accountPattern, isKeyArn } from '../../core/kms/allow-list';
import { DecryptedFs, SCHEME, toFile, toView } from '../decrypted-fs';
import type { Keys } from '../keys';
import { openTextDiff, reportError, withProgress } from '../ui';
import { ensureLauncher, refreshLauncher } from './driver-command';
import { gitApi } from './git-extension';
import { HEAD_SCHEME, HeadVersions, toHead } from './head-version';
import { PlaintextGuard } from './plaintext-guard';

export interface GitDeps {
  readonly context: vscode.ExtensionContext;
  readonly keys: Keys;
  readonly view: DecryptedFs;
  readonly log: vscode.LogOutputChannel;
}

export interface GitFeatures {
  readonly disposables: vscode.Disposable[];
  /** Files the plaintext guard warned about (for the test suites). */
  readonly guardWarnings: () => string[];
}

/** The file a git command is about: an explorer or editor URI, a Source Control row, or the active editor's file. */
function fileOf(arg: unknown): vscode.Uri | undefined {
  const uri = arg instanceof vscode.Uri ? arg : (arg as { resourceUri?: unknown })?.resourceUri instanceof vscode.Uri ? (arg as { resourceUri: vscode.Uri }).resourceUri : vscode.window.activeTextEditor?.document.uri;
  if (!uri) return undefined;
  return uri.scheme === SCHEME ? toFile(uri) : uri.scheme === 'file' ? uri : undefined;
}

export function registerGit(d: GitDeps): GitFeatures {
  const gitPath = async () => (await gitApi())?.git.path;
  const head = new HeadVersions(() => d.keys.service(), gitPath);
  let guard: PlaintextGuard | undefined;
  const command = (action: string, fn: (arg: unknown) => Promise<void>) => async (arg: unknown) => {
    try {
      await fn(arg);
    } catch (err) {
      await reportError(err, d.log, action, () => fn(arg));
    }
  };

  /** The words git needs after the launcher: the user's profile, region and allow-list. */
  const settingFlags = async (): Promise<string[]> => {
    const s = d.keys.settings();
    const flags: string[] = [];
    if (s.profile) flags.push('--profile', shellQuote(s.profile));
    if (s.region) flags.push('--region', shellQuote(s.region));
    let allowed = s.allowedKeys;
    if (!allowed.length && s.chosenKeys.length) {
      const arns = await Promise.all(s.chosenKeys.map((k) => (isKeyArn(k) ? k : d.keys.service().resolve(k).catch(() => undefined))));
      allowed = [...new Set(arns.map((a) => a && accountPattern(a)).filter((p): p is string => !!p))];
    }
    if (allowed.length) flags.push('--allowed-keys', shellQuote(allowed.join(',')));
    return flags;
  };

  const setUpGit = command('Set Up Git Integration', async (arg) => {
    const at = fileOf(arg) ?? vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri;
    if (!at) throw new Error('open a folder that is a git repository first');
    const stat = await vscode.workspace.fs.stat(at);
    const cwd = stat.type === vscode.FileType.Directory ? at.fsPath : path.dirname(at.fsPath);
    const git = await gitPath();
    const root = await repoRoot({ cwd, git });
    const launcher = await ensureLauncher(d.context);
    const done = await withProgress('Setting up git for encrypted files', async () => setupGit({ cwd: root, git, command: [launcher, ...(await settingFlags())].join(' ') }));
    for (const line of done) d.log.info(`git setup in ${root}: ${line}`);
    const name = path.basename(root);
    void vscode.window.showInformationMessage(
      done.length
        ? `KMS Envelope: git is set up in ${name}: decrypted diffs, merges by variable, and a pre-commit check. Commit the new .gitattributes so that everyone's git uses them.`
        : `KMS Envelope: git was already set up in ${name}; nothing changed.`,
    );
  });

  const openChanges = command('Open Changes (Decrypted)', async (arg) => {
    const file = fileOf(arg);
    if (!file) throw new Error('no file: open an encrypted file, or pick one in Source Control');
    d.view.allow(file.path);
    head.allow(file.path);
    await d.view.readFile(toView(file)); // errors surface here, with their hints
    await openTextDiff(toHead(file), toView(file), `${path.basename(file.path)} (HEAD ↔ Decrypted)`);
  });

  void gitApi().then((api) => {
    if (!api) return;
    guard = new PlaintextGuard(api, () => d.keys.settings().decryptOnOpenPatterns, (file) => vscode.commands.executeCommand('kmsEnvelope.encryptFile', file));
  });
  // a launcher written by an older version of the extension points at its old folder
  setTimeout(() => void refreshLauncher(d.context).catch((err) => d.log.warn(`git launcher: ${String(err)}`)), 2000);

  return {
    disposables: [
      vscode.workspace.registerTextDocumentContentProvider(HEAD_SCHEME, head),
      vscode.commands.registerCommand('kmsEnvelope.setUpGit', setUpGit),
      vscode.commands.registerCommand('kmsEnvelope.openChangesDecrypted', openChanges),
      { dispose: () => guard?.dispose() },
    ],
    guardWarnings: () => [...(guard?.warnings ?? [])],
  };
}
