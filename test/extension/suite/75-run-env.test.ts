/**
 * Secrets where code runs (issue 9): a Node debug session launched from launch.json with an
 * encrypted envFile, a `kms-envelope` task from tasks.json, a terminal from *New Terminal with
 * .env…*, and the opt-in values for every new terminal, then Lock. Each program writes digests
 * of what it got (run/digest.js, or `printenv | sha256sum`), never a value; after each, the
 * user-data folder, HOME and TMPDIR are scanned for the plaintext.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Script } from 'node:vm';
import { commonJsWrapper } from '../../../src/code-cache';
import { scanForPlaintext } from '../scan';
import { api, cli, closeAll, env, file, kms, scanBrowserStorage, until, WORKSPACE } from './helpers';

const SECRET = 'run-secret-ROMEO';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
interface Digest {
  secret: string | null;
  mode: string | null;
  nodeOptions: string | null;
}

describe('debug sessions, tasks and terminals get the decrypted values in memory', function () {
  this.timeout(90_000);
  const out = (name: string) => path.join(WORKSPACE(), 'run', name);
  const read = (name: string) => until(`${name} to be written`, () => fs.readFile(out(name), 'utf8').then((t) => (t.length > 0 ? t : undefined), () => undefined), 30_000);
  const digestOf = async (name: string) => JSON.parse(await read(name)) as Digest;
  /** Nothing of the secret under code-server's user-data folder, HOME, TMPDIR or the workspace. */
  const noPlaintextOnDisk = () => assert.deepEqual(scanForPlaintext([env('KMS_ENVELOPE_TEST_SCRATCH'), WORKSPACE()], [SECRET]), []);
  const folder = () => vscode.workspace.workspaceFolders![0];
  /** A terminal's shell runs this; its output goes to a file of the workspace. */
  const inTerminal = async (t: vscode.Terminal, outName: string) => {
    await fs.rm(out(outName), { force: true });
    t.sendText(`printenv RUN_SECRET | sha256sum | cut -d' ' -f1 > ${out(outName)}.tmp; mv ${out(outName)}.tmp ${out(outName)}`);
    return (await read(outName)).trim();
  };

  beforeEach(async () => {
    await vscode.commands.executeCommand('kmsEnvelope.lock');
    await kms.clearLog();
  });
  afterEach(closeAll);
  after(async () => {
    for (const t of vscode.window.terminals) t.dispose();
    await vscode.workspace.getConfiguration('kmsEnvelope').update('terminal.envFile', undefined, vscode.ConfigurationTarget.Workspace);
  });

  it('a Node debug session from launch.json gets its encrypted envFile decrypted into env (launch.json\'s env wins, NODE_OPTIONS from the file is left out): one KMS call, none on the next launch', async () => {
    for (const run of [1, 2]) {
      await fs.rm(out('debug-out.json'), { force: true });
      const ended = new Promise<void>((resolve) => {
        const sub = vscode.debug.onDidTerminateDebugSession(() => (sub.dispose(), resolve()));
      });
      assert.equal(await vscode.debug.startDebugging(folder(), 'digest'), true, `launch ${run} started`);
      const got = await digestOf('debug-out.json');
      assert.equal(got.secret, sha256(SECRET), `launch ${run}: the program saw the decrypted value`);
      assert.equal(got.mode, 'from-launch', 'a value already in the configuration\'s env wins');
      assert.ok(!got.nodeOptions?.includes('evil'), `NODE_OPTIONS from the file was left out (${got.nodeOptions})`);
      await ended;
    }
    assert.equal(await kms.count('Decrypt'), 1, 'one Decrypt for two launches (the data key stays cached)');
    noPlaintextOnDisk();
  });

  it('debug configurations: a plain envFile is passed through untouched, a tampered one stops the launch with the error, a whole-file one is refused', async () => {
    const a = await api();
    const plain = { type: 'node', request: 'launch', name: 'plain', program: 'x.js', envFile: file('run/plain.env').fsPath, env: { A: '1' } };
    await fs.writeFile(plain.envFile, 'PLAIN=1\n');
    assert.deepEqual(await a.resolveLaunch(plain), plain);
    const missing = { ...plain, envFile: file('run/none.env').fsPath };
    assert.deepEqual(await a.resolveLaunch(missing), missing, 'a missing file is the adapter\'s to report');

    const text = await fs.readFile(file('run/.env').fsPath, 'utf8');
    const token = /ENC\[kmsenv:v1:([A-Za-z0-9_-]+)\]/.exec(text)![1];
    await fs.writeFile(file('run/tampered.env').fsPath, text.replace(token, token.slice(0, 30) + (token[30] === 'A' ? 'B' : 'A') + token.slice(31)));
    assert.equal(await a.resolveLaunch({ ...plain, envFile: [plain.envFile, file('run/tampered.env').fsPath] }), undefined);
    assert.match(a.lastError()?.code ?? '', /TAMPERED|FORMAT/);
    assert.equal(await vscode.debug.startDebugging(folder(), { ...plain, name: 'tampered', envFile: file('run/tampered.env').fsPath }), false, 'the launch is stopped');

    // a committer strips the header of an env file this workspace launched encrypted (security review U2)
    const launched = { ...plain, name: 'was encrypted', envFile: file('run/stripped.env').fsPath };
    await fs.writeFile(launched.envFile, 'NODE_OPTIONS=--require ./evil.js\nA=1\n');
    assert.equal((await cli(['encrypt', 'run/stripped.env'], { KMS_ENVELOPE_KEY: env('KMS_ENVELOPE_TEST_KEY') })).code, 0);
    assert.ok(await a.resolveLaunch(launched), 'launched with its decrypted values');
    await fs.writeFile(launched.envFile, 'NODE_OPTIONS=--require ./evil.js\nA=1\n');
    assert.equal(await a.resolveLaunch(launched), undefined, 'a plain file that was encrypted is refused');
    // one that lost only its first header line is damaged, whoever launched it before
    await fs.writeFile(file('run/damaged.env').fsPath, text.split('\n').slice(1).join('\n'));
    assert.equal(await a.resolveLaunch({ ...plain, envFile: file('run/damaged.env').fsPath }), undefined);
    assert.deepEqual(await a.resolveLaunch(plain), plain, 'a plain file never encrypted is still the adapter\'s');

    await fs.writeFile(file('run/whole.bin').fsPath, 'X=1\n');
    assert.equal((await cli(['encrypt', 'run/whole.bin'], { KMS_ENVELOPE_KEY: env('KMS_ENVELOPE_TEST_KEY') })).code, 0);
    assert.equal(await a.resolveLaunch({ ...plain, envFile: file('run/whole.bin').fsPath }), undefined);
    assert.equal(a.lastError()?.code, 'USAGE');
  });

  it('a kms-envelope task from tasks.json runs its command with the decrypted values; nothing about the task on disk holds a value', async () => {
    await fs.rm(out('task-out.json'), { force: true });
    const task = (await vscode.tasks.fetchTasks({ type: 'kms-envelope' })).find((t) => t.name === 'digest-task');
    assert.ok(task, 'the task of tasks.json is listed');
    const ended = new Promise<void>((resolve) => {
      const sub = vscode.tasks.onDidEndTask((e) => e.execution.task.name === 'digest-task' && (sub.dispose(), resolve()));
    });
    await vscode.tasks.executeTask(task);
    const got = await digestOf('task-out.json');
    assert.equal(got.secret, sha256(SECRET));
    assert.equal(got.mode, 'from-file');
    assert.equal(got.nodeOptions, null, 'NODE_OPTIONS from the file was left out');
    await ended;
    assert.equal(await kms.count('Decrypt'), 1);
    noPlaintextOnDisk();
  });

  it('a shell kms-envelope task runs its command line through the shell with the values (its args quoted)', async () => {
    await fs.rm(out('shell out.txt'), { force: true });
    const task = (await vscode.tasks.fetchTasks({ type: 'kms-envelope' })).find((t) => t.name === 'shell-task');
    assert.ok(task, 'the task of tasks.json is listed');
    await vscode.tasks.executeTask(task);
    assert.equal((await read('shell out.txt')).trim(), sha256(`${SECRET}\n`));
  });

  it('New Terminal with .env… opens a transient terminal whose shell has the values (printenv | sha256sum)', async () => {
    const before = vscode.window.terminals.length;
    await vscode.commands.executeCommand('kmsEnvelope.newTerminal', file('run/.env'));
    const t = await until('the terminal', () => vscode.window.terminals.length > before && vscode.window.terminals[vscode.window.terminals.length - 1]);
    assert.equal((t.creationOptions as vscode.TerminalOptions).isTransient, true, 'not persisted or revived by VS Code');
    assert.equal(await inTerminal(t, 'terminal-out.txt'), sha256(`${SECRET}\n`));
    assert.equal(await kms.count('Decrypt'), 1);
    t.dispose();
    noPlaintextOnDisk();
  });

  it('the opt-in setting gives every new terminal the values, through a collection that is not persisted; Lock clears it', async () => {
    const a = await api();
    await vscode.workspace.getConfiguration('kmsEnvelope').update('terminal.envFile', 'run/.env', vscode.ConfigurationTarget.Workspace);
    await until('the values in the collection', () => a.terminalEnv().includes('RUN_SECRET'));
    assert.ok(!a.terminalEnv().includes('NODE_OPTIONS'), 'loader variables are left out');
    const t = vscode.window.createTerminal({ name: 'plain terminal' });
    assert.equal(await inTerminal(t, 'collection-out.txt'), sha256(`${SECRET}\n`));
    noPlaintextOnDisk();
    await scanBrowserStorage(); // while the collection holds the values (persistent = false keeps them out)
    t.dispose();

    await vscode.commands.executeCommand('kmsEnvelope.lock');
    assert.deepEqual(a.terminalEnv(), []);
    const after = vscode.window.createTerminal({ name: 'after lock' });
    assert.equal(await inTerminal(after, 'locked-out.txt'), sha256(''), 'a terminal opened after Lock has no value');
    after.dispose();
  });

  it('the workspace\'s settings cannot point the terminals at a file outside the workspace (a symlink included)', async () => {
    const a = await api();
    const outside = path.join(WORKSPACE(), '..', 'elsewhere.env');
    await fs.copyFile(file('run/.env').fsPath, outside);
    await fs.rm(file('run/link.env').fsPath, { force: true });
    await fs.symlink(outside, file('run/link.env').fsPath);
    for (const value of [outside, 'run/link.env']) {
      await vscode.workspace.getConfiguration('kmsEnvelope').update('terminal.envFile', value, vscode.ConfigurationTarget.Workspace);
      await new Promise((r) => setTimeout(r, 1000));
      assert.deepEqual(a.terminalEnv(), [], value);
    }
    assert.equal(await kms.count('Decrypt'), 0);
  });
});

