/**
 * The git commands (loaded with the other commands, on first use): *Set Up Git Integration*
 * (the CLI's `git setup`, for the repository of a file or folder) and *Compare with
 * HEAD (Decrypted)* (HEAD against the decrypted view).
 */
import path = require('node:path');
import vscode = require('vscode');
import { repoRoot } from '../../core/git/git';
import { setupGit } from '../../core/git/setup';
import { shellQuote } from '../../core/git/patterns';
import { accessChange } from '../../core/git/textconv';
import { MAX_HEADER_BYTES, parseHeader } from '../../core/header';
import { readHead } from '../../core/io';
import { isKeyArn } from '../../core/kms/allow-list';
import type { DecryptedFs } from '../decrypted-fs';
import type { Keys } from '../keys';
import { withProgress } from '../progress';
import { openTextDiff, reported } from '../ui';
import { commandTarget, toView } from '../view-uri';
import { ensureLauncher } from './driver-command';
import { gitApi } from './git-extension';
import { HeadVersions, toHead } from './head-version';

export interface GitCommandDeps {
  readonly context: vscode.ExtensionContext;
  readonly keys: Keys;
  readonly view: DecryptedFs;
  readonly log: vscode.LogOutputChannel;
}

export function createGitCommands(d: GitCommandDeps): { handlers: Record<string, (arg: unknown) => Promise<void>>; head: HeadVersions } {
  const gitPath = async () => (await gitApi())?.git.path;
  const head = new HeadVersions(() => d.keys.service(), gitPath);
  const command = (action: string, fn: (arg: unknown) => Promise<void>) => reported(d.log, action, fn);

  /** The words git needs after the launcher: the user's profile, region and allow-list. */
  const settingFlags = async (): Promise<string[]> => {
    const s = d.keys.settings();
    const flags: string[] = [];
    if (s.profile) flags.push('--profile', shellQuote(s.profile));
    if (s.region) flags.push('--region', shellQuote(s.region));
    let allowed = s.allowedKeys;
    if (!allowed.length && s.chosenKeys.length) {
      const arns = await Promise.all(s.chosenKeys.map((k) => (isKeyArn(k) ? k : d.keys.service().resolve(k).catch(() => undefined))));
      allowed = [...new Set(arns.filter((a): a is string => !!a))];
    }
    if (allowed.length) flags.push('--allowed-keys', shellQuote(allowed.join(',')));
    return flags;
  };

  const setUpGit = command('Set Up Git Integration', async (arg) => {
    const at = commandTarget(arg) ?? vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri;
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

  const openChanges = command('Compare with HEAD (Decrypted)', async (arg) => {
    const file = commandTarget(arg);
    if (!file) throw new Error('no file: open an encrypted file, or pick one in Source Control');
    d.view.allow(file.path);
    head.allow(file.path);
    await d.view.readFile(toView(file)); // errors surface here, with their hints
    head.headers.delete(file.path);
    await openTextDiff(toHead(file), toView(file), `${path.basename(file.path)} (HEAD ↔ Decrypted)`);
    // who can read it, before and now: a key added or removed, or a rotation, has no line in the text
    const name = vscode.workspace.asRelativePath(file);
    const now = parseHeader(await readHead(file.fsPath, MAX_HEADER_BYTES).catch(() => ''))?.header;
    const deadline = Date.now() + 5000;
    while (!head.headers.has(file.path) && !head.notInHead.has(file.path) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const before = head.headers.get(file.path);
    if (head.notInHead.has(file.path)) void vscode.window.showInformationMessage(`KMS Envelope: ${name} is not in HEAD yet (a new file): the left side is empty.`);
    else if (before && now) {
      const change = accessChange(before, now);
      if (change) void vscode.window.showInformationMessage(`KMS Envelope: since HEAD, ${name}: ${change}.`);
    }
  });

  return { handlers: { 'kmsEnvelope.setUpGit': setUpGit, 'kmsEnvelope.openChangesDecrypted': openChanges }, head };
}
