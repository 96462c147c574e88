/**
 * What a text editor and a hostile workspace cannot do: an edit that is undone leaves every
 * store decryptable (whole files are text armour, so VS Code cannot re-encode them); files
 * encrypted whole open decrypted; a workspace's settings cannot widen the allow-list.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as vscode from 'vscode';
import { FILES } from '../workspace';
import { LOCAL_ACCOUNT_KEYS } from '../../support/accounts';
import { activeUri, api, cli, closeAll, env, file, kms, sleep, tabsOf, until } from './helpers';

/** Opens the file's ciphertext in an ordinary text editor, types, undoes, saves. */
/** The next error the extension reports while `action` runs. */
async function nextError(action: () => Thenable<unknown>): Promise<{ code?: string; message: string }> {
  const a = await api();
  const before = a.lastError();
  await action();
  return until('an error message', () => a.lastError() !== before && a.lastError());
}

async function typeUndoSave(rel: string): Promise<void> {
  await vscode.commands.executeCommand('kmsEnvelope.openEncrypted', file(rel));
  const editor = await until('the ciphertext editor', () => vscode.window.activeTextEditor?.document.uri.scheme === 'file' && vscode.window.activeTextEditor);
  const doc = editor.document;
  const last = doc.lineAt(Math.max(0, doc.lineCount - 2));
  await editor.edit((b) => b.insert(last.range.end, 'x'));
  await editor.edit((b) => b.delete(new vscode.Range(last.range.end, last.range.end.translate(0, 1))));
  await vscode.commands.executeCommand('undo');
  await vscode.commands.executeCommand('undo');
  assert.ok(await doc.save(), 'saved');
  await closeAll();
}

