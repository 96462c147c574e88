import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as vscode from 'vscode';
import { SOPS_FILES } from '../workspace';
import { referenceDecrypt } from '../../support/sops-reference';
import { api, closeAll, file, kms, until } from './helpers';

const viewOf = (rel: string) => vscode.window.visibleTextEditors.find((e) => e.document.uri.scheme === 'kms-envelope' && e.document.uri.path === file(rel).path);

/** SOPS files in the real editor (issue 22): decrypted on open by their metadata, saved as SOPS. */
describe('SOPS files in the editor', () => {
  before(closeAll);
  beforeEach(() => kms.clearLog());

  it('a SOPS secrets.yaml opens decrypted in its own layout (comments decrypted too), with one KMS Decrypt, marked as SOPS', async () => {
    await vscode.window.showTextDocument(file('sops/secrets.yaml'), { preview: false });
    const editor = await until('the decrypted view', () => viewOf('sops/secrets.yaml'));
    assert.equal(editor.document.getText(), SOPS_FILES['sops/secrets.yaml'].plaintext);
    assert.equal(editor.document.languageId, 'yaml');
    assert.deepEqual((await kms.log()).map((e) => e.action), ['Decrypt']);
    const mark = await (await api()).decoration(file('sops/secrets.yaml'));
    assert.equal(mark?.badge, 'E');
    assert.match(mark?.tooltip ?? '', /^Encrypted with SOPS, for key\/[0-9a-f-]+: Open Decrypted/);
  });

  it('a save writes SOPS that another reader decrypts: only the edited value, the MAC and lastmodified change, with no KMS call', async () => {
    const editor = await until('the decrypted view', () => viewOf('sops/secrets.yaml'));
    const before = await fs.readFile(file('sops/secrets.yaml').fsPath, 'utf8');
    const text = editor.document.getText();
    const at = text.indexOf('sops-secret-UNIFORM');
    await editor.edit((e) => e.replace(new vscode.Range(editor.document.positionAt(at), editor.document.positionAt(at + 'sops-secret-UNIFORM'.length)), 'sops-typed-XRAY'));
    assert.ok(await editor.document.save());
    const after = await fs.readFile(file('sops/secrets.yaml').fsPath, 'utf8');
    assert.doesNotMatch(after, /sops-typed-XRAY|sops-secret|admin|database/);
    const changed = after.split('\n').map((l, i) => (l === before.split('\n')[i] ? '' : l.trim().replace(/:.*/, ':'))).filter(Boolean);
    assert.deepEqual(changed, ['password:', 'lastmodified:', 'mac:']);
    const read = await referenceDecrypt(after, 'yaml');
    assert.deepEqual(read.values, { db: { user: 'admin', password: 'sops-typed-XRAY', port: 5432n }, api_key: 'sops-secret-WHISKEY' });
    assert.equal(await kms.count('Decrypt'), 1, 'the reference reader\'s own Decrypt, none for the save');
  });

  it('a SOPS .env opens decrypted too (by its metadata: sops_mac, sops_lastmodified)', async () => {
    await vscode.window.showTextDocument(file('sops/.env'), { preview: false });
    const editor = await until('the decrypted view', () => viewOf('sops/.env'));
    assert.equal(editor.document.getText(), SOPS_FILES['sops/.env'].plaintext);
    await closeAll();
  });
});
