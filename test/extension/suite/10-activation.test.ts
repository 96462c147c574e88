import assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { api } from './helpers';

describe('activation', () => {
  it('activates without loading the AWS SDK', async () => {
    const a = await api();
    assert.equal(a.loadedSdk(), false);
  });

  it('registers every command', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const c of ['encryptSelection', 'decryptSelection', 'encryptFile', 'decryptFile', 'openDecrypted', 'openEncrypted', 'selectProfile', 'selectKey', 'lock', 'rotateDataKey', 'statusMenu', 'showLog']) {
      assert.ok(all.includes(`kmsEnvelope.${c}`), c);
    }
  });
});