describe('the extension\'s bundles load through a V8 code cache', function () {
  this.timeout(60_000);
  // a later session then loads the SDK in ~25 ms of the host's thread instead of ~60-120 (the first open's longest slice)
  it('of their own, made after their first use: 0600 in the user\'s cache folder, and accepted by V8 for exactly this source', async () => {
    await vscode.commands.executeCommand('kmsEnvelope.openDecrypted', file('app/.env')); // loads both, if no suite did yet
    const dir = path.join(env('XDG_CACHE_HOME'), 'kms-envelope');
    const dist = path.join(vscode.extensions.getExtension('kms-envelope.kms-envelope')!.extensionPath, 'dist');
    for (const bundle of ['extension-engine', 'kms-runtime']) {
      const named = new RegExp(`^vscode-${bundle}-[0-9a-f]{32}\\.v8$`);
      const name = await until(`the code cache of ${bundle}`, async () => (await fs.readdir(dir).catch(() => [] as string[])).find((n) => named.test(n)), 30_000);
      const cache = path.join(dir, name);
      assert.equal((await fs.stat(cache)).mode & 0o777, 0o600);
      const source = await fs.readFile(path.join(dist, `${bundle}.js`), 'utf8');
      const script = new Script(commonJsWrapper(source), { cachedData: await fs.readFile(cache) });
      assert.equal(script.cachedDataRejected, false, `V8 refused the cache of ${bundle}`);
    }
    await closeAll();
  });
});
