/**
 * Activation: cheap by design. This bundle registers what VS Code must know from the start
 * (commands, the `kms-envelope:` file system, decorations, the `.env` opener, listeners) and
 * reads no more than the first bytes of the files it is asked about. The commands and the
 * decrypted view are in their own bundle (engine.ts), required on first use; the AWS SDK in a
 * worker thread (keys.ts), started on the first KMS call.
 */
import path = require('node:path');
import vscode = require('vscode');
import { COMMAND_IDS } from './command-ids';
import type * as EngineModule from './engine';
import { ViewProvider } from './view-provider';
import { fileOf, SCHEME, toView } from './view-uri';
import { DecryptOnOpen } from './decrypt-on-open';
import { registerDecorations } from './decorations';
import { registerOpener } from './opener';
import { EncryptedFiles } from './encrypted-files';
import { registerGit } from './git';
import { registerDebug, resolveLaunch } from './debug';
import { registerTasks } from './tasks';
import { registerTerminals } from './terminals';
import { Keys } from './keys';
import { KeySetting, SECTION } from './settings';
import { lastReportedError, reportError, StatusBar } from './ui';
import { registerSaveAfterPause } from './save-after-pause';
import { damagedError } from '../core/damage';
import { registerLocalHistory } from './history';
import { requireBundle } from './bundles';

/** A decrypted view saves itself this long after the user stops typing, before VS Code's ~1 s backup of unsaved text. */

export interface Api {
  /** For the test suites: how many KMS calls this window made, and the open views. */
  readonly kmsCalls: () => number;
  readonly openViews: () => number;
  readonly loadedSdk: () => boolean;
  readonly lastError: () => { code?: string; message: string } | undefined;
  /** The key new encryptions use, and where it came from. */
  readonly key: () => KeySetting | undefined;
  /** The AWS profile in force (undefined: the SDK's default credential chain). */
  readonly profile: () => string | undefined;
  /** Whether the menus take a file for encrypted (the context key), from what was classified so far. */
  readonly isEncrypted: (file: vscode.Uri) => boolean;
  /** The mark a file or view carries in tabs and the explorer. */
  readonly decoration: (uri: vscode.Uri) => Promise<vscode.FileDecoration | undefined>;
  /** How many files were read to classify them so far (lazily: those VS Code drew, and those commands used). */
  readonly classifiedFiles: () => number;
  /** Files the git guard warned about (tracked or staged in clear). */
  readonly guardWarnings: () => string[];
  /** What the debug configuration provider makes of a configuration (undefined: the launch is stopped). */
  readonly resolveLaunch: (config: vscode.DebugConfiguration) => Promise<vscode.DebugConfiguration | undefined>;
  /** The variables new terminals get from kmsEnvelope.terminal.envFile now (names only). */
  readonly terminalEnv: () => string[];
}

