/**
 * Runs the local KMS for demos and for trying the CLI without AWS:
 *   node dist/local-kms.js [--port 4599] [--state .cache/local-kms/state.json] [--aws-dir DIR]
 * The port is --port, else KMS_PORT, else 4599.
 * With --aws-dir it writes `config` and `credentials` files there (profile `local`, key alias
 * alias/demo) and prints the environment variables that point the AWS SDK at the server.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalKms } from './server';

export const DEMO_ACCOUNT = { accessKeyId: 'AKIALOCALKMSDEMO0001', secretAccessKey: 'local-kms-demo-secret-not-a-real-aws-key' };

const { values } = parseArgs({
  options: { port: { type: 'string', default: process.env.KMS_PORT || '4599' }, state: { type: 'string' }, 'aws-dir': { type: 'string' } },
});

async function run(): Promise<void> {
  if (values.state) mkdirSync(path.dirname(values.state), { recursive: true });
  const kms = new LocalKms({ accounts: [DEMO_ACCOUNT], stateFile: values.state });
  const url = await kms.start(Number(values.port));
  let demoKey = kms.keyArnOf('alias/demo');
  if (!demoKey) {
    demoKey = kms.createKey('kms-envelope demo key');
    kms.createAlias('alias/demo', demoKey);
  }
  const lines = [`local KMS listening on ${url}`, `demo key: alias/demo = ${demoKey}`];
  if (values['aws-dir']) {
    const dir = path.resolve(values['aws-dir']);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'config'), `[profile local]\nregion = ${kms.region}\n`);
    writeFileSync(
      path.join(dir, 'credentials'),
      `[local]\naws_access_key_id = ${DEMO_ACCOUNT.accessKeyId}\naws_secret_access_key = ${DEMO_ACCOUNT.secretAccessKey}\n`,
      { mode: 0o600 },
    );
    lines.push(
      'use it with:',
      `  export AWS_CONFIG_FILE=${path.join(dir, 'config')} AWS_SHARED_CREDENTIALS_FILE=${path.join(dir, 'credentials')}`,
      `  export AWS_ENDPOINT_URL_KMS=${url} AWS_PROFILE=local KMS_ENVELOPE_KEY=alias/demo`,
    );
  }
  console.log(lines.join('\n'));
  const stop = (): void => void kms.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

run().catch((err: NodeJS.ErrnoException) => {
  // one line that says what to do, not a stack trace
  if (err?.code === 'EADDRINUSE') console.error(`local KMS: port ${values.port} is taken (another local KMS?): stop it, or pick another port with --port N or KMS_PORT=N`);
  else console.error(`local KMS: ${err?.message ?? String(err)}`);
  process.exit(1);
});
