/** The commands of the palette and the menus. Each reports its own failures (ui.reportError). */
import path = require('node:path');
import vscode = require('vscode');
import { assemble, decryptRanges, encryptRanges, hasTokens, joinSealed, openDocument, splitDocument, wipeFileKey } from '../core/envelope';
import { findTokens, TOKEN_MARK } from '../core/formats/token';
import { combineContext, MAX_HEADER_BYTES, parseHeader, prefixOf } from '../core/header';
import { trustedAgent } from '../core/agent/client';
import { refuseDamaged } from '../core/damage';
import { sealable } from '../core/retired';
import { KmsEnvelopeError } from '../core/errors';
import { commentLeader, SIDECAR_SUFFIX } from '../core/formats/comment-syntax';
import { atomicWrite, readHead, readSidecar } from '../core/io';
import { addKey, decryptFile, encryptFile, kindOf, layoutFor, newFileKey, planKeys, removeKey, rotateFile, unwrapper } from '../core/operations';
import { addSopsKey, encryptSopsFile, findCreationRule, planSopsKeys, removeSopsKey, rotateSopsFile, sopsKmsKeys } from '../core/sops';
import { accountOf, aliasOf } from '../core/kms/allow-list';
import type { KeyRef } from '../core/kms/key-service';
import { promises as fs } from 'node:fs';
import { DecryptedFs } from './decrypted-fs';
import { commandTarget as target, isViewOf, SCHEME, toView } from './view-uri';
import type { DecryptOnOpen } from './decrypt-on-open';
import type { EncryptedFiles } from './encrypted-files';
import type { Keys } from './keys';
import { CONFIRMED_KEYS, DEFAULT_CHAIN, KEY_STATE, keyLabel, PROFILE_STATE, SECTION, StoredKey } from './settings';
import { withProgress } from './progress';
import { reported, reportError } from './ui';
import { pickFile as pick } from './pick-file';
import { purgeLocalHistory, rememberForLater } from './history/local-history';

export interface Deps {
  readonly keys: Keys;
  readonly view: DecryptedFs;
  readonly encrypted: EncryptedFiles;
  readonly decryptOnOpen: DecryptOnOpen;
  readonly state: vscode.Memento;
  readonly global: vscode.Memento;
  readonly log: vscode.LogOutputChannel;
  readonly refreshStatus: () => void;
  /** The extension's global storage: VS Code's Local History lives beside it (history/local-history.ts). */
  readonly globalStorage: vscode.Uri;
}

const KIND_LABEL = { sso: 'SSO', role: 'assume role', process: 'credential_process', static: 'static keys', 'web-identity': 'web identity', other: '' } as const;

/**
 * Commands that put plaintext on disk ask first; automation (tasks, tests) may pass
 * `{ confirmed: true }` as the second argument (the explorer passes an array there).
 */
const confirmedByCaller = (options: unknown): boolean =>
  typeof options === 'object' && options !== null && !Array.isArray(options) && (options as { confirmed?: unknown }).confirmed === true;

/** The key automation names in the second argument (`{ key: 'alias/ci', confirmed: true }`). */
const keyOf = (options: unknown): string | undefined =>
  typeof options === 'object' && options !== null && typeof (options as { key?: unknown }).key === 'string' ? (options as { key: string }).key : undefined;

/** The item the user accepts in a quick pick that is already shown (undefined if dismissed); disposes it. */
async function accepted<T extends vscode.QuickPickItem>(qp: vscode.QuickPick<T>): Promise<T | undefined> {
  const pick = await new Promise<T | undefined>((resolve) => {
    qp.onDidAccept(() => resolve(qp.selectedItems[0]));
    qp.onDidHide(() => resolve(undefined));
  });
  qp.dispose();
  return pick;
}

export interface Commands {
  /** Handlers by command id (`kmsEnvelope.…`); the entry bundle registers the ids. */
  readonly handlers: Record<string, (...args: unknown[]) => Promise<void>>;
  readonly disposables: vscode.Disposable[];
}