export function activate(context: vscode.ExtensionContext): Api {
  const log = vscode.window.createOutputChannel('KMS Envelope', { log: true });
  /** The commands bundle, required once (on the first command, view or KMS call). */
  let engineModule: typeof EngineModule | undefined;
  const engineBundle = (): typeof EngineModule => (engineModule ??= requireBundle('extension-engine') as typeof EngineModule);
  const keys = new Keys(context.workspaceState, context.globalState, log, () => engineBundle().kms);
  const encrypted = new EncryptedFiles();
  const status = new StatusBar();

  const refreshStatus = (): void => {
    const s = keys.settings();
    status.update({ profile: s.profile, key: s.key, unlocked: keys.cachedKeys + (engine?.view.openViews ?? 0) > 0 });
  };

  /** The commands bundle, with the decrypted view: required and set up on first use. */
  let engine: EngineModule.Engine | undefined;
  const provider = new ViewProvider(() => load().view);
  const load = (): EngineModule.Engine => {
    if (!engine) {
      const started = Date.now();
      const mod = engineBundle();
      engine = mod.createEngine({ context, keys, encrypted, decryptOnOpen, state: context.workspaceState, global: context.globalState, log, refreshStatus });
      context.subscriptions.push(...engine.disposables, provider.follow(engine.view));
      log.info(`loaded the commands in ${Date.now() - started} ms`);
    }
    return engine;
  };
  const view = () => load().view;

  /**
   * Decrypts `file` for its view; false when that failed, which is reported (its Retry opens the
   * view in place of the failed attempt's tab) and marked, so that decrypt-on-open leaves the
   * file's ciphertext tab alone until the user comes back to it. One attempt per file at a time:
   * one click can reach here twice (the opener's placeholder, decrypt-on-open on the activated
   * ciphertext tab), and two attempts meant two reports, or a late success opening a second tab.
   */
  const attempts = new Map<string, Promise<boolean>>();
  const openView = (file: vscode.Uri): Promise<boolean> => {
    const key = file.toString();
    let attempt = attempts.get(key);
    if (!attempt) {
      attempt = decryptForView(file).finally(() => attempts.delete(key));
      attempts.set(key, attempt);
    }
    return attempt;
  };
  const decryptForView = async (file: vscode.Uri): Promise<boolean> => {
    view().allow(file.path); // the user opened this file's tab
    try {
      await view().readFile(toView(file));
      return true;
    } catch (err) {
      decryptOnOpen.markFailed(file);
      await reportError(err, log, `Opening ${path.basename(file.path)} decrypted`, async () => {
        const failedTab = (t: vscode.Tab) => (t.input instanceof vscode.TabInputText || t.input instanceof vscode.TabInputCustom) && t.input.uri.toString() === file.toString();
        const group = vscode.window.tabGroups.all.flatMap((g) => g.tabs).find(failedTab)?.group.viewColumn;
        view().allow(file.path);
        await view().readFile(toView(file));
        await decryptOnOpen.showView(file, group);
      });
      return false;
    } finally {
      refreshStatus();
    }
  };
  const decryptOnOpen = new DecryptOnOpen(() => {
    const s = keys.settings();
    return { on: s.decryptOnOpen, patterns: s.decryptOnOpenPatterns, wholeFiles: s.decryptWholeFiles };
  }, openView);

  const decorations = registerDecorations(encrypted);
  const git = registerGit({ context, log, patterns: () => keys.settings().decryptOnOpenPatterns, head: () => load().head });
  const values = () => load().values;
  const terminals = registerTerminals({ context, log, keys, values });
  context.subscriptions.push(
    log,
    keys,
    provider,
    encrypted,
    status,
    decryptOnOpen,
    ...decorations.disposables,
    ...git.disposables,
    registerDebug({ log, values, state: context.workspaceState }),
    registerTasks({ log, process: (def, name, folder) => load().taskProcess(def, name, folder) }),
    ...terminals.disposables,
    registerOpener({
      enabled: () => {
        const s = keys.settings();
        return { on: s.decryptOnOpen, patterns: s.decryptOnOpenPatterns };
      },
      openView,
      openChanges: (file) => vscode.commands.executeCommand('kmsEnvelope.openChangesDecrypted', file),
      showView: (file, column) => decryptOnOpen.showView(file, column),
      damaged: (file, remnants) => void reportError(damagedError(vscode.workspace.asRelativePath(file), remnants), log, `Opening ${path.basename(file.path)}`),
    }),
    vscode.workspace.registerFileSystemProvider(SCHEME, provider, { isCaseSensitive: true }),
    ...COMMAND_IDS.map((id) => vscode.commands.registerCommand(id, (...args: unknown[]) => load().handlers[id](...args))),
    keys.onDidChange(refreshStatus),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SECTION)) {
        keys.reset();
        refreshStatus();
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => decryptOnOpen.sweep()),
    registerSaveAfterPause(() => engine?.view, log),
    registerLocalHistory(context, log),
    // A view's data key and plaintext are wiped as soon as no tab shows it (VS Code keeps
    // closed documents around for a while, so onDidCloseTextDocument comes late).
    vscode.window.tabGroups.onDidChangeTabs((e) => {
      const viewed = (t: vscode.Tab) => (t.input instanceof vscode.TabInputText && t.input.uri.scheme === SCHEME ? fileOf(t.input.uri) : undefined);
      const shown = new Set(vscode.window.tabGroups.all.flatMap((g) => g.tabs).map(viewed));
      for (const file of e.closed.map(viewed)) {
        if (file && !shown.has(file)) engine?.view.forget(file);
      }
      refreshStatus();
    }),
    vscode.workspace.onDidCloseTextDocument((doc) => {
      const file = doc.uri.scheme === SCHEME ? fileOf(doc.uri) : undefined;
      if (file) {
        engine?.view.forget(file);
        refreshStatus();
      }
    }),
  );

  refreshStatus();
  decryptOnOpen.sweep();
  log.info(`activated (workspace ${vscode.workspace.isTrusted ? 'trusted' : 'not trusted: no decrypt-on-open'})`);

  return {
    kmsCalls: () => keys.calls,
    openViews: () => engine?.view.openViews ?? 0,
    loadedSdk: () => keys.sdkLoaded,
    lastError: lastReportedError,
    key: () => keys.settings().key,
    profile: () => keys.settings().profile,
    isEncrypted: (file) => encrypted.has(file),
    decoration: (uri) => decorations.provider.provideFileDecoration(uri),
    classifiedFiles: () => encrypted.classified,
    guardWarnings: git.guardWarnings,
    terminalEnv: terminals.names,
    resolveLaunch: (config) => resolveLaunch({ log, values, state: context.workspaceState }, config, vscode.workspace.workspaceFolders?.[0]),
  };
}

export function deactivate(): void {
  // context.subscriptions dispose the keys and views, which wipes every data key.
}
