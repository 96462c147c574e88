import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as vscode from 'vscode';
import { FILES } from '../workspace';
import { activeUri, api, cli, closeAll, file, kms, sleep, until } from './helpers';

const disk = (rel: string) => fs.readFile(file(rel).fsPath, 'utf8');
const select = (editor: vscode.TextEditor, needle: string) => {
  const start = editor.document.getText().indexOf(needle);
  assert.ok(start >= 0, needle);
  editor.selection = new vscode.Selection(editor.document.positionAt(start), editor.document.positionAt(start + needle.length));
};

describe('commands', () => {
  beforeEach(async () => {
    await closeAll();
    await kms.clearLog();
  });

  it('Encrypt File encrypts a plaintext .env in place with one GenerateDataKey', async () => {
    await vscode.commands.executeCommand('kmsEnvelope.encryptFile', file('new.env'));
    const text = await disk('new.env');
    assert.match(text, /^# kms-envelope v1 dotenv\n/);
    assert.ok(!text.includes('fresh-secret-ECHO'));
    assert.deepEqual((await kms.log()).map((e) => e.action), ['GenerateDataKey']);
    assert.equal((await cli(['get', 'new.env', 'TOKEN'])).stdout, 'fresh-secret-ECHO\n');
  });

  it('Encrypt File encrypts any other file whole, and Open Decrypted shows it', async () => {
    await vscode.commands.executeCommand('kmsEnvelope.encryptFile', file('cert.pem'));
    assert.match(await disk('cert.pem'), /^# kms-envelope v1 file\n/);
    await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('cert.pem'));
    await until('the decrypted view', () => activeUri()?.scheme === 'kms-envelope');
    assert.equal(vscode.window.activeTextEditor!.document.getText(), FILES['cert.pem']);
  });

  it('Encrypt Selection replaces the selection by a token, adds the header and saves; Decrypt Selection brings it back', async () => {
    const editor = await vscode.window.showTextDocument(file('config.yaml'));
    select(editor, 'yaml-secret-CHARLIE');
    await vscode.commands.executeCommand('kmsEnvelope.encryptSelection');
    const text = await disk('config.yaml');
    assert.match(text, /^# kms-envelope v1 text\n/);
    assert.match(text, /\n {2}password: ENC\[kmsenv:v1:[\w-]+\]\n$/);
    assert.ok(!text.includes('yaml-secret-CHARLIE'));
    assert.equal(editor.document.isDirty, false);
    assert.equal(editor.document.getText(editor.selection), /ENC\[[^\]]+\]/.exec(text)![0], 'the selection is the whole new token');
    assert.equal((await cli(['decrypt', 'config.yaml', '--stdout'])).stdout, FILES['config.yaml']);
    // read a value without putting it back into the file: the decrypted view (read-only here)
    await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('config.yaml'));
    await until('the decrypted view', () => activeUri()?.scheme === 'kms-envelope');
    const viewUri = vscode.window.activeTextEditor!.document.uri;
    assert.equal(vscode.window.activeTextEditor!.document.getText(), FILES['config.yaml']);
    assert.equal((await vscode.workspace.fs.stat(viewUri)).permissions, vscode.FilePermission.Readonly);
    const onDisk = await disk('config.yaml');
    await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(viewUri, Buffer.from('x: 1\n'))), /NoPermissions|permission/i);
    assert.equal(await disk('config.yaml'), onDisk);
    // the view says what it is and how to change a value; Edit Encrypted Value does, in the file (issue 21, item 5)
    assert.match((await (await api()).decoration(viewUri))?.tooltip ?? '', /read-only: to change a value, put the cursor on it in the file \(Open Encrypted\) and run Edit Encrypted Value/);
    await vscode.window.showTextDocument(editor.document);
    const token = /ENC\[[^\]]+\]/.exec(editor.document.getText())![0];
    editor.selection = new vscode.Selection(editor.document.positionAt(editor.document.getText().indexOf(token) + 5), editor.document.positionAt(editor.document.getText().indexOf(token) + 5));
    await vscode.commands.executeCommand('kmsEnvelope.editEncryptedValue', undefined, { value: 'edited-secret-VICTOR' });
    const edited = await disk('config.yaml');
    assert.ok(!edited.includes('edited-secret-VICTOR') && !edited.includes(token), 'a new token, no plaintext');
    assert.equal(editor.document.isDirty, false, 'saved');
    assert.equal((await cli(['decrypt', 'config.yaml', '--stdout'])).stdout, FILES['config.yaml'].replace('yaml-secret-CHARLIE', 'edited-secret-VICTOR'));
    const at = editor.document.getText().indexOf('ENC[kmsenv:') + 5;
    editor.selection = new vscode.Selection(editor.document.positionAt(at), editor.document.positionAt(at));
    await vscode.commands.executeCommand('kmsEnvelope.editEncryptedValue', undefined, { value: 'yaml-secret-CHARLIE' });
    assert.equal((await cli(['decrypt', 'config.yaml', '--stdout'])).stdout, FILES['config.yaml']);
    await vscode.window.showTextDocument(editor.document);

    select(editor, /ENC\[[^\]]+\]/.exec(editor.document.getText())![0]);
    await vscode.commands.executeCommand('kmsEnvelope.decryptSelection', undefined, { confirmed: true });
    assert.equal(editor.document.getText(), FILES['config.yaml'], 'header removed with the last token');
    assert.ok(editor.document.isDirty, 'the plaintext is not saved unless the user saves');
    await vscode.commands.executeCommand('workbench.action.files.revert');
    assert.match(await disk('config.yaml'), /^# kms-envelope v1 text\n/);
  });

  it('Encrypt Selection refuses a text without a header that holds a token pasted from another file: the file would never open again (security review F5)', async () => {
    const token = /ENC\[kmsenv:v1:[\w-]+\]/.exec(await disk('app/.env'))![0];
    const text = `api: ${token}\ndb_password: pasted-secret-WHISKEY\n`;
    await fs.writeFile(file('pasted.yaml').fsPath, text);
    const editor = await vscode.window.showTextDocument(file('pasted.yaml'));
    select(editor, 'pasted-secret-WHISKEY');
    await vscode.commands.executeCommand('kmsEnvelope.encryptSelection');
    assert.equal((await api()).lastError()?.code, 'FORMAT');
    assert.match((await api()).lastError()?.message ?? '', /pasted\.yaml holds encrypted text \(line 1\) but no kms-envelope header: a value pasted from another file/);
    assert.equal(await disk('pasted.yaml'), text, 'the file unchanged: nothing sealed over the foreign token');
    await closeAll();
    await fs.rm(file('pasted.yaml').fsPath);
  });

  it('Encrypt Selection in JSON keeps the header in a sidecar file', async () => {
    const editor = await vscode.window.showTextDocument(file('settings.json'));
    select(editor, 'json-secret-KILO');
    await vscode.commands.executeCommand('kmsEnvelope.encryptSelection');
    const json = JSON.parse(await disk('settings.json'));
    assert.match(json.token, /^ENC\[kmsenv:v1:[\w-]+\]$/);
    assert.match(await disk('settings.json.kms-envelope'), /^# kms-envelope v1 text\n/);
    assert.equal((await cli(['decrypt', 'settings.json', '--stdout'])).stdout, FILES['settings.json']);
  });

  it('Decrypt File writes the plaintext to disk only when confirmed', async () => {
    await vscode.commands.executeCommand('kmsEnvelope.decryptFile', file('to-decrypt.env'), { confirmed: true });
    assert.equal(await disk('to-decrypt.env'), FILES['to-decrypt.env']);
  });

  it('Rotate Data Key re-encrypts every value under a new data key that the CLI reads', async () => {
    const before = await disk('rotate/.env.production');
    await vscode.commands.executeCommand('kmsEnvelope.rotateDataKey', file('rotate/.env.production'));
    const after = await disk('rotate/.env.production');
    assert.notEqual(/# commitment (\S+)/.exec(after)![1], /# commitment (\S+)/.exec(before)![1]);
    assert.deepEqual((await kms.log()).map((e) => e.action), ['Decrypt', 'GenerateDataKey']);
    assert.equal((await cli(['decrypt', 'rotate/.env.production', '--stdout'])).stdout, FILES['rotate/.env.production']);
  });

  it('Lock closes the decrypted views and wipes the data keys: the next open asks KMS again', async () => {
    await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('app/.env'));
    await until('the view', () => activeUri()?.scheme === 'kms-envelope');
    await vscode.commands.executeCommand('kmsEnvelope.lock');
    assert.equal((await api()).openViews(), 0);
    assert.ok(vscode.window.tabGroups.all.flatMap((g) => g.tabs).every((t) => !(t.input instanceof vscode.TabInputText) || t.input.uri.scheme !== 'kms-envelope'));
    await kms.clearLog();
    await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('app/.env'));
    assert.equal(await kms.count('Decrypt'), 1);
  });

  it('the status bar menu offers profile, key, Lock and the log, and runs the choice', async () => {
    await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('app/.env'));
    await until('the view', async () => (await api()).openViews() === 1);
    const done = vscode.commands.executeCommand('kmsEnvelope.statusMenu');
    await sleep(800);
    for (let i = 0; i < 2; i++) await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext');
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem'); // Lock
    await done;
    await until('the lock', async () => (await api()).openViews() === 0);
  });

  it('Select AWS Profile lists the shared-config profiles, focuses the current one, and switches the credentials', async () => {
    // items: default chain, "default, from your user settings", default, empty, nobody, proc, reader, sso-expired; the current choice is focused
    const keep = vscode.commands.executeCommand('kmsEnvelope.selectProfile');
    await sleep(800);
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem'); // Enter keeps the current profile
    await keep;
    await vscode.commands.executeCommand('kmsEnvelope.lock');
    await kms.clearLog();
    await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('app/.env'));
    assert.equal((await kms.log())[0]?.accessKeyId, 'AKIAADMIN0000000LOCAL', 'still the default profile');

    const done = vscode.commands.executeCommand('kmsEnvelope.selectProfile');
    await sleep(800);
    for (let i = 0; i < 4; i++) await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext');
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await done;
    assert.equal((await api()).profile(), 'proc');
    await vscode.commands.executeCommand('kmsEnvelope.lock');
    await kms.clearLog();
    await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('app/.env'));
    const log = await kms.log();
    assert.equal(log[0]?.accessKeyId, 'AKIAPROCESS00000LOCAL', 'the proc profile (credential_process) is used');

    // the default credential chain, chosen over the user settings' profile: shown as the choice (issue 21, item 9)
    const chain = vscode.commands.executeCommand('kmsEnvelope.selectProfile');
    await sleep(800);
    for (let i = 0; i < 5; i++) await vscode.commands.executeCommand('workbench.action.quickOpenSelectPrevious'); // from proc to the first item
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await chain;
    assert.equal((await api()).profile(), undefined, 'the default chain, not the user settings\' "default"');

    // back to the user settings' profile (no per-workspace choice): the settings decide again
    const back = vscode.commands.executeCommand('kmsEnvelope.selectProfile');
    await sleep(800);
    await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext'); // the focus is on the chain, the current choice
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await back;
    assert.equal((await api()).profile(), 'default');
  });

  it('Select KMS Key offers the account\'s aliases, checks the choice with KMS and stores it outside the repository', async () => {
    await kms.clearLog();
    const done = vscode.commands.executeCommand('kmsEnvelope.selectKey');
    await sleep(1500);
    // the current key (alias/test) is focused; the next item is alias/other
    await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext');
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await done;
    const key = (await api()).key();
    assert.equal(key?.source, 'selected');
    assert.equal(key?.alias, 'alias/other');
    assert.match(key!.ref, /^arn:aws:kms:us-east-1:000000000000:key\//, 'stored as the ARN KMS answered with');
    const log = await kms.log();
    assert.ok(log.some((e) => e.action === 'ListAliases'));
    assert.ok(log.some((e) => e.action === 'DescribeKey'), 'the choice is checked with KMS');
    assert.ok(!existsSync(file('.vscode/settings.json').fsPath), 'nothing is written into the repository');

    // and back to the key of the settings, for the suites that follow
    const back = vscode.commands.executeCommand('kmsEnvelope.selectKey');
    await sleep(1500);
    for (let i = 0; i < 2; i++) await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext');
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await back;
    assert.equal((await api()).key()?.source, 'user');
  });

  it('Add Key to File and Remove Key from File change who can read a file, within the allow-list, and say which key (issue 21, item 8)', async () => {
    await fs.writeFile(file('team.env').fsPath, 'TEAM=secret\n');
    await vscode.commands.executeCommand('kmsEnvelope.encryptFile', file('team.env'));
    await vscode.commands.executeCommand('kmsEnvelope.addKeyToFile', file('team.env'), { key: 'alias/other', confirmed: true });
    const keys = async () => [...(await disk('team.env')).matchAll(/^# -> aws-kms (\S+)/gm)].map((m) => m[1]);
    assert.equal((await keys()).length, 2);
    assert.deepEqual((await kms.log()).map((e) => e.action).filter((a) => a !== 'DescribeKey'), ['GenerateDataKey', 'ReEncrypt']);
    const other = (await keys())[1];
    const before = await disk('team.env');
    await vscode.commands.executeCommand('kmsEnvelope.removeKeyFromFile', file('team.env'), { key: other, confirmed: true });
    assert.deepEqual(await keys(), [(await keys())[0]]);
    assert.notEqual(await disk('team.env'), before, 'a new data key, every value encrypted again');
    assert.equal((await cli(['get', 'team.env', 'TEAM'])).stdout, 'secret\n');
    // a key outside the allow-list is refused before anything is wrapped
    await vscode.commands.executeCommand('kmsEnvelope.addKeyToFile', file('team.env'), { key: 'arn:aws:kms:us-east-1:999999999999:key/11111111-2222-3333-4444-555555555555', confirmed: true });
    assert.equal((await api()).lastError()?.code, 'KEY_NOT_ALLOWED');
    assert.equal((await keys()).length, 1);
  });
});