export function createCommands(d: Deps): Commands {
  /**
   * A sidecar's new content (null: remove it) after Decrypt Selection, written when the document
   * is saved, so that the file on disk and its sidecar always match; dropped if it is not.
   */
  const pendingSidecars = new Map<string, string | null>();
  const sidecarSync = [
    vscode.workspace.onDidSaveTextDocument(async (doc) => {
      const file = doc.uri.fsPath;
      if (!pendingSidecars.has(file)) return;
      const header = pendingSidecars.get(file)!;
      pendingSidecars.delete(file);
      if (header === null) await fs.unlink(file + SIDECAR_SUFFIX).catch(() => undefined);
      else await atomicWrite(file + SIDECAR_SUFFIX, header);
    }),
    vscode.workspace.onDidCloseTextDocument((doc) => pendingSidecars.delete(doc.uri.fsPath)),
  ];
  const run = (action: string, fn: (...args: unknown[]) => Promise<void>) => reported(d.log, action, fn, d.refreshStatus);
  /** A warning the user sees and the log keeps. */
  const warn = (msg: string): void => {
    d.log.warn(msg);
    void vscode.window.showWarningMessage(`KMS Envelope: ${msg}`);
  };

  /**
   * The file a command is about; without one (the walkthrough, the palette with no editor), the
   * user picks among the workspace's files of the right kind.
   */
  const need = async (uri: vscode.Uri | undefined, want: 'plain' | 'encrypted'): Promise<vscode.Uri> => {
    if (!uri) {
      const picked = await pickFile(want); // checked while listing
      if (!picked) throw new KmsEnvelopeError('USAGE', 'no file: select one in the explorer or open it in an editor');
      return picked;
    }
    // every command looks at the file itself: a menu that offered it may be stale
    void d.encrypted.check(uri);
    return uri;
  };
  const pickFile = (want: 'plain' | 'encrypted'): Promise<vscode.Uri | undefined> =>
    want === 'plain'
      ? pick(d.encrypted, { glob: '**/{.env,.env.*,*.env}', fits: (facts) => facts === null, title: 'KMS Envelope: file to encrypt', none: 'no plain .env file in this workspace: create one, then encrypt it' })
      : pick(d.encrypted, { glob: '**/*', fits: (facts) => facts !== null, title: 'KMS Envelope: file to open decrypted', none: 'no encrypted file in this workspace yet' });
  /**
   * The key new data keys are made for. A key that only the workspace's settings name (a file
   * any committer can change) is used once the user confirmed it, seeing its full ARN and account.
   */
  const describeContext = (ctx?: Record<string, string>): string =>
    ctx === undefined ? "the file's own, unchanged" : Object.entries(ctx).map(([k, v]) => `${k}=${v}`).join(', ') || 'none beyond kms-envelope=v1';
  const keyToUse = async (context?: Record<string, string>): Promise<string[]> => {
    const s = d.keys.settings();
    if (!s.key) throw new KmsEnvelopeError('CONFIG', 'no KMS key chosen', 'Run KMS Envelope: Select KMS Key.');
    if (s.keyNeedsConfirmation) {
      const arn = await withProgress('looking up the workspace\'s KMS key', () => d.keys.service().resolve(s.key!.ref));
      const account = accountOf(arn) ?? '?';
      const ok = await vscode.window.showWarningMessage(
        `This workspace's settings choose the KMS key for new encryptions: ${s.key.ref} in AWS account ${account}. Use it?`,
        { modal: true, detail: `Key ARN: ${arn}\nEncryption context: ${describeContext(context)}\n\n.vscode/settings.json is part of the repository: anyone who can commit can change it. kms-envelope remembers your answer for this key outside the repository.` },
        'Use This Key',
      );
      if (ok !== 'Use This Key') throw new KmsEnvelopeError('CONFIG', `the key suggested by the workspace (${s.key.ref}) was not confirmed`, 'Run KMS Envelope: Select KMS Key to choose your own.');
      await d.global.update(CONFIRMED_KEYS, [...(d.global.get<string[]>(CONFIRMED_KEYS) ?? []), s.key.ref]);
      d.keys.reset(); // the confirmed key joins the allow-list
      d.log.info(`confirmed the workspace's key ${arn}`);
    }
    return [s.key.ref];
  };
  const saveFirst = async (uri: vscode.Uri): Promise<void> => {
    const doc = vscode.workspace.textDocuments.find((t) => t.uri.toString() === uri.toString());
    if (doc?.isDirty && !(await doc.save())) throw new KmsEnvelopeError('USAGE', `${path.basename(uri.path)} has unsaved changes`);
  };

  /** The selection's document split into header and body, and the key that seals it (verified). */
  async function selectionContext(editor: vscode.TextEditor, create: boolean) {
    const doc = editor.document;
    if (doc.uri.scheme !== 'file') throw new KmsEnvelopeError('USAGE', 'selections are encrypted in files on disk');
    const leader = commentLeader(doc.uri.path);
    const text = doc.getText();
    const sidecar = leader ? undefined : await readSidecar(doc.uri.fsPath);
    const parsed = splitDocument(text, sidecar);
    if (parsed && parsed.header.store !== 'text') {
      throw new KmsEnvelopeError('USAGE', `this file is encrypted as a ${parsed.header.store === 'dotenv' ? '.env' : 'whole file'}`, 'Use Open Decrypted to edit it.');
    }
    if (!parsed && !create) throw new KmsEnvelopeError('NOT_ENCRYPTED', 'this file holds no encrypted text');
    // tokens of another file, or of this one after its header was lost: a new header's MAC would seal
    // what no key here opens, and the file would never open again (security review F5)
    if (!parsed && text.includes(TOKEN_MARK)) {
      throw new KmsEnvelopeError(
        'FORMAT',
        `${path.basename(doc.uri.path)} holds encrypted text (line ${doc.positionAt(text.indexOf(TOKEN_MARK)).line + 1}) but no kms-envelope header: a value pasted from another file, or a header that was lost`,
        'Nothing was encrypted. Replace the pasted token by its value (open its own file decrypted to copy it), or restore the header from version control.',
      );
    }
    if (!parsed) refuseDamaged(path.basename(doc.uri.path), text);
    const prefix = parsed ? parsed.prefix : prefixOf(text);
    const body = parsed ? parsed.body : text.slice(prefix.length);
    const above = text.length - body.length; // BOM, shebang line and header
    const ranges = editor.selections
      .filter((s) => !s.isEmpty)
      .map((s) => ({ start: doc.offsetAt(s.start) - above, end: doc.offsetAt(s.end) - above }));
    if (ranges.length === 0) throw new KmsEnvelopeError('USAGE', 'select the text first');
    if (ranges.some((r) => r.start < 0)) throw new KmsEnvelopeError('USAGE', 'the selection reaches into the kms-envelope header');
    const key = parsed
      ? (await withProgress('unlocking the file', () => openDocument(parsed, unwrapper(d.keys.service())))).key
      : await planFor(doc.uri.fsPath).then((plan) => withProgress('creating a data key', () => newFileKey(d.keys.service(), plan)));
    return { doc, leader, body, key, ranges, prefix, existing: parsed !== null, layout: parsed?.layout ?? layoutFor(body, leader ?? '#') };
  }

  /**
   * The keys for a new file: the rules file's (within the allow-list; others are reported),
   * else the user's own key.
   */
  async function planFor(file: string): Promise<{ keys: KeyRef[]; context?: Record<string, string> }> {
    const s = d.keys.settings();
    const context = combineContext(s.encryptionContext, s.workspaceContext, "this workspace's settings (kmsEnvelope.encryptionContext)");
    const plan = await planKeys(file, d.keys.service(), { keys: [], context });
    if (plan.refused.length) {
      warn(`${plan.rulesFile} names keys for ${path.basename(file)} that are not allowed, so they were not used: ${plan.refused.join(', ')}. Allow them (user setting kmsEnvelope.allowedKeys) if you trust them.`);
    }
    if (plan.rulesFile && plan.keys.length) d.log.info(`${file}: keys and context from ${plan.rulesFile}`);
    return { keys: plan.keys.length ? [...plan.keys] : await keyToUse(plan.context ?? {}), context: plan.context };
  }

  /** Encrypt File where .sops.yaml has a creation rule: a SOPS file, its keys from the rule within the allow-list. */
  async function encryptAsSops(uri: vscode.Uri): Promise<void> {
    const name = path.basename(uri.path);
    const svc = d.keys.service();
    const plan = await planSopsKeys(uri.fsPath, svc, { keys: [] });
    if (plan.refused.length) warn(`${plan.config} names keys for ${name} that are not allowed, so they were not used: ${plan.refused.join(', ')}. Allow them (user setting kmsEnvelope.allowedKeys) if you trust them.`);
    if (plan.others.length) warn(`${plan.config} also names ${plan.others.join(', ')} recipients for ${name}, which KMS Envelope cannot add: run sops updatekeys on it to add them.`);
    const keys = plan.keys.length ? [...plan.keys] : await keyToUse(plan.context ?? {});
    const store = await withProgress(`encrypting ${name} as SOPS`, () => encryptSopsFile(uri.fsPath, svc, { keys, context: plan.context, crypt: plan.crypt }));
    await d.encrypted.check(uri);
    const purged = await forgetHistory(uri);
    d.log.info(`encrypted ${uri.fsPath} as a SOPS ${store} file (rule of ${plan.config})`);
    await announceEncrypted(uri, `${name} is encrypted on disk as a SOPS file (the rule of ${path.basename(plan.config ?? '.sops.yaml')}), for ${keyNames(keys)}.${purgedNote(purged)}`);
  }

  /**
   * Says where the user looks that a file was encrypted: once its open tabs have become the
   * decrypted view (decrypt-on-open), which the toast then says, or with Open Decrypted to see it.
   */
  async function announceEncrypted(uri: vscode.Uri, what: string): Promise<void> {
    await d.decryptOnOpen.sweep(uri); // its own tabs only: the toast waits for nothing else
    const shown = vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputText && isViewOf(t.input.uri, uri)));
    void vscode.window
      .showInformationMessage(`KMS Envelope: ${what}${shown ? ' The tab shows it decrypted.' : ''}`, ...(shown ? [] : ['Open Decrypted']))
      .then((choice) => choice && vscode.commands.executeCommand('kmsEnvelope.openDecrypted', uri));
  }

  const keyNames = (keys: readonly KeyRef[]): string => keys.map((k) => (typeof k === 'string' ? k : k.alias ?? k.keyArn)).join(', ');
  const purgedNote = (purged: number): string => (purged ? ` ${purged} earlier version${purged === 1 ? '' : 's'} in clear removed from VS Code's Local History.` : '');

  /** Removes VS Code's Local History copies of a file just encrypted (its earlier saves were in clear). */
  async function forgetHistory(uri: vscode.Uri): Promise<number> {
    const purged = await purgeLocalHistory(d.globalStorage, uri).catch((err: unknown) => {
      d.log.warn(`could not clear the Local History of ${uri.fsPath}: ${String(err)}`);
      return 0;
    });
    await rememberForLater(d.global, uri);
    if (purged) d.log.info(`removed ${purged} Local History version(s) of ${uri.fsPath} (saved in clear before it was encrypted)`);
    return purged;
  }

  async function replaceDocument(doc: vscode.TextDocument, text: string): Promise<void> {
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), text);
    if (!(await vscode.workspace.applyEdit(edit))) throw new KmsEnvelopeError('USAGE', 'the editor refused the change');
  }

  const commands: Record<string, (...args: unknown[]) => Promise<void>> = {
    encryptSelection: run('Encrypt Selection', async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor) throw new KmsEnvelopeError('USAGE', 'no active editor');
      const c = await selectionContext(editor, true);
      try {
        // new plaintext under the file's data key: not for a key outside the allow-list or a rollback (core/retired.ts)
        if (c.existing) await sealable(c.doc.uri.fsPath, c.key, d.keys.service());
        const sealed = assemble('text', c.key, encryptRanges(c.body, c.ranges, c.key), c.layout, c.prefix, c.leader ? 'inline' : 'sidecar');
        if (c.leader) await replaceDocument(c.doc, joinSealed(sealed));
        else {
          await atomicWrite(c.doc.uri.fsPath + SIDECAR_SUFFIX, sealed.header);
          await replaceDocument(c.doc, sealed.body);
        }
        // The secret must not stay on disk in plaintext: save now.
        await c.doc.save();
        // select the new tokens, whole, where the selections were
        const text = c.doc.getText();
        const above = c.leader ? sealed.prefix.length + sealed.header.length : 0;
        const before = new Set(findTokens(c.body).map((t) => c.body.slice(t.start, t.end)));
        const added = findTokens(sealed.body).filter((t) => !before.has(sealed.body.slice(t.start, t.end)));
        if (editor.document === c.doc && text.slice(above) === sealed.body && added.length) {
          editor.selections = added.map((t) => new vscode.Selection(c.doc.positionAt(above + t.start), c.doc.positionAt(above + t.end)));
        }
        await d.encrypted.check(c.doc.uri);
        d.log.info(`encrypted ${c.ranges.length} selection(s) in ${c.doc.uri.fsPath}`);
        await forgetHistory(c.doc.uri);
      } finally {
        wipeFileKey(c.key);
      }
    }),

    /**
     * A file with encrypted selections (YAML, JS …) opens decrypted read-only: its secrets are
     * spans of text, which an edit in the view could not tell apart from the rest. This changes
     * one value in place without showing or typing ciphertext: the token under the cursor gets a
     * new value under the file's data key; every other token keeps its bytes.
     */
    editEncryptedValue: run('Edit Encrypted Value', async (_arg, options) => {
      const editor = vscode.window.activeTextEditor;
      if (!editor || editor.document.uri.scheme !== 'file') {
        throw new KmsEnvelopeError('USAGE', 'open the file that holds the encrypted value (not its decrypted view), and put the cursor on the value', 'Open Encrypted shows the file.');
      }
      const doc = editor.document;
      const at = doc.offsetAt(editor.selection.active);
      const token = findTokens(doc.getText()).find((t) => t.start <= at && at <= t.end);
      if (!token) throw new KmsEnvelopeError('USAGE', 'put the cursor on an encrypted value (ENC[kmsenv:…]) first');
      editor.selection = new vscode.Selection(doc.positionAt(token.start), doc.positionAt(token.end));
      const c = await selectionContext(editor, false);
      try {
        const given = typeof options === 'object' && options !== null ? (options as { value?: unknown }).value : undefined;
        const value =
          typeof given === 'string'
            ? given
            : await vscode.window.showInputBox({
                title: `KMS Envelope: a new value for the encrypted text at line ${doc.positionAt(token.start).line + 1} of ${path.basename(doc.uri.path)}`,
                prompt: 'Type or paste it: it is saved encrypted, under the file\'s data key',
                password: true,
                ignoreFocusOut: true,
              });
        if (value === undefined) return;
        if (value === '' || hasTokens(value)) throw new KmsEnvelopeError('USAGE', value === '' ? 'an empty value is not encrypted: use Decrypt Selection to remove a value' : 'the new value holds encrypted text');
        await sealable(doc.uri.fsPath, c.key, d.keys.service());
        const r = c.ranges[0];
        const body = encryptRanges(c.body.slice(0, r.start) + value + c.body.slice(r.end), [{ start: r.start, end: r.start + value.length }], c.key);
        const sealed = assemble('text', c.key, body, c.layout, c.prefix, c.leader ? 'inline' : 'sidecar');
        if (c.leader) await replaceDocument(c.doc, joinSealed(sealed));
        else {
          await atomicWrite(c.doc.uri.fsPath + SIDECAR_SUFFIX, sealed.header);
          await replaceDocument(c.doc, sealed.body);
        }
        await c.doc.save();
        d.log.info(`changed an encrypted value in ${c.doc.uri.fsPath}`);
        vscode.window.setStatusBarMessage(`$(lock) encrypted value changed in ${path.basename(doc.uri.path)}`, 4000);
      } finally {
        wipeFileKey(c.key);
      }
    }),

    decryptSelection: run('Decrypt Selection', async (_arg, options) => {
      const editor = vscode.window.activeTextEditor;
      if (!editor) throw new KmsEnvelopeError('USAGE', 'no active editor');
      const ok =
        confirmedByCaller(options) ||
        (await vscode.window.showWarningMessage(
          `Put the plaintext of the selected encrypted text back into ${path.basename(editor.document.uri.path)}?`,
          { modal: true, detail: 'It is in the file once you save, and in VS Code\'s backups while unsaved. To only read a value, use Open Decrypted.' },
          'Decrypt',
        )) === 'Decrypt';
      if (!ok) return;
      const c = await selectionContext(editor, false);
      try {
        const body = decryptRanges(c.body, c.ranges, c.key);
        if (body === c.body) throw new KmsEnvelopeError('USAGE', 'the selection holds no encrypted text');
        if (hasTokens(body)) {
          const sealed = assemble('text', c.key, body, c.layout, c.prefix, c.leader ? 'inline' : 'sidecar');
          if (c.leader) await replaceDocument(c.doc, joinSealed(sealed));
          else {
            pendingSidecars.set(c.doc.uri.fsPath, sealed.header);
            await replaceDocument(c.doc, body);
          }
        } else {
          await replaceDocument(c.doc, c.prefix + body);
          if (!c.leader) pendingSidecars.set(c.doc.uri.fsPath, null);
        }
        // Not saved: the plaintext reaches disk only if the user saves.
        d.log.info(`decrypted selection(s) in ${c.doc.uri.fsPath} (not saved)`);
      } finally {
        wipeFileKey(c.key);
      }
    }),

    encryptFile: run('Encrypt File', async (arg) => {
      const uri = await need(target(arg), 'plain');
      await saveFirst(uri);
      // a repository that keeps this file with sops (.sops.yaml has a rule for it) gets a SOPS file
      if (await findCreationRule(uri.fsPath)) return encryptAsSops(uri);
      const plan = await planFor(uri.fsPath);
      const keys = plan.keys;
      const onClearLines = (clear: number[]) =>
        warn(`${path.basename(uri.path)}: line ${clear.join(', ')} look like assignments but are not variables for dotenv (a name outside A-Z a-z 0-9 _ . -?), so their values were left in clear.`);
      const kind = await withProgress(`encrypting ${path.basename(uri.path)}`, () => encryptFile(uri.fsPath, d.keys.service(), { keys, context: plan.context, onClearLines }));
      await d.encrypted.check(uri);
      d.log.info(`encrypted ${uri.fsPath} (${kind})`);
      const purged = await forgetHistory(uri);
      await announceEncrypted(uri, `${path.basename(uri.path)} is encrypted on disk (${kind === 'dotenv' ? 'each value' : 'the whole file'}, for ${keyNames(keys)}).${purgedNote(purged)}`);
    }),

    decryptFile: run('Decrypt File', async (arg, options) => {
      const uri = await need(target(arg), 'encrypted');
      const ok = confirmedByCaller(options) ? 'Write Plaintext' : await vscode.window.showWarningMessage(
        `Decrypt ${path.basename(uri.path)} and write its plaintext to disk?`,
        { modal: true, detail: 'The secrets will be readable by anything that can read the file, and by git if it is not ignored.' },
        'Write Plaintext',
      );
      if (ok !== 'Write Plaintext') return;
      await closeViews(uri);
      await withProgress(`decrypting ${path.basename(uri.path)}`, () => decryptFile(uri.fsPath, d.keys.service(), { kind: 'in-place' }));
      await d.encrypted.check(uri);
      d.log.info(`decrypted ${uri.fsPath} to disk, after confirmation`);
    }),

    openDecrypted: run('Open Decrypted', async (arg) => {
      const uri = await need(target(arg), 'encrypted');
      d.view.allow(uri.path);
      await d.view.readFile(toView(uri)); // errors surface here, with their hints
      await vscode.window.showTextDocument(toView(uri), { preview: false });
    }),

    openEncrypted: run('Open Encrypted', async (arg) => {
      const uri = await need(target(arg), 'encrypted');
      d.decryptOnOpen.keepCiphertext(uri);
      await vscode.window.showTextDocument(uri, { preview: false });
    }),

    addKeyToFile: run('Add Key to File', async (arg, options) => {
      const uri = await need(target(arg), 'encrypted');
      await saveFirst(toView(uri));
      const name = path.basename(uri.path);
      const ref = (keyOf(options) ?? await vscode.window.showInputBox({
        title: `KMS Envelope: a key that may decrypt ${name}`,
        prompt: 'Key ARN, key id, alias/NAME or alias ARN (it must be in your allow-list)',
        ignoreFocusOut: true,
      }))?.trim();
      if (!ref) return;
      const svc = d.keys.service();
      const arn = await withProgress(`looking up ${ref}`, () => svc.resolve(ref));
      if (!(await svc.allows(arn))) throw new KmsEnvelopeError('KEY_NOT_ALLOWED', `${ref} (${arn}) is not in your allow-list`, 'Add it, or its account pattern, to the user setting kmsEnvelope.allowedKeys first.');
      const label = aliasOf(ref) ? `${aliasOf(ref)} (${arn})` : arn;
      const ok = confirmedByCaller(options) ? 'Add Key' : await vscode.window.showWarningMessage(
        `Let ${label} decrypt ${name}?`,
        { modal: true, detail: `Whoever can use this key can then read every value of ${name}, including those in its history from now on. The data key is wrapped for it inside KMS (ReEncrypt); values keep their ciphertext.` },
        'Add Key',
      );
      if (ok !== 'Add Key') return;
      await withProgress(`adding ${ref} to ${name}`, async () => ((await kindOf(uri.fsPath)) === 'sops' ? addSopsKey(uri.fsPath, svc, ref) : addKey(uri.fsPath, svc, ref)));
      d.log.info(`added ${label} to ${uri.fsPath}`);
      void vscode.window.showInformationMessage(`KMS Envelope: added ${label} to ${name}.`);
    }),

    removeKeyFromFile: run('Remove Key from File', async (arg, options) => {
      const uri = await need(target(arg), 'encrypted');
      await saveFirst(toView(uri));
      const name = path.basename(uri.path);
      const sops = (await kindOf(uri.fsPath)) === 'sops';
      const head = sops ? '' : commentLeader(uri.path) === null ? ((await readSidecar(uri.fsPath)) ?? (await readHead(uri.fsPath, MAX_HEADER_BYTES))) : await readHead(uri.fsPath, MAX_HEADER_BYTES);
      const stanzas: readonly { keyArn: string; alias?: string }[] = sops ? (await sopsKmsKeys(uri.fsPath)).map((keyArn) => ({ keyArn })) : (parseHeader(head)?.header.stanzas ?? []);
      if (stanzas.length < 2) throw new KmsEnvelopeError('USAGE', `${name} is wrapped for ${stanzas.length} key: there is none to remove`, 'A file needs one key at least; add another first.');
      const items = stanzas.map((s) => ({ label: s.alias ?? s.keyArn.replace(/^.*:key\//, 'key/'), description: s.keyArn, arn: s.keyArn }));
      const given = keyOf(options);
      const picked = given
        ? items.find((i) => i.arn === given || i.label === given)
        : await vscode.window.showQuickPick(items, { title: `KMS Envelope: the key to remove from ${name}`, ignoreFocusOut: true });
      if (given && !picked) throw new KmsEnvelopeError('USAGE', `${name} is not wrapped for ${given}`);
      if (!picked) return;
      const label = `${picked.label} (${picked.arn})`;
      const ok = confirmedByCaller(options) ? 'Remove Key' : await vscode.window.showWarningMessage(
        `Remove ${label} from ${name}?`,
        { modal: true, detail: `A new data key is made for the other allowed keys and every value is encrypted again, so the removed key cannot read what is written from now on. It can still read the versions in version control: change the secrets themselves if it leaked.` },
        'Remove Key',
      );
      if (ok !== 'Remove Key') return;
      const result = await withProgress(`removing ${picked.label} from ${name}`, async () =>
        sops ? removeSopsKey(uri.fsPath, d.keys.service(), picked.arn).then((r) => ({ refused: r.refused, stanzas: r.arns.map((keyArn) => ({ keyArn, alias: undefined as string | undefined })) })) : removeKey(uri.fsPath, d.keys.service(), picked.arn),
      );
      if (result.refused.length) warn(`the new data key of ${name} is not wrapped for ${result.refused.join(', ')} either: the file named it, but it is not allowed (user setting kmsEnvelope.allowedKeys).`);
      d.log.info(`removed ${label} from ${uri.fsPath}`);
      void vscode.window.showInformationMessage(`KMS Envelope: removed ${label} from ${name}; a new data key for ${keyNames(result.stanzas)}.`);
    }),

    rotateDataKey: run('Rotate Data Key', async (arg) => {
      const uri = await need(target(arg), 'encrypted');
      await saveFirst(toView(uri));
      const s = d.keys.settings();
      const keys = s.key ? await keyToUse() : [];
      const result = await withProgress(`rotating the data key of ${path.basename(uri.path)}`, async () =>
        (await kindOf(uri.fsPath)) === 'sops'
          ? rotateSopsFile(uri.fsPath, d.keys.service(), { keys }).then((r) => ({ refused: r.refused, stanzas: r.arns.map((keyArn) => ({ keyArn })) }))
          : rotateFile(uri.fsPath, d.keys.service(), { keys }),
      );
      if (result.refused.length) {
        const one = result.refused.length === 1;
        warn(`the new data key of ${path.basename(uri.path)} is not wrapped for ${result.refused.join(', ')}: the file named ${one ? 'it' : 'them'}, but ${one ? 'it is' : 'they are'} not allowed (user setting kmsEnvelope.allowedKeys).`);
      }
      d.log.info(`rotated the data key of ${uri.fsPath}: ${result.stanzas.map((k) => k.keyArn).join(', ')}`);
      vscode.window.setStatusBarMessage(`$(key) new data key for ${path.basename(uri.path)}`, 4000);
    }),

    selectProfile: run('Select AWS Profile', async () => {
      const profiles = await d.keys.listProfiles();
      const stored = d.state.get<string>(PROFILE_STATE);
      const fromUser = vscode.workspace.getConfiguration(SECTION).inspect<string>('profile')?.globalValue?.trim() || undefined;
      const current = d.keys.settings().profile;
      // `profile`: what to store for the workspace (undefined: no choice of its own, the user settings decide)
      type Item = vscode.QuickPickItem & { profile?: string; is: boolean };
      const mark = (is: boolean) => (is ? '  $(check) current' : '');
      const items: Item[] = [
        { label: '$(globe) Default credential chain', description: 'environment, AWS_PROFILE, default profile, SSO, metadata', profile: DEFAULT_CHAIN, is: current === undefined },
        ...(fromUser ? [{ label: `$(settings-gear) ${fromUser}, from your user settings`, description: 'kmsEnvelope.profile', profile: undefined, is: stored === undefined }] : []),
        ...profiles.map((p) => ({ label: p.name, description: KIND_LABEL[p.kind], detail: p.region ? `region ${p.region}` : undefined, profile: p.name, is: stored === p.name })),
      ].map((i) => ({ ...i, description: `${i.description}${mark(i.is)}` }));
      // the current profile is focused, so that Enter keeps it
      const qp = vscode.window.createQuickPick<Item>();
      qp.title = 'KMS Envelope: AWS profile for this workspace (stored outside the repository)';
      qp.placeholder = current ? `current: ${current}` : 'current: default credential chain';
      qp.items = items;
      qp.activeItems = [items.find((i) => i.is) ?? items[0]];
      qp.show();
      const pick = await accepted(qp);
      if (!pick) return;
      await d.state.update(PROFILE_STATE, pick.profile);
      d.keys.reset(); // new credentials: forget the data keys the old ones unwrapped
      d.log.info(`profile: ${pick.profile === DEFAULT_CHAIN ? '(default chain)' : (pick.profile ?? `${fromUser} (user settings)`)}`);
    }),

    selectKey: run('Select KMS Key', async () => {
      type Item = vscode.QuickPickItem & { key?: string };
      const current = d.keys.settings().key;
      const qp = vscode.window.createQuickPick<Item>();
      qp.title = 'KMS Envelope: KMS key for new encryptions (stored for this workspace, outside the repository)';
      qp.placeholder = `current: ${keyLabel(current)}`;
      qp.busy = true;
      const manual: Item = { label: '$(edit) Enter a key ARN or alias…', alwaysShow: true };
      const fromSettings: Item = { label: '$(discard) Use the key from settings', description: 'forget the choice made here', alwaysShow: true, key: '' };
      const extra = current?.source === 'selected' ? [manual, fromSettings] : [manual];
      qp.items = extra;
      qp.show();
      d.keys
        .listAliases()
        .then((aliases) => {
          const items = aliases.map((a) => ({
            label: a.alias,
            description: `${a.account ? `account ${a.account}  ` : ''}${a.keyId ?? ''}${current && (current.alias === a.alias || current.ref === a.alias || (a.keyId && current.ref.endsWith(a.keyId))) ? '  $(check) current' : ''}`,
            key: a.alias,
          }));
          qp.items = [...items, ...extra];
          const here = items.findIndex((i) => i.description.includes('current'));
          if (here >= 0) qp.activeItems = [qp.items[here]];
        })
        .catch((err) => void reportError(err, d.log, 'Listing KMS aliases'))
        .finally(() => (qp.busy = false));
      const pick = await accepted(qp);
      if (!pick) return;
      if (pick === fromSettings) {
        await d.state.update(KEY_STATE, undefined);
        d.keys.reset();
        d.log.info('key: from settings again');
        return;
      }
      const typed =
        pick.key ??
        (await vscode.window.showInputBox({
          title: 'KMS key',
          prompt: 'Key ARN, key id, alias name (alias/…) or alias ARN',
          validateInput: (v) => (/^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/\S+|alias\/\S+|[0-9a-f-]{36}|mrk-[0-9a-f]{32})$/.test(v.trim()) ? undefined : 'not a KMS key id, ARN or alias'),
        }));
      if (!typed) return;
      const ref = typed.trim();
      // checked with KMS now, not at the first encryption: a typo is caught here, with the key's account
      const arn = await withProgress(`looking up ${ref}`, () => d.keys.service().resolve(ref));
      const alias = aliasOf(ref);
      const stored: StoredKey = { arn, ...(alias ? { alias } : {}) };
      await d.state.update(KEY_STATE, stored);
      d.keys.reset(); // the new key is the default allow-list
      d.log.info(`key: ${arn}${stored.alias ? ` (${stored.alias})` : ''}, stored for this workspace outside the repository`);
    }),

    statusMenu: run('KMS Envelope', async () => {
      const s = d.keys.settings();
      const inMemory = d.keys.cachedKeys + d.view.openViews;
      const items: (vscode.QuickPickItem & { command: string })[] = [
        { label: '$(account) Select AWS Profile…', description: s.profile ?? 'default credential chain', command: 'kmsEnvelope.selectProfile' },
        { label: '$(key) Select KMS Key…', description: keyLabel(s.key), command: 'kmsEnvelope.selectKey' },
        { label: '$(lock) Lock', description: inMemory ? `wipe ${inMemory} data key${inMemory === 1 ? '' : 's'} from memory` : 'no data key in memory', command: 'kmsEnvelope.lock' },
        { label: '$(output) Show Log', description: 'what happened, never a value', command: 'kmsEnvelope.showLog' },
      ];
      const pick = await vscode.window.showQuickPick(items, { title: 'KMS Envelope' });
      if (pick) await vscode.commands.executeCommand(pick.command);
    }),

    showLog: run('Show Log', async () => d.log.show(true)),

    lock: run('Lock', async () => {
      const keys = d.keys.cachedKeys + d.view.openViews;
      await closeViews();
      d.view.forgetAll();
      d.keys.lock();
      // the CLI's key agent (kms-envelope agent start) holds keys for git and the terminal: Lock wipes those too
      const agentKeys = await trustedAgent()?.stop();
      d.log.info(`locked: every data key wiped${agentKeys === undefined ? '' : `, and the key agent stopped (${agentKeys} wiped)`}`);
      vscode.window.setStatusBarMessage(`$(lock) KMS Envelope locked (${keys} data key${keys === 1 ? '' : 's'} wiped${agentKeys === undefined ? '' : `; key agent stopped, ${agentKeys} wiped`})`, 4000);
    }),
  };

  /** Closes the decrypted views (of one file, or all). */
  async function closeViews(file?: vscode.Uri): Promise<void> {
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputText && t.input.uri.scheme === SCHEME && (!file || isViewOf(t.input.uri, file)));
    if (tabs.length) await vscode.window.tabGroups.close(tabs);
    if (file) d.view.forget(file.path);
  }

  return { handlers: Object.fromEntries(Object.entries(commands).map(([name, fn]) => [`kmsEnvelope.${name}`, fn])), disposables: sidecarSync };
}

