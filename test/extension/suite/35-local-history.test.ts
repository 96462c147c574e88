import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { scanForPlaintext } from '../scan';
import { vscodeHash } from '../../../src/extension/history/local-history';
import { closeAll, env, file, WORKSPACE } from './helpers';

/**
 * VS Code's Local History copies every save of a file: resource into the user-data folder. A
 * secret typed in clear before Encrypt File must not stay there (issue 21, item 2).
 */
describe('Local History keeps no plaintext of a file that is encrypted', () => {
  const history = () => path.join(env('KMS_ENVELOPE_TEST_SCRATCH'), 'user-data', 'User', 'History');
  before(closeAll);
  after(closeAll);

  /** Creates a plain file, types `text` into it through the editor and saves it, as a person would. */
  const typeAndSave = async (rel: string, text: string) => {
    await fs.mkdir(path.dirname(file(rel).fsPath), { recursive: true });
    await fs.writeFile(file(rel).fsPath, '');
    const doc = await vscode.workspace.openTextDocument(file(rel));
    const edit = new vscode.WorkspaceEdit();
    edit.insert(doc.uri, new vscode.Position(0, 0), text);
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.ok(await doc.save());
  };

  it('secret file names are left out of Local History by default', async () => {
    const exclude = vscode.workspace.getConfiguration('workbench.localHistory').get<Record<string, boolean>>('exclude') ?? {};
    assert.deepEqual([exclude['**/.env'], exclude['**/.env.*'], exclude['**/*.env']], [true, true, true]);
    await typeAndSave('config/.env.production', 'DB_PASSWORD=history-secret-SIERRA\n');
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(scanForPlaintext([history()], ['history-secret-SIERRA']), []);
    await vscode.commands.executeCommand('kmsEnvelope.encryptFile', file('config/.env.production'));
  });

  it('Encrypt File removes the copies VS Code kept: the folder its entries.json names, and the one named by the hash of its URI', async () => {
    await typeAndSave('notes/secrets.yaml', 'token: history-secret-TANGO\n');
    const uri = file('notes/secrets.yaml');
    // what VS Code leaves: a folder named by entries.json (written when a window closes; here for a
    // remote window), one named by the hash of the file: URI (the desktop, before the window closed),
    // and another file's history, which stays
    const write = async (folder: string, entries: object | undefined, version: string) => {
      await fs.mkdir(path.join(history(), folder), { recursive: true });
      await fs.writeFile(path.join(history(), folder, version), 'token: history-secret-TANGO\n');
      if (entries) await fs.writeFile(path.join(history(), folder, 'entries.json'), JSON.stringify(entries));
    };
    await write('named', { version: 1, resource: `vscode-remote://${env('KMS_ENVELOPE_TEST_AUTHORITY')}${uri.path}`, entries: [{ id: 'ab1.yaml' }] }, 'ab1.yaml');
    await write(vscodeHash(uri.toString()), undefined, 'cd2.yaml');
    await write('other', { version: 1, resource: `vscode-remote://${env('KMS_ENVELOPE_TEST_AUTHORITY')}${uri.path}.keep`, entries: [] }, 'ef3.yaml');
    await vscode.commands.executeCommand('kmsEnvelope.encryptFile', uri);
    assert.match(await fs.readFile(path.join(WORKSPACE(), 'notes/secrets.yaml'), 'utf8'), /^# kms-envelope v1 file\n/);
    assert.ok(!existsSync(path.join(history(), 'named')));
    assert.ok(!existsSync(path.join(history(), vscodeHash(uri.toString()))));
    // the remote authority seen in an entries.json names the folder of this window's own copy (the
    // one VS Code made when the test saved), which has no entries.json yet: removed too
    assert.ok(!existsSync(path.join(history(), vscodeHash(`vscode-remote://${env('KMS_ENVELOPE_TEST_AUTHORITY')}${uri.path}`))));
    assert.ok(existsSync(path.join(history(), 'other', 'ef3.yaml')), 'another file\'s history stays');
    await fs.rm(path.join(history(), 'other'), { recursive: true });
    assert.deepEqual(scanForPlaintext([history()], ['history-secret-TANGO']), []);
  });
});
