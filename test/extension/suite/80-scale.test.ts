/**
 * A workspace of thousands of files (issue 10): files are classified when VS Code draws them,
 * not by a scan; an encrypted file deep in the tree gets its badge and menus when the explorer
 * reveals it.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { api, cli, closeAll, env, file, until } from './helpers';

const PACKAGES = 40;
const FILES_PER_PACKAGE = 100;

describe('a workspace of thousands of files', function () {
  this.timeout(120_000);
  const deep = () => file(`big/pkg${PACKAGES - 3}/src/config/.env`);

  before(async () => {
    for (let p = 0; p < PACKAGES; p++) {
      const dir = file(`big/pkg${p}/src/config`).fsPath;
      await fs.mkdir(dir, { recursive: true });
      await Promise.all(Array.from({ length: FILES_PER_PACKAGE }, (_, i) => fs.writeFile(path.join(dir, `module${i}.ts`), `export const n = ${i};\n`)));
    }
    await fs.writeFile(deep().fsPath, 'DEEP_SECRET=deep-value\n');
    const r = await cli(['encrypt', path.relative(path.dirname(path.dirname(path.dirname(path.dirname(path.dirname(deep().fsPath))))), deep().fsPath), '-k', env('KMS_ENVELOPE_TEST_KEY')]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await closeAll();
    await fs.rm(file('big').fsPath, { recursive: true, force: true });
  });

  it('an encrypted file deep in the tree gets the E badge and the menus when the explorer reveals it; files never drawn are never read', async () => {
    const a = await api();
    assert.ok(!a.isEncrypted(deep()), 'not classified before anyone looked');
    await vscode.commands.executeCommand('revealInExplorer', deep());
    await until('the revealed file to be classified as encrypted (VS Code asked for its decoration)', () => a.isEncrypted(deep()), 30_000);
    assert.equal((await a.decoration(deep()))?.badge, 'E');
    const total = PACKAGES * FILES_PER_PACKAGE;
    assert.ok(a.classifiedFiles() < total / 4, `${a.classifiedFiles()} of ${total + 1} files were read: only what was drawn should be`);
  });
});
