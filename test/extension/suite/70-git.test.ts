/**
 * Git in the editor (issue 8): Set Up Git Integration with the extension's own CLI, Open Changes
 * (Decrypted) with HEAD served from memory, a conflicting merge resolved in the decrypted view,
 * and the warning about a secret tracked in clear. Real git, in a repository inside the workspace.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { activeUri, api, cli, closeAll, env, file, until, WORKSPACE } from './helpers';

const ENV = '# database\nDB_HOST=db.internal\nDB_PASSWORD=git-secret-NOVEMBER\n';

describe('git: set up, open changes decrypted, merge conflicts, the plaintext guard', function () {
  this.timeout(90_000);
  const repo = () => path.join(WORKSPACE(), 'gitrepo');
  const envFile = () => file('gitrepo/.env');
  const gitEnv = () => ({ ...process.env, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 't@example.invalid', KMS_ENVELOPE_KEY: env('KMS_ENVELOPE_TEST_KEY') });
  const git = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile('git', args, { cwd: repo(), env: gitEnv() }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr })),
    );
  const ok = async (...args: string[]) => {
    const r = await git(...args);
    assert.equal(r.code, 0, `git ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const inRepo = (args: string[]) => cli(args.map((a) => (a === '.env' ? 'gitrepo/.env' : a)), { KMS_ENVELOPE_KEY: env('KMS_ENVELOPE_TEST_KEY') });

  before(async () => {
    await fs.mkdir(repo(), { recursive: true });
    await ok('init', '-q', '-b', 'main');
    await fs.writeFile(envFile().fsPath, ENV);
    assert.equal((await inRepo(['encrypt', '.env'])).code, 0);
    await ok('add', '.env');
    await ok('commit', '-q', '-m', 'encrypted .env');
  });
  afterEach(closeAll);

  it('Set Up Git Integration configures the repository to run the extension\'s own CLI: git diff then shows plaintext, and the hook runs', async () => {
    await vscode.commands.executeCommand('kmsEnvelope.setUpGit', vscode.Uri.file(repo()));
    assert.match(await fs.readFile(path.join(repo(), '.gitattributes'), 'utf8'), /^\.env diff=kms-envelope merge=kms-envelope -text$/m);
    const textconv = (await ok('config', '--get', 'diff.kms-envelope.textconv')).trim();
    assert.match(textconv, /\.git\/kms-envelope-run textconv$/);
    assert.match(await fs.readFile(path.join(repo(), '.git', 'kms-envelope-run'), 'utf8'), /\nexec \S*kms-envelope-git(?: .*)? --allowed-keys [^\n]+ "\$@"\n$/);
    const s = await cliSet('DB_HOST', 'db2.internal');
    assert.equal(s.code, 0, s.stderr);
    const diff = await ok('diff');
    assert.match(diff, /^-DB_HOST=db\.internal$/m);
    assert.match(diff, /^\+DB_HOST=db2\.internal$/m);
    assert.doesNotMatch(diff, /ENC\[kmsenv/);
    await ok('add', '-A');
    await ok('commit', '-q', '-m', 'git setup, new host'); // through the hook, which passes
    await fs.writeFile(path.join(repo(), '.env.local'), 'TOKEN=plain\n');
    await ok('add', '.env.local');
    const refused = await git('commit', '-m', 'plaintext');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /\.env\.local: not encrypted/);
    await ok('reset', '-q', '.env.local');
    await fs.rm(path.join(repo(), '.env.local'));
  });

  it('Compare with HEAD (Decrypted) shows HEAD decrypted (from memory, read-only) against the decrypted view', async () => {
    assert.equal((await cliSet('DB_PASSWORD', 'git-secret-OSCAR')).code, 0);
    await vscode.commands.executeCommand('kmsEnvelope.openChangesDecrypted', envFile());
    const tab = await until('a diff editor', () => {
      const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      return input instanceof vscode.TabInputTextDiff && input;
    });
    assert.equal(tab.original.scheme, 'kms-envelope-head');
    assert.equal(tab.modified.scheme, 'kms-envelope');
    const left = (await vscode.workspace.openTextDocument(tab.original)).getText();
    const right = (await vscode.workspace.openTextDocument(tab.modified)).getText();
    assert.match(left, /^DB_PASSWORD=git-secret-NOVEMBER$/m);
    assert.match(right, /^DB_PASSWORD=git-secret-OSCAR$/m);
    assert.equal(left.replace('NOVEMBER', 'OSCAR'), right);
    await closeAll();

    // git's own Open Changes of the .env (the Source Control view's click) shows the same, not two placeholders
    const repository = await openRepository();
    await until('git to see the change', async () => {
      await repository.status();
      return repository.state.workingTreeChanges.some((c) => c.uri.path === envFile().path);
    });
    await vscode.commands.executeCommand('git.openChange', envFile());
    const viaGit = await until('a text diff from git.openChange', () => {
      const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs);
      const diff = tabs.find((t) => t.input instanceof vscode.TabInputTextDiff);
      return diff && tabs.length === 1 && (diff.input as vscode.TabInputTextDiff);
    });
    assert.equal(viaGit.original.scheme, 'kms-envelope-head');
    assert.equal(viaGit.modified.scheme, 'kms-envelope');
    await ok('commit', '-q', '-am', 'new password');
  });

  it('a conflicting merge leaves markers that the decrypted view shows with plaintext; resolved there and saved, the file is valid and commits', async () => {
    await ok('checkout', '-q', '-b', 'theirs');
    assert.equal((await cliSet('DB_PASSWORD', 'theirs-PAPA')).code, 0);
    await ok('commit', '-q', '-am', 'theirs');
    await ok('checkout', '-q', 'main');
    assert.equal((await cliSet('DB_PASSWORD', 'ours-QUEBEC')).code, 0);
    await ok('commit', '-q', '-am', 'ours');
    const merge = await git('merge', '--no-edit', 'theirs');
    assert.notEqual(merge.code, 0);
    assert.match(await fs.readFile(envFile().fsPath, 'utf8'), /^<<<<<<< ours$/m);

    await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', envFile());
    const editor = await until('the decrypted view', () => activeUri()?.scheme === 'kms-envelope' && activeUri()?.path.endsWith('gitrepo/.env') && vscode.window.activeTextEditor);
    const text = editor.document.getText();
    assert.match(text, /<<<<<<< ours\nDB_PASSWORD=ours-QUEBEC\n=======\nDB_PASSWORD=theirs-PAPA\n>>>>>>> theirs\n/);
    const resolved = text.replace(/<<<<<<< ours\n(DB_PASSWORD=ours-QUEBEC\n)=======\n[^\n]*\n>>>>>>> theirs\n/, '$1');
    await editor.edit((b) => b.replace(new vscode.Range(0, 0, editor.document.lineCount, 0), resolved));
    assert.ok(await editor.document.save());

    const get = await inRepo(['get', '.env', 'DB_PASSWORD']);
    assert.equal(get.stdout.trim(), 'ours-QUEBEC', get.stderr);
    assert.equal((await inRepo(['check', '.env'])).code, 0);
    await ok('add', '.env');
    await ok('commit', '-q', '--no-edit');
    assert.doesNotMatch(await fs.readFile(envFile().fsPath, 'utf8'), /ours-QUEBEC|theirs-PAPA|<<<<<<</);
  });

  it('a secret file tracked in clear gets a warning with Encrypt File, once', async () => {
    const plain = file('gitrepo/.env.staging');
    await fs.writeFile(plain.fsPath, 'TOKEN=tracked-in-clear\n');
    await ok('add', '.env.staging');
    await ok('commit', '-q', '--no-verify', '-m', 'a mistake');
    await openRepository();
    await vscode.window.showTextDocument(plain);
    const a = await api();
    await until('the guard\'s warning', () => a.guardWarnings().includes(plain.path));
    assert.equal(a.guardWarnings().filter((p) => p === plain.path).length, 1);
    await closeAll();
    await vscode.window.showTextDocument(plain);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(a.guardWarnings().filter((p) => p === plain.path).length, 1, 'once per file per session');
  });

  /** Makes sure VS Code's git extension knows the repository (it finds one created after startup only later). */
  interface GitRepository {
    status(): Promise<void>;
    state: { workingTreeChanges: { uri: vscode.Uri }[] };
  }
  async function openRepository(): Promise<GitRepository> {
    const gitExt = vscode.extensions.getExtension<{ getAPI(v: 1): { openRepository(u: vscode.Uri): Promise<GitRepository | null> } }>('vscode.git')!;
    const repository = await (gitExt.isActive ? gitExt.exports : await gitExt.activate()).getAPI(1).openRepository(vscode.Uri.file(repo()));
    assert.ok(repository, 'the git extension opened the repository');
    return repository;
  }

  async function cliSet(name: string, value: string) {
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [env('KMS_ENVELOPE_CLI'), 'set', '.env', name], { cwd: repo(), env: { ...gitEnv(), ELECTRON_RUN_AS_NODE: '1' } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin!.end(`${value}\n`);
    });
  }
});
