import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PROCESS, Sandbox, startSandbox } from '../support/aws-sandbox';
import { runCli, runProgram } from '../support/cli';

const ROOT = path.join(__dirname, '../..');
const ACTION = path.join(ROOT, 'action/index.js');
const ENV = 'DB_PASSWORD="correct horse % battery"\nCERT="-----BEGIN-----\nline-two-secret\n-----END-----"\nNODE_OPTIONS=--require=/tmp/evil.js\nGIT_CONFIG_COUNT=1\nEMPTY=\n';

/** Reads a GITHUB_ENV / GITHUB_OUTPUT file as the runner does: NAME=value lines and NAME<<DELIMITER blocks. */
function readRunnerFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2], i + 1);
      assert.ok(end > i, `no closing delimiter for ${heredoc[1]}`);
      out[heredoc[1]] = lines.slice(i + 1, end).join('\n');
      i = end;
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `not a runner file line: ${line}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

/** The values the runner would mask, from the `::add-mask::` commands printed so far (unescaped as the runner does). */
const masksIn = (stdout: string): string[] =>
  [...stdout.matchAll(/^::add-mask::(.*)$/gm)].map((m) => m[1].replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%'));

describe('GitHub Action (action.yml): run as a runner runs it, INPUT_* variables, GITHUB_ENV and workflow commands (against the local KMS)', function () {
  let sb: Sandbox;
  let ws: string;
  let githubEnv: string;
  let githubOutput: string;

  /** `node action/index.js` in the workspace, with the runner's variables and `with:` inputs. */
  const action = (inputs: Record<string, string>, env: Record<string, string> = {}) => {
    const vars: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', GITHUB_ENV: githubEnv, GITHUB_OUTPUT: githubOutput, GITHUB_WORKSPACE: ws, RUNNER_TEMP: sb.dir };
    for (const [name, value] of Object.entries(inputs)) vars[`INPUT_${name.toUpperCase()}`] = value;
    return runProgram(process.execPath, [ACTION], { cwd: ws, env: { ...vars, ...env } });
  };
  /** The credentials aws-actions/configure-aws-credentials leaves after assuming a role with OIDC: variables only, no files. */
  const oidc = () => ({
    AWS_ACCESS_KEY_ID: PROCESS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: PROCESS.secretAccessKey,
    AWS_SESSION_TOKEN: PROCESS.sessionToken,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_KMS: sb.env.AWS_ENDPOINT_URL_KMS,
    AWS_EC2_METADATA_DISABLED: 'true',
    HOME: path.join(sb.dir, 'runner-home'),
  });

  before(async () => {
    sb = await startSandbox();
  });
  after(() => sb.close());
  beforeEach(async () => {
    ws = await fs.mkdtemp(path.join(sb.dir, 'ws-'));
    githubEnv = path.join(ws, '..', `${path.basename(ws)}-env`);
    githubOutput = path.join(ws, '..', `${path.basename(ws)}-output`);
    await fs.writeFile(githubEnv, '');
    await fs.writeFile(githubOutput, '');
    await fs.writeFile(path.join(ws, '.env'), ENV);
    const r = await runCli(['encrypt', '.env', '--key', sb.keyArn], { cwd: ws, env: { ...sb.env, AWS_PROFILE: 'default' } });
    assert.equal(r.code, 0, r.stderr);
    sb.kms.log.length = 0;
  });

  it('exports the values to later steps through GITHUB_ENV (multi-line safe), with the OIDC role\'s variables and one KMS call', async () => {
    const r = await action({ keys: sb.keyArn }, oidc());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const exported = readRunnerFile(await fs.readFile(githubEnv, 'utf8'));
    assert.deepEqual(exported, { DB_PASSWORD: 'correct horse % battery', CERT: '-----BEGIN-----\nline-two-secret\n-----END-----', EMPTY: '' });
    assert.deepEqual(readRunnerFile(await fs.readFile(githubOutput, 'utf8')), { names: 'DB_PASSWORD,CERT,EMPTY' });
    assert.equal(sb.kms.count('Decrypt'), 1);
    assert.equal(sb.kms.count(), 1, 'one KMS call in all');
  });

  it('masks every value, and every line of a multi-line value, before it prints anything else; no value is printed', async () => {
    const r = await action({ keys: sb.keyArn }, oidc());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    const firstOther = lines.findIndex((l) => !l.startsWith('::add-mask::'));
    assert.ok(firstOther > 0 && lines.slice(firstOther).every((l) => !l.startsWith('::add-mask::')), `masks come first:\n${r.stdout}`);
    const masks = masksIn(r.stdout);
    for (const secret of ['correct horse % battery', '-----BEGIN-----\nline-two-secret\n-----END-----', 'line-two-secret', '--require=/tmp/evil.js']) assert.ok(masks.includes(secret), `masked: ${secret}`);
    const unmasked = lines.slice(firstOther).join('\n') + r.stderr;
    for (const secret of ['correct horse', 'line-two-secret', 'evil.js']) assert.ok(!unmasked.includes(secret), `printed: ${secret}`);
  });

  it('leaves out loader variables (NODE_OPTIONS, GIT_CONFIG_COUNT) with a warning that names them; allow-env takes one', async () => {
    let r = await action({ keys: sb.keyArn }, oidc());
    assert.match(r.stdout, /^::warning::.*NODE_OPTIONS, GIT_CONFIG_COUNT/m);
    await fs.writeFile(githubEnv, '');
    r = await action({ keys: sb.keyArn, 'allow-env': 'NODE_OPTIONS' }, oidc());
    assert.equal(r.code, 0, r.stdout);
    const exported = readRunnerFile(await fs.readFile(githubEnv, 'utf8'));
    assert.equal(exported.NODE_OPTIONS, '--require=/tmp/evil.js');
    assert.equal(exported.GIT_CONFIG_COUNT, undefined);
  });

  it('run: the command gets the values and its exit code is the step\'s; nothing reaches GITHUB_ENV', async () => {
    const check = `test "$DB_PASSWORD" = 'correct horse % battery' && test -z "$NODE_OPTIONS" && exit 7`;
    const r = await action({ keys: sb.keyArn, run: check }, oidc());
    assert.equal(r.code, 7, r.stdout + r.stderr);
    assert.equal(await fs.readFile(githubEnv, 'utf8'), '');
  });

  it('refuses a file without a kms-envelope header, with an error annotation and the CLI\'s exit code; nothing exported', async () => {
    await fs.writeFile(path.join(ws, 'plain.env'), 'DB_PASSWORD=from-a-committer\n');
    const r = await action({ keys: sb.keyArn, files: '.env\nplain.env' }, oidc());
    assert.equal(r.code, 3);
    assert.match(r.stdout, /^::error title=kms-envelope::plain\.env has no kms-envelope header/m);
    assert.equal(await fs.readFile(githubEnv, 'utf8'), '');
  });

  it('uses only allowed keys: a file wrapped for a key outside allowed-keys is refused before any KMS call', async () => {
    const r = await action({ 'allowed-keys': sb.otherKeyArn }, oidc());
    assert.equal(r.code, 7, r.stdout);
    assert.match(r.stdout, /^::error/m);
    assert.equal(sb.kms.count(), 0);
  });

  it('a profile input reads the shared config files, as on a self-hosted runner', async () => {
    const r = await action({ keys: sb.keyArn, profile: 'default', export: 'true' }, { ...sb.env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(readRunnerFile(await fs.readFile(githubEnv, 'utf8')).DB_PASSWORD, 'correct horse % battery');
  });

  it('action.yml runs the committed bundle with node20, and declares every input the action reads', () => {
    const manifest = parseYaml(readFileSync(path.join(ROOT, 'action.yml'), 'utf8')) as { runs: { using: string; main: string }; inputs: Record<string, unknown> };
    assert.deepEqual(manifest.runs, { using: 'node20', main: 'action/index.js' });
    const read = [...readFileSync(path.join(ROOT, 'src/action/main.ts'), 'utf8').matchAll(/[iI]nput\(env, '([a-z-]+)'/g)].map((m) => m[1]);
    assert.deepEqual([...new Set(read)].sort(), Object.keys(manifest.inputs).sort());
  });

  it('action/index.js in git is the build of the current sources (a runner runs the committed file)', () => {
    // npm test builds before this suite: a stale committed bundle shows as a change
    const tracked = execFileSync('git', ['ls-files', '--', 'action/index.js'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(tracked.trim(), 'action/index.js', 'action/index.js is not in git: a runner would find no action');
    const diff = execFileSync('git', ['diff', '--stat', '--', 'action/index.js'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(diff, '', 'action/index.js differs from the build: run npm run build and commit action/index.js');
  });
});
