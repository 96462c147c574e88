/**
 * `npm run demo`: the product with no AWS account. Starts the local KMS, packages the
 * extension and installs the .vsix into a real VS Code (code-server), opens a sample
 * workspace whose .env is encrypted, and prints the URL to open. Ctrl+C stops everything.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { KmsKeyProvider } from '../src/core/kms/aws-kms';
import { encryptFile } from '../src/core/operations';
import { packageVsix, startCodeServer } from '../test/support/code-server';
import { folderUrl } from '../test/support/workbench';
import { LocalKms } from '../test/local-kms/server';

const ROOT = path.join(__dirname, '..');
const DEMO = path.join(ROOT, '.cache', 'demo');
const ACCOUNT = { accessKeyId: `AKIADEMO${randomBytes(6).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(30).toString('base64url') };
const KMS_PORT = Number(process.env.KMS_PORT ?? 4599);
const PORT = Number(process.env.PORT ?? 8080);

async function main(): Promise<void> {
  if (process.argv.includes('--reset')) {
    // a fresh start: new keys, the sample workspace encrypted again, VS Code's state forgotten
    rmSync(DEMO, { recursive: true, force: true });
    console.log(`demo: removed ${path.relative(process.cwd(), DEMO)}`);
  }
  mkdirSync(DEMO, { recursive: true });
  const kms = new LocalKms({ accounts: [ACCOUNT], stateFile: path.join(DEMO, 'kms-state.json') });
  const kmsUrl = await kms.start(KMS_PORT);
  if (!kms.keyArnOf('alias/demo')) kms.createAlias('alias/demo', kms.createKey('kms-envelope demo key'));

  const aws = path.join(DEMO, 'aws');
  mkdirSync(aws, { recursive: true });
  writeFileSync(path.join(aws, 'config'), `[profile local]\nregion = us-east-1\n`);
  writeFileSync(path.join(aws, 'credentials'), `[local]\naws_access_key_id = ${ACCOUNT.accessKeyId}\naws_secret_access_key = ${ACCOUNT.secretAccessKey}\n`, { mode: 0o600 });
  const env = { AWS_CONFIG_FILE: path.join(aws, 'config'), AWS_SHARED_CREDENTIALS_FILE: path.join(aws, 'credentials'), AWS_ENDPOINT_URL_KMS: kmsUrl, AWS_PROFILE: 'local', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  Object.assign(process.env, env);

  const workspace = path.join(DEMO, 'workspace');
  const dotenv = path.join(workspace, '.env');
  if (!existsSync(dotenv)) {
    mkdirSync(workspace, { recursive: true });
    writeFileSync(dotenv, '# Demo secrets: this file is encrypted on disk; VS Code shows it decrypted.\nDATABASE_URL="postgres://app:s3cr3t-pa55@db.internal:5432/app"\nSTRIPE_KEY=sk_test_51Demo # billing\nexport JWT_SECRET=\'change-me\'\n');
    writeFileSync(path.join(workspace, 'config.yaml'), 'db:\n  user: app\n  password: select-me-and-run-encrypt-selection\n');
    writeFileSync(path.join(workspace, 'README.md'), '# kms-envelope demo\n\n- `.env` is encrypted with the local KMS key `alias/demo`: open it.\n- Right-click a file in the explorer: Encrypt File / Open Decrypted.\n- Select text in `config.yaml`, right-click: Encrypt Selection.\n- In a terminal: `node ' + path.join(ROOT, 'dist', 'cli.js') + ' run -- env | grep STRIPE`\n');
    const provider = new KmsKeyProvider({ profile: 'local', chosenKeys: ['alias/demo'] });
    await encryptFile(dotenv, provider, { keys: ['alias/demo'] });
    provider.destroy();
  }

  const vsix = packageVsix(path.join(ROOT, 'kms-envelope.vsix'));
  const scratch = path.join(DEMO, 'code-server');
  const server = await startCodeServer({
    scratch,
    port: PORT,
    install: [vsix],
    env: { ...env, KMS_ENVELOPE_KEY: 'alias/demo', PATH: `${path.join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` },
    userSettings: {
      'files.autoSave': 'off',
      'security.workspace.trust.enabled': false,
      'workbench.startupEditor': 'none',
      'git.openRepositoryInParentFolders': 'never',
      // the CLI's local KMS, started from the terminal, is not a web app to open (walkthrough #12)
      'remote.autoForwardPorts': false,
      'kmsEnvelope.keyId': 'alias/demo',
      'kmsEnvelope.profile': 'local',
    },
  });
  console.log(`
kms-envelope demo is running (no AWS account: a local KMS on ${kmsUrl}).

  Open:  ${folderUrl(server.url, workspace, [['openFile', `vscode-remote://${new URL(server.url).host}${dotenv}`]])}
         (the workspace's .env opens decrypted; \`npm run demo -- --reset\` starts over with new keys)

The workspace's .env is encrypted on disk (look: cat ${path.relative(process.cwd(), dotenv)}),
and opens decrypted in VS Code. The CLI reads it too:
  AWS_CONFIG_FILE=${env.AWS_CONFIG_FILE} AWS_SHARED_CREDENTIALS_FILE=${env.AWS_SHARED_CREDENTIALS_FILE} \\
  AWS_ENDPOINT_URL_KMS=${kmsUrl} AWS_PROFILE=local KMS_ENVELOPE_KEY=alias/demo node dist/cli.js decrypt --stdout ${path.relative(process.cwd(), dotenv)}

Press Ctrl+C to stop.`);
  const stop = async () => {
    await server.stop();
    await kms.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err) => {
  const busy = (err as NodeJS.ErrnoException)?.code === 'EADDRINUSE' ? ' (set KMS_PORT or PORT to free ports)' : '';
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}${busy}`);
  process.exit(1);
});
