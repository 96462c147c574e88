/**
 * The local KMS, for demos, tests and trying the CLI without AWS (never for real secrets: key
 * material sits in its state file):
 *
 *   node dist/local-kms.js [serve] [--port 4599] [--state FILE] [--aws-dir DIR]
 *   node dist/local-kms.js create-key [--alias alias/NAME] [--description TEXT] [--state FILE]
 *   node dist/local-kms.js list-keys [--state FILE]
 *   node dist/local-kms.js enable-key|disable-key KEY [--state FILE]
 *
 * The port is --port, else KMS_PORT, else 4599. The state file keeps keys, aliases and whether
 * each key is enabled across restarts; keys made by `create-key` while the server runs are served
 * at once. Credentials are made for this installation on first use and kept beside the state file
 * (`access.json`, 0600): another local user cannot read them, and the AWS files written with
 * --aws-dir (credentials 0600) hold the only copy the SDK needs. The admin API is off.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalKms } from './server';

const USAGE = `usage: local-kms [serve] [--port N] [--state FILE] [--aws-dir DIR]
       local-kms create-key [--alias alias/NAME] [--description TEXT] [--state FILE]
       local-kms list-keys [--state FILE]
       local-kms enable-key|disable-key KEY [--state FILE]

A KMS-compatible server on 127.0.0.1 for demos and tests (key material is kept in its state
file: never use it for real secrets). Without --state, keys live in memory until it stops.`;

class UsageError extends Error {}

interface Access {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** This installation's credentials: made once, kept 0600 beside the state file (or in memory without one). */
function accessFor(state: string | undefined): Access {
  const file = state ? path.join(path.dirname(state), 'access.json') : undefined;
  if (file && existsSync(file)) {
    const a = JSON.parse(readFileSync(file, 'utf8')) as Access;
    if (typeof a.accessKeyId === 'string' && typeof a.secretAccessKey === 'string') return a;
  }
  const made = { accessKeyId: `AKIALOCAL${randomBytes(6).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(30).toString('base64url') };
  if (file) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(made), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return made;
}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string', default: process.env.KMS_PORT || '4599' },
        state: { type: 'string' },
        'aws-dir': { type: 'string' },
        alias: { type: 'string' },
        description: { type: 'string', default: '' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The local KMS over its state file, not listening (the key commands). */
function offline(state: string | undefined): LocalKms {
  if (!state) throw new UsageError('name the state file with --state (the one the server runs with)');
  mkdirSync(path.dirname(state), { recursive: true });
  return new LocalKms({ accounts: [], stateFile: state });
}

async function serve(values: ReturnType<typeof parse>['values']): Promise<void> {
  if (values.state) mkdirSync(path.dirname(values.state), { recursive: true });
  const access = accessFor(values.state);
  const kms = new LocalKms({ accounts: [access], stateFile: values.state });
  const url = await kms.start(Number(values.port));
  let demoKey = kms.keyArnOf('alias/demo');
  if (!demoKey) {
    demoKey = kms.createKey('kms-envelope demo key');
    kms.createAlias('alias/demo', demoKey);
  }
  const lines = [`local KMS listening on ${url} (for demos and tests only)`, `demo key: alias/demo = ${demoKey}`];
  if (values['aws-dir']) {
    const dir = path.resolve(values['aws-dir']);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, 'config'), `[profile local]\nregion = ${kms.region}\n`);
    writeFileSync(path.join(dir, 'credentials'), `[local]\naws_access_key_id = ${access.accessKeyId}\naws_secret_access_key = ${access.secretAccessKey}\n`, { mode: 0o600 });
    chmodSync(path.join(dir, 'credentials'), 0o600);
    lines.push(
      'use it with:',
      `  export AWS_CONFIG_FILE=${path.join(dir, 'config')} AWS_SHARED_CREDENTIALS_FILE=${path.join(dir, 'credentials')}`,
      `  export AWS_ENDPOINT_URL_KMS=${url} AWS_PROFILE=local KMS_ENVELOPE_KEY=alias/demo`,
      `a key for a teammate or CI: node ${path.relative(process.cwd(), process.argv[1])} create-key --alias alias/ci${values.state ? ` --state ${values.state}` : ''}`,
    );
  }
  console.log(lines.join('\n'));
  const stop = (): void => void kms.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv);
  if (values.help) return void console.log(USAGE);
  const [command = 'serve', ...rest] = positionals;
  switch (command) {
    case 'serve':
      return serve(values);
    case 'create-key': {
      const kms = offline(values.state);
      if (values.alias && (!/^alias\/[A-Za-z0-9/_-]{1,250}$/.test(values.alias) || kms.keyArnOf(values.alias))) throw new UsageError(`${values.alias}: not a free alias name (alias/NAME)`);
      const arn = kms.createKey(values.description);
      if (values.alias) kms.createAlias(values.alias, arn);
      return void console.log(values.alias ? `${values.alias} = ${arn}` : arn);
    }
    case 'list-keys':
      for (const k of offline(values.state).listKeys()) console.log([k.arn, k.enabled ? 'enabled' : 'disabled', k.aliases.join(',') || '-', k.description].join('\t'));
      return;
    case 'enable-key':
    case 'disable-key': {
      if (rest.length !== 1) throw new UsageError(`${command} takes one key (ARN, id or alias)`);
      const kms = offline(values.state);
      const arn = kms.keyArnOf(rest[0]);
      if (!arn) throw new UsageError(`${rest[0]}: no such key`);
      kms.setEnabled(arn, command === 'enable-key');
      return void console.log(`${arn} ${command === 'enable-key' ? 'enabled' : 'disabled'}`);
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).catch((err: NodeJS.ErrnoException) => {
  // one line that says what to do, not a stack trace
  if (err instanceof UsageError) console.error(`local KMS: ${err.message}\n${USAGE}`);
  else if (err?.code === 'EADDRINUSE') console.error(`local KMS: port ${process.env.KMS_PORT || '4599'} is taken (another local KMS?): stop it, or pick another port with --port N or KMS_PORT=N`);
  else console.error(`local KMS: ${err?.message ?? String(err)}`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
