import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as vscode from 'vscode';
import { SOPS_FILES } from '../workspace';
import { referenceDecrypt } from '../../support/sops-reference';
import { LOCAL_ACCOUNT_KEYS } from '../../support/accounts';
import { KmsKeyProvider } from '../../../src/core/kms/aws-kms';
import { DecryptedFs } from '../../../src/extension/decrypted-fs';
import { api, closeAll, file, kms, until, viewEditor } from './helpers';


/** SOPS files in the real editor (issue 22): decrypted on open by their metadata, saved as SOPS. */
describe('SOPS files in the editor', () => {
  before(closeAll);
  beforeEach(() => kms.clearLog());

  it('a SOPS secrets.yaml opens decrypted in its own layout (comments decrypted too), with one KMS Decrypt, marked as SOPS', async () => {
    await vscode.window.showTextDocument(file('sops/secrets.yaml'), { preview: false });
    const editor = await until('the decrypted view', () => viewEditor('sops/secrets.yaml'));
    assert.equal(editor.document.getText(), SOPS_FILES['sops/secrets.yaml'].plaintext);
    assert.equal(editor.document.languageId, 'yaml');
    assert.deepEqual((await kms.log()).map((e) => e.action), ['Decrypt']);
    const mark = await (await api()).decoration(file('sops/secrets.yaml'));
    assert.equal(mark?.badge, 'E');
    assert.match(mark?.tooltip ?? '', /^Encrypted with SOPS, for key\/[0-9a-f-]+: Open Decrypted/);
  });

  it('a plain YAML document is offered no word of the decrypted SOPS view (the extension\'s default for word suggestions, every language)', async () => {
    await until('the decrypted view', () => viewEditor('sops/secrets.yaml'));
    const plain = await vscode.workspace.openTextDocument({ language: 'yaml', content: 'name: x\ny: sop' });
    const offered = async () => {
      const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', plain.uri, new vscode.Position(1, 6));
      return list.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label));
    };
    const editor = () => vscode.workspace.getConfiguration('editor', { languageId: 'yaml' });
    assert.equal(editor().get('wordBasedSuggestions'), 'currentDocument');
    const words = await offered();
    for (const secret of ['sops-secret-UNIFORM', 'UNIFORM', 'WHISKEY', 'admin']) assert.ok(!words.includes(secret), `offered ${secret}`);
    // VS Code's own default would offer them
    await editor().update('wordBasedSuggestions', 'matchingDocuments', vscode.ConfigurationTarget.Global, true);
    try {
      const leaked = await until('the changed setting', async () => ((await offered()).includes('UNIFORM') ? await offered() : undefined));
      for (const secret of ['UNIFORM', 'WHISKEY']) assert.ok(leaked.includes(secret), `VS Code's default offers ${secret}`);
    } finally {
      await editor().update('wordBasedSuggestions', undefined, vscode.ConfigurationTarget.Global, true);
    }
  });

  it('a save writes SOPS that another reader decrypts: only the edited value, the MAC and lastmodified change, with no KMS call', async () => {
    const editor = await until('the decrypted view', () => viewEditor('sops/secrets.yaml'));
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
    const editor = await until('the decrypted view', () => viewEditor('sops/.env'));
    assert.equal(editor.document.getText(), SOPS_FILES['sops/.env'].plaintext);
    await closeAll();
  });

  it('Encrypt File follows the workspace\'s .sops.yaml: a SOPS file for the rule\'s key, which opens decrypted', async () => {
    const keyArn = /^sops_kms__list_0__map_arn=(.*)$/m.exec(await fs.readFile(file('sops/.env').fsPath, 'utf8'))![1];
    await fs.writeFile(file('.sops.yaml').fsPath, `creation_rules:\n  - path_regex: ^sops/.*\\.yaml$\n    kms: ${keyArn}\n    encrypted_regex: ^secret$\n`);
    try {
      await fs.writeFile(file('sops/new.yaml').fsPath, 'name: visible\nsecret: sops-typed-ZULU\n');
      await vscode.commands.executeCommand('kmsEnvelope.encryptFile', file('sops/new.yaml'));
      const text = await fs.readFile(file('sops/new.yaml').fsPath, 'utf8');
      assert.doesNotMatch(text, /sops-typed-ZULU/);
      assert.match(text, /^name: visible$/m, 'the rule\'s encrypted_regex: only "secret" is encrypted');
      assert.match(text, /^ {4}encrypted_regex: \^secret\$$/m);
      assert.deepEqual((await referenceDecrypt(text, 'yaml')).values, { name: 'visible', secret: 'sops-typed-ZULU' });
      await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('sops/new.yaml'));
      const view = await until('the decrypted view', () => viewEditor('sops/new.yaml'));
      assert.equal(view.document.getText(), 'name: visible\nsecret: sops-typed-ZULU\n');
    } finally {
      await fs.rm(file('.sops.yaml').fsPath, { force: true });
      await closeAll();
    }
  });

  it('Add Key and Remove Key work on a SOPS file: a kms entry added (values, MAC and the PGP recipient kept); removing one makes a new data key, refused while PGP can also open the file', async () => {
    const rel = 'sops/.env';
    const before = await fs.readFile(file(rel).fsPath, 'utf8');
    await vscode.commands.executeCommand('kmsEnvelope.addKeyToFile', file(rel), { key: 'alias/other', confirmed: true });
    const added = await fs.readFile(file(rel).fsPath, 'utf8');
    assert.equal((added.match(/^sops_kms__list_\d+__map_arn=/gm) ?? []).length, 2);
    assert.equal(/^SOPS_TOKEN=.*$/m.exec(added)![0], /^SOPS_TOKEN=.*$/m.exec(before)![0], 'the value keeps its ciphertext');
    assert.equal(/^sops_pgp__list_0__map_enc=.*$/m.exec(added)![0], /^sops_pgp__list_0__map_enc=.*$/m.exec(before)![0], 'the PGP recipient is kept');
    const other = /^sops_kms__list_1__map_arn=(.*)$/m.exec(added)![1];
    // a new data key cannot be wrapped for the PGP recipient here: refused, the file untouched
    await vscode.commands.executeCommand('kmsEnvelope.removeKeyFromFile', file(rel), { key: other, confirmed: true });
    assert.equal(await fs.readFile(file(rel).fsPath, 'utf8'), added);

    // a SOPS file made here (KMS keys only): the key goes, under a new data key
    const made = 'sops/new.yaml';
    await vscode.commands.executeCommand('kmsEnvelope.addKeyToFile', file(made), { key: 'alias/other', confirmed: true });
    const two = await fs.readFile(file(made).fsPath, 'utf8');
    assert.ok(two.includes(other));
    await vscode.commands.executeCommand('kmsEnvelope.removeKeyFromFile', file(made), { key: other, confirmed: true });
    const removed = await fs.readFile(file(made).fsPath, 'utf8');
    assert.ok(!removed.includes(other));
    const read = await referenceDecrypt(removed, 'yaml');
    assert.deepEqual(read.values, { name: 'visible', secret: 'sops-typed-ZULU' });
    assert.notDeepEqual(read.dataKey, (await referenceDecrypt(two, 'yaml')).dataKey, 'a new data key');
  });

  it('a save of a view whose file was changed on disk under the same data key (another window) writes SOPS under that data key, readable by another reader', async () => {
    const rel = 'sops/changed/secrets.yaml';
    await fs.mkdir(file('sops/changed').fsPath, { recursive: true });
    await fs.copyFile(file('sops/secrets.yaml').fsPath, file(rel).fsPath);
    const provider = new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS] });
    const log = vscode.window.createOutputChannel('kms-envelope sops changed', { log: true });
    const [mine, other] = [0, 1].map(() => new DecryptedFs(() => provider, (_title, task) => task(), log));
    const uri = vscode.Uri.from({ scheme: 'kms-envelope', path: file(rel).path });
    try {
      const shown = Buffer.from(await mine.readFile(uri)).toString('utf8');
      await other.readFile(uri);
      await new Promise((r) => setTimeout(r, 20)); // a later mtime for the other window's save
      await other.writeFile(uri, Buffer.from(shown.replace(/api_key: .*/, 'api_key: saved-in-the-other-window')), { create: false, overwrite: true });
      await mine.writeFile(uri, Buffer.from(shown.replace(/password: .*/, 'password: saved-from-this-view')), { create: false, overwrite: true });
      const read = await referenceDecrypt(await fs.readFile(file(rel).fsPath, 'utf8'), 'yaml');
      // this view's text, saved over the other window's version (VS Code's conflict flow is the editor's to run)
      assert.equal((read.values as { db: { password: string } }).db.password, 'saved-from-this-view');
      assert.equal((read.values as { api_key: string }).api_key, /api_key: (.*)/.exec(shown)![1]);
    } finally {
      mine.dispose();
      other.dispose();
      log.dispose();
      provider.destroy();
    }
  });
});
