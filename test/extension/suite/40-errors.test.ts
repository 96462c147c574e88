import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as vscode from 'vscode';
import { activeUri, api, closeAll, env, file, kms, sleep, tabsOf, until } from './helpers';

const config = () => vscode.workspace.getConfiguration('kmsEnvelope');
// the profile is a user setting (application scope: a workspace cannot choose credentials)
const setProfile = (p: string | undefined) => config().update('profile', p ?? 'default', vscode.ConfigurationTarget.Global);

/** Runs a command and returns the error it reported to the user. */
async function reported(command: string, ...args: unknown[]) {
  const a = await api();
  const before = a.lastError();
  await vscode.commands.executeCommand(command, ...args);
  return until('an error message', () => a.lastError() !== before && a.lastError());
}

describe('error paths against the local KMS: a message that says what to do, the file unchanged', () => {
  let bytes: Buffer;
  beforeEach(async () => {
    await closeAll();
    await vscode.commands.executeCommand('kmsEnvelope.lock');
    await kms.clearLog();
    await kms.clearFaults();
    bytes = await fs.readFile(file('app/.env').fsPath);
  });
  afterEach(async () => {
    await kms.clearFaults();
    await setProfile(undefined);
    assert.deepEqual(await fs.readFile(file('app/.env').fsPath), bytes, 'the encrypted file is byte-identical');
  });

  it('access denied names the action, the key and the profile', async () => {
    await setProfile('nobody');
    const e = await reported('kmsEnvelope.openDecrypted', file('app/.env'));
    assert.equal(e.code, 'ACCESS_DENIED');
    assert.match(e.message, new RegExp(`kms:Decrypt on ${env('KMS_ENVELOPE_TEST_KEY')} for profile "nobody"`));
    assert.equal((await api()).openViews(), 0);
  });

  it('an expired SSO session says which aws sso login fixes it', async () => {
    await setProfile('sso-expired');
    const e = await reported('kmsEnvelope.openDecrypted', file('app/.env'));
    assert.equal(e.code, 'SSO_EXPIRED');
    assert.match(e.message, /aws sso login --profile sso-expired/);
  });

  it('no credentials points to Select AWS Profile', async () => {
    await setProfile('empty');
    const e = await reported('kmsEnvelope.openDecrypted', file('app/.env'));
    assert.equal(e.code, 'NO_CREDENTIALS');
    assert.match(e.message, /Select AWS Profile/);
  });

  it('throttling is retried a bounded number of times, then reported; nothing is written', async () => {
    await fs.writeFile(file('throttled.env').fsPath, 'X=throttled-value\n');
    await kms.fault({ kind: 'throttle', action: 'GenerateDataKey', times: 1000 });
    const e = await reported('kmsEnvelope.encryptFile', file('throttled.env'));
    assert.equal(e.code, 'KMS_UNAVAILABLE');
    assert.match(e.message, /ThrottlingException/);
    assert.equal(await kms.count('GenerateDataKey'), 3);
    assert.equal(await fs.readFile(file('throttled.env').fsPath, 'utf8'), 'X=throttled-value\n');
    await fs.unlink(file('throttled.env').fsPath);
  });

  it('an unreachable endpoint is reported, and the decrypted view is not opened', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_KMS;
    process.env.AWS_ENDPOINT_URL_KMS = 'http://127.0.0.1:9';
    await config().update('cacheMaxAgeSeconds', 299, vscode.ConfigurationTarget.Workspace); // new client
    try {
      const e = await reported('kmsEnvelope.openDecrypted', file('app/.env'));
      assert.equal(e.code, 'KMS_UNAVAILABLE');
    } finally {
      process.env.AWS_ENDPOINT_URL_KMS = saved;
      await config().update('cacheMaxAgeSeconds', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('a hung KMS is given up after kmsEnvelope.kmsTimeoutSeconds, naming the endpoint; clicking the file again retries', async () => {
    await config().update('kmsTimeoutSeconds', 2, vscode.ConfigurationTarget.Global);
    await kms.fault({ kind: 'delay', action: 'Decrypt', times: 1, delayMs: 30_000 });
    try {
      const a = await api();
      const before = a.lastError();
      const started = Date.now();
      await vscode.window.showTextDocument(file('app/.env'));
      const e = await until('an error message', () => a.lastError() !== before && a.lastError(), 20_000);
      assert.equal(e.code, 'KMS_UNAVAILABLE', e.message);
      assert.match(e.message, /within 2 s/);
      assert.match(e.message, new RegExp(`at ${env('KMS_ENVELOPE_TEST_KMS').replace(/[.:/]/g, '\\$&')}`));
      assert.ok(Date.now() - started < 15_000, 'bounded by the setting, not by the SDK\'s retries');
      assert.equal(vscode.window.activeTextEditor?.document.uri.scheme, 'file', 'the ciphertext stays shown');
      // KMS answers again; the user clicks another file, then this one: it opens decrypted
      await kms.clearFaults();
      await vscode.window.showTextDocument(file('README.md'));
      await vscode.window.showTextDocument(file('app/.env'));
      await until('the decrypted view', () => vscode.window.activeTextEditor?.document.uri.scheme === 'kms-envelope');
    } finally {
      await config().update('kmsTimeoutSeconds', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('opening the file again after a failed open shows the view in place of the failed attempt\'s ciphertext tab, not beside it', async () => {
    await kms.fault({ kind: 'reset', action: 'Decrypt', times: 1000 }); // JSON: Infinity would arrive as null
    const a = await api();
    const before = a.lastError();
    await vscode.commands.executeCommand('vscode.open', file('app/.env')); // as the explorer opens it: the opener's placeholder first
    assert.equal((await until('an error message', () => a.lastError() !== before && a.lastError(), 30_000)).code, 'KMS_UNAVAILABLE');
    await until('the failed attempt\'s ciphertext tab', () => tabsOf('app/.env').length === 1 && activeUri()?.scheme === 'file');
    await kms.clearFaults();
    await vscode.commands.executeCommand('vscode.open', file('README.md'));
    await vscode.commands.executeCommand('vscode.open', file('app/.env')); // the placeholder opens beside that tab
    await until('the decrypted view', () => activeUri()?.scheme === 'kms-envelope');
    await until('one tab of app/.env, the view', () => tabsOf('app/.env').length === 1);
    await sleep(500);
    const tabs = tabsOf('app/.env').map((t) => (t.input as { uri: vscode.Uri }).uri.scheme);
    assert.deepEqual(tabs, ['kms-envelope']);
  });

  it('a failed open of a file whose decrypted view is already in the column leaves that view shown, with no ciphertext tab beside it', async () => {
    await vscode.commands.executeCommand('vscode.open', file('app/.env'));
    await until('the decrypted view', () => activeUri()?.scheme === 'kms-envelope' && tabsOf('app/.env').length === 1);
    // the file changes on disk (same bytes, a new mtime) and the data-key cache is new (a settings
    // change makes a new provider; Lock would close the view): the next open must ask KMS, which fails
    await config().update('cacheMaxAgeSeconds', 299, vscode.ConfigurationTarget.Workspace);
    await kms.fault({ kind: 'reset', action: 'Decrypt', times: 1000 });
    try {
      const now = new Date();
      await fs.utimes(file('app/.env').fsPath, now, new Date(now.getTime() + 5_000));
      await sleep(1000); // the view follows its file: its own attempt fails too
      await vscode.commands.executeCommand('vscode.open', file('app/.env')); // as the explorer does: the opener's placeholder
      await until('the placeholder', () => tabsOf('app/.env').some((t) => t.input instanceof vscode.TabInputCustom), 10_000);
      await until('no placeholder left', () => tabsOf('app/.env').every((t) => t.input instanceof vscode.TabInputText), 30_000);
      await sleep(500);
      const tabs = tabsOf('app/.env').map((t) => (t.input as { uri: vscode.Uri }).uri.scheme);
      assert.deepEqual(tabs, ['kms-envelope'], 'the view, and no ciphertext tab beside it');
    } finally {
      await config().update('cacheMaxAgeSeconds', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('a tampered file is refused, naming the entry, when it is opened', async () => {
    const text = bytes.toString('utf8');
    const tampered = text.replace(/API_KEY=ENC\[kmsenv:v1:(.)/, (_m, c) => `API_KEY=ENC[kmsenv:v1:${c === 'A' ? 'B' : 'A'}`);
    await fs.mkdir(file('tampered').fsPath, { recursive: true });
    await fs.writeFile(file('tampered/.env').fsPath, tampered);
    const a = await api();
    const before = a.lastError();
    await vscode.window.showTextDocument(file('tampered/.env'));
    const e = await until('an error message', () => a.lastError() !== before && a.lastError());
    assert.equal(e.code, 'TAMPERED');
    assert.match(e.message, /entry API_KEY \(line \d+\)/);
    assert.equal(vscode.window.activeTextEditor?.document.uri.scheme, 'file', 'the ciphertext stays shown');
    assert.equal(await fs.readFile(file('tampered/.env').fsPath, 'utf8'), tampered);
  });
});
