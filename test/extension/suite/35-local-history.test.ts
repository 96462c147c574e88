import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { scanForPlaintext } from '../scan';
import { closeAll, env, file, until, WORKSPACE } from './helpers';

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
    await vscode.window.showTextDocument(doc);
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

  it('Encrypt File removes the copies VS Code kept of a file saved in clear before', async () => {
    await typeAndSave('notes/secrets.yaml', 'token: history-secret-TANGO\n');
    // VS Code kept the save (this file name is not excluded)
    await until('the Local History copy', () => existsSync(history()) && scanForPlaintext([history()], ['history-secret-TANGO']).length > 0, 10_000);
    await vscode.commands.executeCommand('kmsEnvelope.encryptFile', file('notes/secrets.yaml'));
    assert.match(await fs.readFile(path.join(WORKSPACE(), 'notes/secrets.yaml'), 'utf8'), /^# kms-envelope v1 file\n/);
    assert.deepEqual(scanForPlaintext([history()], ['history-secret-TANGO']), []);
  });
});
