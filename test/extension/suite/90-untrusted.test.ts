import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activeUri, api, file, kms, sleep, until } from './helpers';

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

  it('a kms-envelope-head: URI (HEAD\'s version) opened without a command decrypts nothing and calls no KMS', async () => {
    await kms.clearLog();
    const head = vscode.Uri.from({ scheme: 'kms-envelope-head', path: file('app/.env').path, query: 'HEAD' });
    await assert.rejects(Promise.resolve(vscode.workspace.openTextDocument(head)), /not decrypted without a command/);
    assert.equal(await kms.count(), 0);
  });

  it('a debug configuration naming an encrypted envFile is stopped, without a KMS call', async () => {
    await kms.clearLog();
    const config = { type: 'node', request: 'launch', name: 'app', program: file('run/digest.js').fsPath, envFile: file('run/.env').fsPath };
    assert.equal(await (await api()).resolveLaunch(config), undefined);
    assert.equal(await kms.count(), 0);
  });

  it('kmsEnvelope.terminal.envFile, from the workspace\'s settings or the user\'s own, puts nothing into terminals here, without a KMS call', async () => {
    for (const target of [vscode.ConfigurationTarget.Workspace, vscode.ConfigurationTarget.Global]) {
      await kms.clearLog();
      await vscode.workspace.getConfiguration('kmsEnvelope').update('terminal.envFile', 'run/.env', target);
      await sleep(1500);
      assert.deepEqual((await api()).terminalEnv(), [], `target ${target}`);
      assert.equal(await kms.count(), 0);
      await vscode.workspace.getConfiguration('kmsEnvelope').update('terminal.envFile', undefined, target);
    }
  });

  it('still decrypts when the user runs a command explicitly', async () => {
    await kms.clearLog();
    await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('app/.env'));
    await until('the decrypted view', () => activeUri()?.scheme === 'kms-envelope');
    assert.equal(await kms.count('Decrypt'), 1);
  });
});
