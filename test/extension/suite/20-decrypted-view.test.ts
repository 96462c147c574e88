import assert from 'node:assert/strict';
import { LOCAL_ACCOUNT_KEYS } from '../../support/accounts';
import { promises as fs } from 'node:fs';
import * as vscode from 'vscode';
import { FILES } from '../workspace';
import { KmsKeyProvider } from '../../../src/core/kms/aws-kms';
import { openTextFile } from '../../../src/core/operations';
import { joinSealed, sealDotenv, wipeFileKey } from '../../../src/core/envelope';
import { atomicWrite } from '../../../src/core/io';
import { DecryptedFs } from '../../../src/extension/decrypted-fs';
import { activeUri, api, cli, closeAll, env, file, kms, sleep, tabsOf, until, viewEditor } from './helpers';

const tokenOf = (text: string, name: string) => new RegExp(`${name}=(ENC\\[[^\\]]+\\])`).exec(text)?.[1];

describe('decrypt-on-open and the decrypted view', () => {
  before(closeAll);
  beforeEach(() => kms.clearLog());

  it('replaces the ciphertext tab of an encrypted .env with the decrypted view, in the same group, language kept, with one KMS Decrypt', async () => {
    await vscode.window.showTextDocument(file('app/.env'), { viewColumn: vscode.ViewColumn.One, preview: false });
    const editor = await until('the decrypted view', () => viewEditor('app/.env'));
    assert.equal(editor.document.getText(), FILES['app/.env']);
    assert.equal(editor.viewColumn, vscode.ViewColumn.One);
    assert.equal(editor.document.languageId, 'properties', 'the language VS Code gives .env files');
    await until('the ciphertext tab to close', () => tabsOf('app/.env').every((t) => (t.input as vscode.TabInputText).uri.scheme === 'kms-envelope'));
    assert.equal(tabsOf('app/.env').length, 1);
    assert.deepEqual((await kms.log()).map((e) => e.action), ['Decrypt']);
    // marked: the view as decrypted, the file as encrypted (badges and tooltips in tabs and the explorer)
    const a = await api();
    assert.equal((await a.decoration(editor.document.uri))?.badge, 'D');
    assert.match((await a.decoration(editor.document.uri))?.tooltip ?? '', /Decrypted .* in memory only/);
    const mark = await a.decoration(file('app/.env'));
    assert.equal(mark?.badge, 'E');
    assert.equal(mark?.tooltip, 'Encrypted with KMS Envelope (each value, for alias/test): Open Decrypted to read it');
    assert.ok(a.isEncrypted(file('app/.env')), 'the menus take it for encrypted once it was drawn');
    assert.equal(await a.decoration(file('README.md')), undefined);
  });

  it('names a view by its path in the workspace folder (breadcrumbs and tab descriptions read from there); the older absolute form (a tab restored from before) still maps to its file, a folder no longer in the workspace shows nothing', async () => {
    await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('app/.env'));
    const view = (await until('the decrypted view', () => viewEditor('app/.env'))).document.uri;
    assert.equal(view.path, '/app/.env');
    assert.match(view.authority, /^[0-9a-f]{12}$/);
    // what VS Code persists for a restored tab is the URI's string form, which lower-cases authorities
    assert.equal(vscode.Uri.parse(view.toString()).toString(), view.toString());
    const provider = new DecryptedFs(() => { throw new Error('no KMS call expected'); }, (_t, task) => task(), vscode.window.createOutputChannel('kms-envelope test', { log: true }));
    try {
      const absolute = vscode.Uri.from({ scheme: 'kms-envelope', path: file('app/.env').path });
      assert.equal((await provider.stat(absolute)).type, vscode.FileType.File);
      await assert.rejects(provider.stat(view.with({ authority: '000000000000' })), (e: unknown) => e instanceof vscode.FileSystemError && e.code === 'FileNotFound');
      await assert.rejects(provider.readFile(view.with({ authority: '000000000000' })), (e: unknown) => e instanceof vscode.FileSystemError && e.code === 'FileNotFound');
      // a path that climbs out of its folder is a file outside the workspace: not decrypted without a command
      const outside = vscode.Uri.joinPath(file('..'), 'outside-of-the-folder', '.env');
      await fs.mkdir(vscode.Uri.joinPath(outside, '..').fsPath, { recursive: true });
      await fs.copyFile(file('app/.env').fsPath, outside.fsPath);
      try {
        await assert.rejects(provider.readFile(view.with({ path: '/../outside-of-the-folder/.env' })), (e: unknown) => e instanceof vscode.FileSystemError && e.code === 'NoPermissions');
      } finally {
        await fs.rm(vscode.Uri.joinPath(outside, '..').fsPath, { recursive: true, force: true });
      }
    } finally {
      provider.dispose();
    }
  });

  it('a plain document of the same language is offered no word of a decrypted view; VS Code\'s own default offers its values', async () => {
    await until('the decrypted view', () => viewEditor('app/.env'));
    // a plain file of the language VS Code gives .env files (.properties, .gitconfig, .editorconfig …)
    const plain = await vscode.workspace.openTextDocument({ language: 'properties', content: 'greeting=hello\ny=hun' });
    const offered = async () => {
      const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', plain.uri, new vscode.Position(1, 5));
      return list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
    };
    const editor = () => vscode.workspace.getConfiguration('editor', { languageId: 'properties' });
    assert.equal(editor().get('wordBasedSuggestions'), 'currentDocument', 'the extension\'s default for the language');
    assert.deepEqual((await offered()).sort(), ['greeting', 'hello', 'y'], 'the plain document\'s own words only');
    // VS Code's own default: words of every open document of the language, the decrypted values among them
    await editor().update('wordBasedSuggestions', 'matchingDocuments', vscode.ConfigurationTarget.Global, true);
    try {
      const words = await until('the changed setting', async () => ((await offered()).includes('hunter2') ? await offered() : undefined));
      for (const secret of ['hunter2', 'ALPHA', 'BRAVO']) assert.ok(words.includes(secret), `VS Code's default offers ${secret}`);
    } finally {
      await editor().update('wordBasedSuggestions', undefined, vscode.ConfigurationTarget.Global, true);
    }
  });

  it('saves through the provider a moment after typing stops: ciphertext on disk, unchanged values keep their bytes, no KMS call; the CLI reads it back', async () => {
    const editor = viewEditor('app/.env')!;
    const before = await fs.readFile(file('app/.env').fsPath, 'utf8');
    // type like a person: a few edits with short pauses
    for (const piece of ['NEW_TOKEN=', 'typed-', 'secret-', 'GOLF\n']) {
      await editor.edit((b) => b.insert(new vscode.Position(editor.document.lineCount - 1, editor.document.lineAt(editor.document.lineCount - 1).text.length), piece));
      await sleep(120);
    }
    await until('the automatic save', () => !editor.document.isDirty, 5000);
    const after = await fs.readFile(file('app/.env').fsPath, 'utf8');
    assert.ok(!after.includes('typed-secret-GOLF') && !after.includes('hunter2-ALPHA'));
    assert.equal(tokenOf(after, 'DB_PASSWORD'), tokenOf(before, 'DB_PASSWORD'), 'unchanged value keeps its ciphertext');
    assert.equal(tokenOf(after, 'API_KEY'), tokenOf(before, 'API_KEY'));
    assert.ok(tokenOf(after, 'NEW_TOKEN'));
    assert.equal(await kms.count(), 0, 'a save needs no KMS call');
    const read = await cli(['decrypt', 'app/.env', '--stdout']);
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stdout, editor.document.getText());
  });

  it('never leaves a decrypted view dirty long enough for VS Code to back it up', async () => {
    const editor = viewEditor('app/.env')!;
    await editor.edit((b) => b.insert(new vscode.Position(0, 0), 'HOTEL=typed-secret-HOTEL\n'));
    await sleep(3000); // longer than VS Code's backup delay (~1 s, 2 s with auto-save): the runner's scan checks Backups/
    assert.equal(editor.document.isDirty, false);
  });

  it('makes no KMS call to re-open while the data key is cached', async () => {
    await closeAll();
    await until('the view to be forgotten', async () => (await api()).openViews() === 0);
    await kms.clearLog();
    await vscode.window.showTextDocument(file('app/.env'));
    await until('the decrypted view', () => viewEditor('app/.env'));
    assert.equal(await kms.count(), 0);
  });

  it('follows a change made on disk (a git pull) into a view without unsaved edits', async () => {
    const editor = viewEditor('app/.env')!;
    // a teammate's edit: decrypted, changed and re-encrypted outside VS Code, written atomically
    const provider = new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS] });
    const opened = await openTextFile(file('app/.env').fsPath, provider);
    const changed = opened.plaintext.replace('DB_HOST=localhost', 'DB_HOST=db.internal');
    await atomicWrite(file('app/.env').fsPath, joinSealed(sealDotenv(changed, opened.key, { layout: opened.layout, reuse: opened.reuse })));
    wipeFileKey(opened.key);
    provider.destroy();
    await until('the view to show the change', () => editor.document.getText().includes('DB_HOST=db.internal'), 10_000);
    assert.equal(editor.document.getText(), changed);
  });

  it('tells VS Code of every change to a file it shows, even one the view has already read; nothing once the view is forgotten', async () => {
    // VS Code stats a file, then reads it: a write landing in between leaves the editor holding the
    // new text under the old mtime, and only a later change event makes it look again (else its
    // next save meets a false "file is newer" conflict: two windows on one .env did).
    await fs.mkdir(file('watched').fsPath, { recursive: true });
    const target = file('watched/.env').fsPath;
    await fs.writeFile(target, 'WATCHED=1\n');
    assert.equal((await cli(['encrypt', 'watched/.env', '-k', env('KMS_ENVELOPE_TEST_KEY')])).code, 0);
    const provider = new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS] });
    const log = vscode.window.createOutputChannel('kms-envelope watch test', { log: true });
    const view = new DecryptedFs(() => provider, (_title, task) => task(), log);
    const uri = vscode.Uri.from({ scheme: 'kms-envelope', path: target });
    const changes: string[] = [];
    const subscription = view.onDidChangeFile((e) => changes.push(...e.map((c) => c.uri.path)));
    const watcher = view.watch(uri);
    try {
      await view.readFile(uri);
      const opened = await openTextFile(target, provider); // a teammate's edit, written atomically
      await atomicWrite(target, joinSealed(sealDotenv('WATCHED=2\n', opened.key, { layout: opened.layout, reuse: opened.reuse })));
      wipeFileKey(opened.key);
      await until('the change to be announced', () => changes.length > 0);
      await view.readFile(uri); // the view reads the new version before the watcher's next word on it
      changes.length = 0;
      await fs.chmod(target, 0o600); // the watcher sees the file again; VS Code may still hold the older stat
      await until('the file to be announced again', () => changes.length > 0, 5000);
      assert.deepEqual([...new Set(changes)], [target]);

      view.forget(target); // a forgotten view (Lock) is not read again because of a change
      changes.length = 0;
      await fs.chmod(target, 0o644);
      await sleep(1000);
      assert.deepEqual(changes, []);
    } finally {
      watcher.dispose();
      subscription.dispose();
      view.dispose();
      log.dispose();
      provider.destroy();
    }
  });

  /** A view of its own (the real provider, the real host), over a file the test changes behind its back. */
  const ownView = async (rel: string, text: string) => {
    const target = file(rel).fsPath;
    await fs.mkdir(file(rel).fsPath.replace(/\/[^/]+$/, ''), { recursive: true });
    await fs.writeFile(target, text);
    assert.equal((await cli(['encrypt', rel, '-k', env('KMS_ENVELOPE_TEST_KEY')])).code, 0);
    const provider = new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS] });
    const log = vscode.window.createOutputChannel(`kms-envelope ${rel}`, { log: true });
    const view = new DecryptedFs(() => provider, (_title, task) => task(), log);
    const uri = vscode.Uri.from({ scheme: 'kms-envelope', path: target });
    const watcher = view.watch(uri);
    await view.readFile(uri);
    return {
      target,
      uri,
      view,
      dispose: () => [watcher, view, log].forEach((d) => d.dispose()),
    };
  };

  it('fails closed: a change on disk that does not verify is refused at once, and the view is never saved over it', async () => {
    const v = await ownView('failclosed/.env', 'TOKEN=abcdef\n');
    try {
      // one character of a token changed on disk (another program, a git checkout)
      const sealed = await fs.readFile(v.target, 'utf8');
      const at = sealed.indexOf('ENC[kmsenv:') + 30;
      const tampered = sealed.slice(0, at) + (sealed[at] === 'A' ? 'B' : 'A') + sealed.slice(at + 1);
      await fs.writeFile(v.target, tampered);
      await sleep(1000); // within a second, the view knows
      await assert.rejects(v.view.writeFile(v.uri, Buffer.from('TOKEN=typed-after\n'), { create: false, overwrite: true }), /changed on disk and does not verify .*not saved over it/);
      assert.equal(await fs.readFile(v.target, 'utf8'), tampered, 'the file on disk is left as it is');
      // a valid version restored: the view may save again
      await fs.writeFile(v.target, sealed);
      await sleep(1000);
      await v.view.readFile(v.uri);
      await v.view.writeFile(v.uri, Buffer.from('TOKEN=typed-after\n'), { create: false, overwrite: true });
      assert.equal((await cli(['get', 'failclosed/.env', 'TOKEN'])).stdout, 'typed-after\n');
    } finally {
      v.dispose();
    }
  });

  it('a save never puts back the data key of a version it read before the file was rotated (VS Code\'s Overwrite included)', async () => {
    const v = await ownView('rotated/.env', 'TOKEN=first\n');
    try {
      assert.equal((await cli(['rotate', 'rotated/.env'])).code, 0);
      const rotated = await fs.readFile(v.target, 'utf8');
      // the edit that was dirty when the rotation landed, saved with "Overwrite"
      await assert.rejects(v.view.writeFile(v.uri, Buffer.from('TOKEN=overwritten\n'), { create: false, overwrite: true }), /was changed on disk under another data key .* not saved over it/);
      assert.equal(await fs.readFile(v.target, 'utf8'), rotated);
    } finally {
      v.dispose();
    }
  });

  it('a view of a rolled-back file (its data key retired when a key was removed) is never saved: new values would reach the removed key (security review F1)', async () => {
    const rel = 'rollback/.env';
    const target = file(rel).fsPath;
    await fs.mkdir(target.replace(/\/[^/]+$/, ''), { recursive: true });
    await fs.writeFile(target, 'TOKEN=first\n');
    assert.equal((await cli(['encrypt', rel, '-k', env('KMS_ENVELOPE_TEST_KEY'), '-k', 'alias/other'])).code, 0);
    const v1 = await fs.readFile(target, 'utf8');
    assert.equal((await cli(['rewrap', rel, '--remove-key', 'alias/other'], { KMS_ENVELOPE_ALLOWED_KEYS: LOCAL_ACCOUNT_KEYS })).code, 0);
    await fs.writeFile(target, v1); // the removed key's holder commits the older version back
    const provider = new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS] });
    const log = vscode.window.createOutputChannel('kms-envelope rollback', { log: true });
    const view = new DecryptedFs(() => provider, (_title, task) => task(), log);
    const uri = vscode.Uri.from({ scheme: 'kms-envelope', path: target });
    try {
      await view.readFile(uri);
      await assert.rejects(view.writeFile(uri, Buffer.from('TOKEN=new-after-removal\n'), { create: false, overwrite: true }), /uses a data key you retired on .* when you removed/);
      assert.equal(await fs.readFile(target, 'utf8'), v1);
    } finally {
      view.dispose();
      log.dispose();
      provider.destroy();
    }
  });

  it('the save after a pause compares the text with what the view wrote, not the host\'s dirty flag', async () => {
    const v = await ownView('differs/.env', 'A=1\n');
    try {
      assert.equal(v.view.differs(v.target, 'A=1\n'), false);
      assert.equal(v.view.differs(v.target, 'A=12\n'), true);
      assert.equal(v.view.differs(file('nothing-open/.env').fsPath, 'A=1\n'), false);
    } finally {
      v.dispose();
    }
  });

  it('Open Encrypted shows the ciphertext, and Open Decrypted the plaintext again', async () => {
    await vscode.commands.executeCommand('kmsEnvelope.openEncrypted');
    await until('the ciphertext editor', () => activeUri()?.scheme === 'file' && activeUri()!.path === file('app/.env').path);
    assert.match(vscode.window.activeTextEditor!.document.getText(), /^# kms-envelope v1 dotenv\n/);
    await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('app/.env'));
    await until('the decrypted view', () => activeUri()?.scheme === 'kms-envelope');
    await closeAll();
  });

  it('a ciphertext tab the user asked for stays one when the decrypted view is closed: editing and saving it opens no view and asks nothing (walkthrough 2026-12-07 #3)', async () => {
    const before = await fs.readFile(file('app/.env').fsPath, 'utf8');
    try {
      await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('app/.env'));
      await until('the decrypted view', () => viewEditor('app/.env'));
      await vscode.commands.executeCommand('kmsEnvelope.openEncrypted');
      const ciphertext = await until('the ciphertext editor', () => activeUri()?.scheme === 'file' && activeUri()!.path === file('app/.env').path && vscode.window.activeTextEditor);
      await vscode.window.tabGroups.close(tabsOf('app/.env').filter((t) => (t.input as vscode.TabInputText).uri.scheme === 'kms-envelope'));
      await until('the view closed', () => !viewEditor('app/.env'));
      // an edit of the ciphertext (here: a comment line) makes the tab dirty; a save makes it clean: both are tab changes
      await ciphertext.edit((e) => e.insert(new vscode.Position(ciphertext.document.lineCount - 1, 0), '# a note\n'));
      await sleep(1500);
      assert.ok(ciphertext.document.isDirty, 'the edit is still in the ciphertext tab');
      await ciphertext.document.save();
      await sleep(1500);
      const shown = tabsOf('app/.env').map((t) => (t.input as vscode.TabInputText).uri.scheme);
      assert.deepEqual(shown, ['file'], 'the ciphertext tab alone: no decrypted view opened in its place');
    } finally {
      await closeAll();
      await fs.writeFile(file('app/.env').fsPath, before);
    }
  });
});
