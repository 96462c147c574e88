/**
 * The `kms-envelope` command: the same core as the extension, for CI and deploys.
 * Output on stdout is only ever what the user asked for (plaintext with --stdout, a value
 * with get); status and errors go to stderr and never carry plaintext.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { isKmsEnvelopeError, KmsEnvelopeError } from '../core/errors';
import { parseAllowList } from '../core/kms/allow-list';
import { KmsKeyProvider } from '../core/kms/aws-kms';
import { decryptFile, encryptFile, loadEnvFiles, rewrapFile, rotateFile, setEnvValue } from '../core/operations';
import { EXIT, exitCodeOf } from './exit-codes';

interface Globals {
  profile?: string;
  region?: string;
  allowedKeys?: string;
  quiet?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new KmsEnvelopeError('USAGE', 'give the value as an argument, or pipe it in: printf %s "$VALUE" | kms-envelope set FILE NAME');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseContext(pairs: readonly string[]): Record<string, string> {
  const ctx: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new KmsEnvelopeError('USAGE', `--context expects key=value, got "${pair}"`);
    ctx[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return ctx;
}

export function buildProgram(io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Command {
  const program = new Command('kms-envelope');
  const status = (msg: string): void => {
    if (!program.opts<Globals>().quiet) io.stderr.write(`kms-envelope: ${msg}\n`);
  };
  const provider = (): KmsKeyProvider => {
    const g = program.opts<Globals>();
    const timeout = Number(process.env.KMS_ENVELOPE_TIMEOUT_MS) || undefined;
    return new KmsKeyProvider({
      profile: g.profile,
      region: g.region,
      allowedKeys: parseAllowList(g.allowedKeys),
      requestTimeoutMs: timeout,
      onIgnoredKeys: (keys) => status(`warning: the file also names KMS keys outside the allow-list, not used: ${keys.join(', ')}`),
    });
  };
  const keysOrEnv = (keys: string[] | undefined): string[] => keys ?? parseAllowList(process.env.KMS_ENVELOPE_KEY);

  program
    .description('Envelope-encrypt .env files and other secrets with AWS KMS.')
    .version(process.env.KMS_ENVELOPE_VERSION ?? '0.1.0')
    .addOption(new Option('--profile <name>', 'AWS profile (default: the SDK credential chain)').env('AWS_PROFILE'))
    .addOption(new Option('--region <region>', 'AWS region for keys given by alias or id').env('AWS_REGION'))
    .addOption(
      new Option('--allowed-keys <list>', 'KMS key ARNs or patterns (with *) this run may use; comma-separated').env('KMS_ENVELOPE_ALLOWED_KEYS'),
    )
    .option('-q, --quiet', 'no status messages on stderr')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 2 usage, 3 not encrypted/malformed/tampered, 4 credentials or access denied,
5 key disabled/missing or wrong ciphertext, 6 KMS unavailable, 7 key not in the allow-list;
run passes its command's exit code through.`,
    );

  program
    .command('encrypt')
    .description('encrypt files in place: each value of a .env, anything else whole')
    .argument('<files...>')
    .option('-k, --key <key>', 'KMS key ARN, id or alias (repeatable; env KMS_ENVELOPE_KEY)', collect)
    .option('-c, --context <key=value>', 'extra encryption context pair (repeatable)', collect, [])
    .action(async (files: string[], o: { key?: string[]; context: string[] }) => {
      const kms = provider();
      const keys = keysOrEnv(o.key);
      for (const file of files) {
        const kind = await encryptFile(file, kms, { keys, context: parseContext(o.context) });
        status(`encrypted ${file} (${kind === 'dotenv' ? 'each value' : 'whole file'})`);
      }
    });

  program
    .command('decrypt')
    .description('write the plaintext: in place (default), to --out, or to --stdout')
    .argument('<file>')
    .option('-o, --out <file>', 'write the plaintext to this file instead')
    .option('--stdout', 'write the plaintext to standard output')
    .action(async (file: string, o: { out?: string; stdout?: boolean }) => {
      if (o.out && o.stdout) throw new KmsEnvelopeError('USAGE', '--out and --stdout exclude each other');
      const out = o.stdout ? ({ kind: 'stream', stream: io.stdout } as const) : o.out ? ({ kind: 'file', path: o.out } as const) : ({ kind: 'in-place' } as const);
      await decryptFile(file, provider(), out);
      if (!o.stdout) status(`decrypted ${file}${o.out ? ` to ${o.out}` : ''}`);
    });

  program
    .command('get')
    .description('print one variable of an encrypted .env')
    .argument('<file>')
    .argument('<name>')
    .action(async (file: string, name: string) => {
      const env = await loadEnvFiles([file], provider());
      if (!(name in env)) throw new KmsEnvelopeError('USAGE', `${file} has no variable ${name}`);
      io.stdout.write(`${env[name]}\n`);
    });

  program
    .command('set')
    .description('set one variable of an encrypted .env (the value from stdin when not given, so it stays out of shell history)')
    .argument('<file>')
    .argument('<name>')
    .argument('[value]')
    .action(async (file: string, name: string, value: string | undefined) => {
      const v = value ?? (await readStdin()).replace(/\r?\n$/, '');
      await setEnvValue(file, provider(), name, v);
      status(`set ${name} in ${file}`);
    });

  program
    .command('run')
    .description('run a command with the variables of encrypted .env files in its environment')
    .option('-f, --file <file>', '.env file (repeatable; later files win; default .env)', collect)
    .argument('<command...>', 'the command and its arguments, after --')
    .action(async (argv: string[], o: { file?: string[] }) => {
      const env = await loadEnvFiles(o.file ?? ['.env'], provider());
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit', env: { ...process.env, ...env } });
        const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, forward(sig));
        child.on('error', (err) => reject(new KmsEnvelopeError('USAGE', `cannot run ${argv[0]}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
        child.on('exit', (c, signal) => resolve(c ?? 128 + (signal ? constants.signals[signal] : 0)));
      });
      process.exitCode = code;
    });

  program
    .command('rotate')
    .description('new data key; every value re-encrypted; wrapped for --key and the allowed keys of the file')
    .argument('<file>')
    .option('-k, --key <key>', 'key to wrap the new data key for (repeatable)', collect)
    .action(async (file: string, o: { key?: string[] }) => {
      const result = await rotateFile(file, provider(), { keys: keysOrEnv(o.key) });
      for (const k of result.refused) status(`warning: not wrapping for ${k}: named by the file, not in the allow-list`);
      status(`rotated ${file}: new data key for ${result.keys.join(', ')}`);
    });

  program
    .command('rewrap')
    .description('add or remove a KMS key that can decrypt the file (same data key)')
    .argument('<file>')
    .option('--add-key <key>', 'wrap the data key for this key too (KMS ReEncrypt)')
    .option('--remove-key <key>', 'drop the stanza of this key ARN or alias')
    .action(async (file: string, o: { addKey?: string; removeKey?: string }) => {
      if (!o.addKey === !o.removeKey) throw new KmsEnvelopeError('USAGE', 'give exactly one of --add-key or --remove-key');
      const stanzas = await rewrapFile(file, provider(), { add: o.addKey, remove: o.removeKey });
      status(`rewrapped ${file}: ${stanzas.map((s) => s.alias ?? s.keyArn).join(', ')}`);
    });

  return program;
}

export async function main(argv: string[], io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (isKmsEnvelopeError(err)) {
      io.stderr.write(`kms-envelope: error: ${err.message}\n${err.hint ? `  ${err.hint}\n` : ''}`);
      return exitCodeOf(err.code);
    }
    const e = err as NodeJS.ErrnoException;
    if (e?.code === 'ENOENT' || e?.code === 'EACCES' || e?.code === 'EISDIR') {
      io.stderr.write(`kms-envelope: error: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : 'is a directory'}: ${e.path ?? ''}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`kms-envelope: unexpected error: ${e?.name ?? 'Error'}${e?.code ? ` (${e.code})` : ''}\n`);
    return EXIT.unexpected;
  }
}
