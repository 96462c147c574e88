import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activeUri, file, kms, sleep, until } from './helpers';

describe('untrusted workspace', () => {
  it('runs in restricted mode', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  it('does not decrypt on open, and calls no KMS without a command', async () => {
    await kms.clearLog();
    await vscode.window.showTextDocument(file('app/.env'));
    await sleep(2000);
    assert.equal(activeUri()?.scheme, 'file');
    assert.match(vscode.window.activeTextEditor!.document.getText(), /^# kms-envelope v1 dotenv/);
    assert.equal(await kms.count(), 0);
  });

  it('a kms-envelope: URI opened without a command (a restored tab, a link) decrypts nothing and calls no KMS', async () => {
    await kms.clearLog();
    const view = vscode.Uri.from({ scheme: 'kms-envelope', path: file('app/.env').path });
    await assert.rejects(Promise.resolve(vscode.workspace.fs.readFile(view)), /not decrypted without a command/);
    assert.equal(await kms.count(), 0);
  });

  it('still decrypts when the user runs a command explicitly', async () => {
    await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('app/.env'));
    await until('the decrypted view', () => activeUri()?.scheme === 'kms-envelope');
    assert.equal(await kms.count('Decrypt'), 1);
  });
});