describe('data loss and hostile workspaces', () => {
  afterEach(closeAll);

  it('opening a .env as the explorer does (its default editor) shows the decrypted view of an encrypted one and the text of a plain one, with no placeholder left', async () => {
    await fs.writeFile(file('plain.env').fsPath, 'PLAIN=not-a-secret\n');
    await vscode.commands.executeCommand('vscode.open', file('plain.env'));
    await until('the text editor of the plain file', () => activeUri()?.scheme === 'file' && activeUri()?.path.endsWith('plain.env'));
    assert.equal(vscode.window.activeTextEditor!.document.getText(), 'PLAIN=not-a-secret\n');
    await until('no placeholder', () => tabsOf('plain.env').every((t) => t.input instanceof vscode.TabInputText));
    await closeAll();
    await vscode.commands.executeCommand('vscode.open', file('app/.env'));
    await until('the decrypted view', () => activeUri()?.scheme === 'kms-envelope' && activeUri()?.path.endsWith('app/.env'));
    await until('one tab, the view', () => tabsOf('app/.env').length === 1 && tabsOf('app/.env').every((t) => t.input instanceof vscode.TabInputText && t.input.uri.scheme === 'kms-envelope'));
    await fs.unlink(file('plain.env').fsPath);
  });

  it('a .env whose first header line was deleted opens as text and is said to be damaged, not offered for encryption (issue 21, item 4)', async () => {
    const sealed = await fs.readFile(file('app/.env').fsPath, 'utf8');
    await fs.mkdir(file('damaged').fsPath, { recursive: true });
    await fs.writeFile(file('damaged/.env').fsPath, sealed.split('\n').slice(1).join('\n'));
    const error = await nextError(() => vscode.commands.executeCommand('vscode.open', file('damaged/.env')));
    assert.equal(error.code, 'FORMAT');
    assert.match(error.message, /damaged\/\.env is damaged: it holds encrypted values and header lines but no valid kms-envelope header/);
    await until('the text editor', () => activeUri()?.scheme === 'file' && activeUri()?.path.endsWith('damaged/.env'));
    // and Encrypt File refuses it, the file unchanged
    const before = await fs.readFile(file('damaged/.env').fsPath, 'utf8');
    const refused = await nextError(() => vscode.commands.executeCommand('kmsEnvelope.encryptFile', file('damaged/.env')));
    assert.match(refused.message, /is damaged/);
    assert.equal(await fs.readFile(file('damaged/.env').fsPath, 'utf8'), before);
    await closeAll();
  });

  it('a file encrypted whole opens decrypted, like a .env, and its ciphertext is text', async () => {
    await vscode.commands.executeCommand('kmsEnvelope.encryptFile', file('notes.txt'));
    const raw = await fs.readFile(file('notes.txt').fsPath, 'latin1');
    assert.match(raw, /^# kms-envelope v1 file\n/);
    assert.match(raw.split('\n').slice(5, -1).join('\n'), /^[A-Za-z0-9+/=\n]+$/, 'the payload is base64 lines');
    await kms.clearLog();
    await vscode.window.showTextDocument(file('notes.txt'));
    await until('the decrypted view of notes.txt', () => activeUri()?.scheme === 'kms-envelope' && activeUri()?.path.endsWith('notes.txt'));
    assert.equal(vscode.window.activeTextEditor!.document.getText(), FILES['notes.txt']);
  });

  for (const rel of ['notes.txt', 'app/.env', 'config.yaml']) {
    it(`open the ciphertext of ${rel}, type, undo, save: the file still decrypts`, async () => {
      if (rel === 'config.yaml') {
        // a selection encrypted into config.yaml first: the text store
        const doc = await vscode.workspace.openTextDocument(file(rel));
        const editor = await vscode.window.showTextDocument(doc);
        const at = doc.getText().indexOf('yaml-secret-CHARLIE');
        editor.selection = new vscode.Selection(doc.positionAt(at), doc.positionAt(at + 'yaml-secret-CHARLIE'.length));
        await vscode.commands.executeCommand('kmsEnvelope.encryptSelection');
        await until('the header', () => doc.getText().startsWith('# kms-envelope v1 text') && !doc.isDirty);
        await closeAll();
      }
      const before = await fs.readFile(file(rel).fsPath);
      const plaintext = await cli(['decrypt', rel, '--stdout']);
      assert.equal(plaintext.code, 0, plaintext.stderr);
      await typeUndoSave(rel);
      assert.deepEqual(await fs.readFile(file(rel).fsPath), before, 'byte for byte');
      const r = await cli(['decrypt', rel, '--stdout']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, plaintext.stdout);
    });
  }

  it('a changed byte in the armour is refused when opened, naming the line, never read as other plaintext', async () => {
    const path = file('notes.txt').fsPath;
    const before = await fs.readFile(path, 'latin1');
    const lines = before.split('\n');
    lines[5] = (lines[5][0] === 'A' ? 'B' : 'A') + lines[5].slice(1);
    await fs.writeFile(path, lines.join('\n'), 'latin1');
    const r = await cli(['decrypt', 'notes.txt', '--stdout']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    await fs.writeFile(path, before, 'latin1');
  });

  it('menus follow changes made outside VS Code, in a workspace that lives under a folder named out', async () => {
    assert.match(file('x').fsPath, /\/out\//);
    await fs.writeFile(file('later.env').fsPath, 'LATER=later-value\n');
    await until('a plain file', async () => !(await api()).isEncrypted(file('later.env')) && true);
    const r = await cli(['encrypt', 'later.env', '-k', env('KMS_ENVELOPE_TEST_KEY')]);
    assert.equal(r.code, 0, r.stderr);
    await until('the menus to take it for encrypted', async () => (await api()).isEncrypted(file('later.env')));
    assert.equal((await cli(['decrypt', 'later.env'])).code, 0);
    await until('the menus to take it for plain again', async () => !(await api()).isEncrypted(file('later.env')));
  });

  it('Encrypt File follows the workspace\'s rules file (.kms-envelope.json) for keys and context, within the allow-list', async () => {
    await fs.writeFile(file('.kms-envelope.json').fsPath, JSON.stringify({ rules: [{ path: 'ruled.env', keys: ['alias/other'], context: { env: 'production' } }] }));
    await fs.writeFile(file('ruled.env').fsPath, 'RULED=ruled-value\n');
    try {
      await vscode.commands.executeCommand('kmsEnvelope.encryptFile', file('ruled.env'));
      const text = await fs.readFile(file('ruled.env').fsPath, 'utf8');
      assert.match(text, /^# kms-envelope v1 dotenv\n# -> aws-kms \S+ \S+ alias\/other\n# context \{"env":"production","kms-envelope":"v1"\}\n/);
      assert.equal((await cli(['get', 'ruled.env', 'RULED'])).stdout, 'ruled-value\n');
    } finally {
      await fs.rm(file('.kms-envelope.json').fsPath, { force: true });
    }
  });

  it('Rotate Data Key with no allow-list set just works for the account of the chosen key, with no error', async () => {
    const config = vscode.workspace.getConfiguration('kmsEnvelope');
    await config.update('allowedKeys', undefined, vscode.ConfigurationTarget.Global);
    try {
      const before = await fs.readFile(file('rotate/.env.production').fsPath, 'utf8');
      const a = await api();
      const lastError = a.lastError();
      await vscode.commands.executeCommand('kmsEnvelope.rotateDataKey', file('rotate/.env.production'));
      const after = await fs.readFile(file('rotate/.env.production').fsPath, 'utf8');
      assert.notEqual(after, before, 'a new data key');
      assert.equal(a.lastError(), lastError, 'no error');
      assert.equal((await cli(['get', 'rotate/.env.production', 'ROTATED'])).code, 0);
    } finally {
      await config.update('allowedKeys', [LOCAL_ACCOUNT_KEYS], vscode.ConfigurationTarget.Global);
    }
  });

  it('a workspace cannot widen the allow-list: a file under a key of another account is refused before any KMS call', async () => {
    await fs.mkdir(file('.vscode').fsPath, { recursive: true });
    await fs.writeFile(file('.vscode/settings.json').fsPath, JSON.stringify({ 'kmsEnvelope.allowedKeys': ['*'] }));
    await sleep(1000); // let VS Code read the new workspace settings
    try {
      await kms.clearLog();
      const error = await nextError(() => vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('outside/.env')));
      assert.equal(error.code, 'KEY_NOT_ALLOWED', error.message);
      assert.equal(await kms.count('Decrypt'), 0, 'the user\'s credentials never reach the other account');
      assert.notEqual(activeUri()?.scheme, 'kms-envelope');
    } finally {
      await fs.rm(file('.vscode/settings.json').fsPath, { force: true }); // launch.json and tasks.json stay (suite 75)
    }
  });

  it('a key named by the workspace settings is a suggestion: not used, and its account not allowed, until the user confirms it', async () => {
    const outsideArn = /-> aws-kms (\S+)/.exec(await fs.readFile(file('outside/.env').fsPath, 'utf8'))![1];
    await fs.mkdir(file('.vscode').fsPath, { recursive: true });
    await fs.writeFile(file('.vscode/settings.json').fsPath, JSON.stringify({ 'kmsEnvelope.keyId': outsideArn }));
    await until('the workspace setting', async () => (await api()).key()?.source === 'workspace');
    try {
      assert.equal((await api()).key()?.ref, outsideArn);
      await kms.clearLog();
      const error = await nextError(() => vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('outside/.env')));
      assert.equal(error.code, 'KEY_NOT_ALLOWED', error.message);
      assert.match(error.message, /outside the allow-list/);
      assert.equal(await kms.count('Decrypt'), 0);
    } finally {
      await fs.rm(file('.vscode/settings.json').fsPath, { force: true }); // launch.json and tasks.json stay (suite 75)
      await until('the user setting again', async () => (await api()).key()?.source === 'user');
    }
  });
});
