/** The sample workspace the extension suites and the UI test run in. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { LOCAL_ACCOUNT_KEYS, OTHER_ACCOUNT } from '../support/accounts';
import path from 'node:path';
import { KmsKeyProvider } from '../../src/core/kms/aws-kms';
import { encryptFile } from '../../src/core/operations';
import type { Sandbox } from '../support/aws-sandbox';
import { withEnv } from '../support/with-env';
import { sopsSample } from '../support/sops-fixtures';

/** Secrets that must never reach disk in plaintext, anywhere (the suites type some of them). */
export const NEVER_ON_DISK = ['hunter2-ALPHA', 'sk-live-BRAVO', 'typed-secret-GOLF', 'typed-secret-HOTEL', 'yaml-secret-CHARLIE', 'fresh-secret-ECHO', 'pem-secret-FOXTROT', 'rotated-secret-INDIA', 'denied-secret-JULIET', 'notes-secret-MIKE', 'outside-account-value', 'git-secret-NOVEMBER', 'git-secret-OSCAR', 'theirs-PAPA', 'ours-QUEBEC', 'run-secret-ROMEO', 'history-secret-SIERRA', 'history-secret-TANGO', 'edited-secret-VICTOR', 'sops-secret-UNIFORM', 'sops-secret-WHISKEY', 'sops-typed-XRAY', 'sops-env-YANKEE'];

/** SOPS files of the workspace: made from the sops CLI's own fixtures (see test/support/sops-fixtures.ts). */
export const SOPS_FILES: Record<string, { base: string; store: 'yaml' | 'dotenv'; plaintext: string }> = {
  'sops/secrets.yaml': { base: 'comments.enc.yaml', store: 'yaml', plaintext: '# database\ndb:\n    user: admin\n    password: sops-secret-UNIFORM\n    port: 5432\napi_key: sops-secret-WHISKEY\n' },
  'sops/.env': { base: 'format.enc.env', store: 'dotenv', plaintext: 'SOPS_TOKEN=sops-env-YANKEE\n' },
};

export const FILES: Record<string, string> = {
  'app/.env': '# application settings\nDB_HOST=localhost\nDB_PASSWORD="hunter2-ALPHA"\nexport API_KEY=sk-live-BRAVO # billing\n',
  'rotate/.env.production': 'ROTATED=rotated-secret-INDIA\n',
  'denied/.env': 'SECRET=denied-secret-JULIET\n',
  'config.yaml': 'db:\n  user: admin\n  password: yaml-secret-CHARLIE\n',
  'settings.json': '{\n  "token": "json-secret-KILO"\n}\n',
  'new.env': 'TOKEN=fresh-secret-ECHO\n',
  'cert.pem': '-----BEGIN PRIVATE KEY-----\npem-secret-FOXTROT\n-----END PRIVATE KEY-----\n',
  'to-decrypt.env': 'VISIBLE=decrypt-to-disk-LIMA\n',
  'README.md': '# Sample workspace\n',
  'notes.txt': 'meeting notes: the vault code is notes-secret-MIKE\n',
  'outside/.env': 'FORGED=outside-account-value\n',
  // for debug sessions, tasks and terminals (suite 75): a program that writes digests, never values
  'run/.env': 'RUN_SECRET=run-secret-ROMEO\nMODE=from-file\nNODE_OPTIONS=--require=/nonexistent/evil.js\n',
  'run/digest.js': [
    "const { createHash } = require('node:crypto');",
    "const digest = (v) => (v === undefined ? null : createHash('sha256').update(v).digest('hex'));",
    'const seen = { secret: digest(process.env.RUN_SECRET), mode: process.env.MODE ?? null, nodeOptions: process.env.NODE_OPTIONS ?? null };',
    "require('node:fs').writeFileSync(process.argv[2], JSON.stringify(seen));",
    "console.log(`RUN_SECRET is ${seen.secret ? `set (sha256 ${seen.secret.slice(0, 12)}…)` : 'not set'}; MODE is ${seen.mode}`);",
    '',
  ].join('\n'),
  '.vscode/launch.json': JSON.stringify({ version: '0.2.0', configurations: [{ type: 'node', request: 'launch', name: 'digest', program: '${workspaceFolder}/run/digest.js', args: ['${workspaceFolder}/run/debug-out.json'], envFile: '${workspaceFolder}/run/.env', env: { MODE: 'from-launch' }, console: 'internalConsole' }] }, null, 2),
  '.vscode/tasks.json': JSON.stringify({ version: '2.0.0', tasks: [
    { type: 'kms-envelope', label: 'digest-task', command: 'node', args: ['run/digest.js', '${workspaceFolder}/run/task-out.json'], envFile: 'run/.env', presentation: { reveal: 'never' } },
    { type: 'kms-envelope', label: 'shell-task', shell: true, command: 'printenv RUN_SECRET | sha256sum | cut -d" " -f1 > run/shell-out.tmp && mv run/shell-out.tmp', args: ['run/shell out.txt'], envFile: ['run/.env'], options: { env: { MODE: 'from-task' } }, presentation: { reveal: 'never' } },
  ] }, null, 2),
};

/** Writes the workspace; the files that start encrypted are encrypted here, with the core. */
export async function makeWorkspace(dir: string, sb: Sandbox, only?: readonly string[]): Promise<string> {
  for (const [rel, text] of Object.entries(FILES)) {
    if (only && !only.includes(rel)) continue;
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  // The sandbox env is not applied to this process: use it for these calls only.
  await withEnv(sb.env, async () => {
    const kms = new KmsKeyProvider({ profile: 'default', allowedKeys: [LOCAL_ACCOUNT_KEYS] });
    const encrypt = async (rel: string, key: string) => {
      if (!only || only.includes(rel)) await encryptFile(path.join(dir, rel), kms, { keys: [key] });
    };
    for (const rel of ['app/.env', 'rotate/.env.production', 'to-decrypt.env', 'run/.env']) await encrypt(rel, 'alias/test');
    for (const [rel, s] of Object.entries(SOPS_FILES)) {
      if (only && !only.includes(rel)) continue;
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), await sopsSample(s.base, s.store, s.plaintext, sb.keyArn));
    }
    await encrypt('denied/.env', 'alias/other');
    kms.destroy();
    // a file a stranger made under a key of their own account, committed into the workspace
    const outside = sb.kms.createKey('a key of another account', OTHER_ACCOUNT);
    const strangers = new KmsKeyProvider({ profile: 'default', allowedKeys: [outside] });
    if (!only || only.includes('outside/.env')) await encryptFile(path.join(dir, 'outside/.env'), strangers, { keys: [outside] });
    strangers.destroy();
  });
  sb.kms.log.length = 0;
  return dir;
}
