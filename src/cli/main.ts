/**
 * The `kms-envelope` command: the same core as the extension, for CI and deploys.
 * Output on stdout is only ever what the user asked for (plaintext with --stdout, a value
 * with get); status and errors go to stderr and never carry plaintext.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import path = require('node:path');
import { Command, CommanderError, Option } from 'commander';
import { isKmsEnvelopeError, KmsEnvelopeError } from '../core/errors';
import { parseAllowList } from '../core/kms/allow-list';
import { KmsKeyProvider } from '../core/kms/aws-kms';
import { mergeEnv } from '../core/env-policy';
import { stanzaLabel } from '../core/header';
import { addKey, decryptFile, encryptFile, loadEnvFiles, planKeys, removeKey, rotateFile, setEnvValue } from '../core/operations';
import { runningAgent } from '../core/agent/client';
import { kindOf } from '../core/kind';
import { addSopsKey, encryptSopsFile, findCreationRule, importFile, ImportTarget, planSopsKeys, removeSopsKey, rotateSopsFile, setSopsValue } from '../core/sops';
import { registerAgentCommands } from './agent-commands';
import { registerGitCommands } from './git-commands';
import { readSecret } from './prompt';
import { VERSION } from './version';
import { EXIT, exitCodeOf } from './exit-codes';

interface Globals {
  profile?: string;
  sopsProfiles?: boolean;
  region?: string;
  allowedKeys?: string;
  quiet?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The program a command names, looked up on the parent's PATH (never on one a file supplied). */
function resolveCommand(command: string): string {
  if (command.includes('/')) return command;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new KmsEnvelopeError('USAGE', `cannot run ${command}: not found on PATH`);
}

/** Pairs as own properties (a "__proto__" name stays a name, and the format then refuses it); a name given twice is refused. */
function parseContext(pairs: readonly string[]): Record<string, string> {
  const ctx = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new KmsEnvelopeError('USAGE', `--context expects key=value, got "${pair}"`);
    const name = pair.slice(0, eq);
    if (ctx.has(name)) throw new KmsEnvelopeError('USAGE', `--context names "${name}" twice`);
    ctx.set(name, pair.slice(eq + 1));
  }
  return Object.fromEntries(ctx);
}

export function buildProgram(io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): Command {
  const program = new Command('kms-envelope');
  const status = (msg: string): void => {
    if (!program.opts<Globals>().quiet) io.stderr.write(`kms-envelope: ${msg}\n`);
  };
  /** A provider whose allow-list is --allowed-keys, or else the keys the user chose. */
  const provider = (chosen: readonly string[] = []): KmsKeyProvider => {
    const g = program.opts<Globals>();
    const timeout = Number(process.env.KMS_ENVELOPE_TIMEOUT_MS) || undefined;
    return new KmsKeyProvider({
      profile: g.profile,
      region: g.region,
      allowedKeys: parseAllowList(g.allowedKeys),
      chosenKeys: [...new Set([...chosen, ...parseAllowList(process.env.KMS_ENVELOPE_KEY)])],
      requestTimeoutMs: timeout,
      onIgnoredKeys: (keys) => status(`warning: the file also names KMS keys outside the allow-list, not used: ${keys.join(', ')}`),
      agent: runningAgent(),
      // an opt-in: only "1" turns it on (commander would take any value of a flag's variable, "0" included, for on)
      fileProfiles: g.sopsProfiles === true || process.env.KMS_ENVELOPE_SOPS_PROFILES === '1',
      onUnchosenOnly: (keys) => status(`warning: the file is wrapped only for keys you did not choose (${keys.join(', ')}); your allow-list accepts them, but anyone who can create a key there could have made it`),
    });
  };
  const keysOrEnv = (keys: string[] | undefined): string[] => keys ?? parseAllowList(process.env.KMS_ENVELOPE_KEY);

  program
    .description('Envelope-encrypt .env files and other secrets with AWS KMS.')
    .version(VERSION)
    .addOption(new Option('--profile <name>', 'AWS profile (default: the SDK credential chain)').env('AWS_PROFILE'))
    .addOption(new Option('--region <region>', 'AWS region for keys given by alias or id').env('AWS_REGION'))
    .addOption(
      new Option('--allowed-keys <list>', 'KMS key ARNs or patterns (with *) this run may use, comma-separated (default: the keys of --key / KMS_ENVELOPE_KEY; a pattern such as arn:aws:kms:*:111122223333:key/* trusts an account)').env('KMS_ENVELOPE_ALLOWED_KEYS'),
    )
    .option('--sops-profiles', 'let a SOPS file\'s aws_profile and role choose the AWS profile and the role assumed for its key, as sops does (also KMS_ENVELOPE_SOPS_PROFILES=1; default: your profile for every file)')
    .option('-q, --quiet', 'no status messages on stderr')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .addHelpText(
      'after',
      `
Keys: a file's header names its KMS keys, but only keys you allow are used: those you list
with --allowed-keys (or KMS_ENVELOPE_ALLOWED_KEYS), e.g. "arn:aws:kms:*:111122223333:key/*";
without a list, the keys of the accounts of the keys you choose (--key, or KMS_ENVELOPE_KEY
for every command).

Exit codes: 0 ok, 2 usage, 3 not encrypted/malformed/tampered, 4 credentials or access denied,
5 key disabled/missing or wrong ciphertext, 6 KMS unavailable, 7 key not in the allow-list;
run passes its command's exit code through.`,
    );

  program
    .command('encrypt')
    .description('encrypt files in place: each value of a .env, anything else whole')
    .argument('<files...>')
    .option('-k, --key <key>', 'KMS key ARN, id or alias (repeatable; default: the rules file .kms-envelope.json, then KMS_ENVELOPE_KEY)', collect)
    .option('-c, --context <key=value>', 'extra encryption context pair (repeatable)', collect, [])
    .addOption(new Option('--format <format>', 'kms-envelope (default), or sops: a SOPS file any sops user reads, keys and rules from the repository\'s .sops.yaml').choices(['kms-envelope', 'sops']))
    .action(async (files: string[], o: { key?: string[]; context: string[]; format?: 'kms-envelope' | 'sops' }) => {
      const keys = keysOrEnv(o.key);
      const kms = provider(keys);
      for (const file of files) {
        if (o.format === 'sops') {
          const plan = await planSopsKeys(file, kms, { keys, explicit: o.key !== undefined });
          if (plan.refused.length) status(`warning: ${plan.config} names keys for ${file} that are not allowed, not used: ${plan.refused.join(', ')} (--allowed-keys)`);
          else if (plan.config) status(`${file}: keys and rules from ${plan.config}`);
          if (plan.others.length) status(`warning: ${plan.config} also names ${plan.others.join(', ')} recipients, which kms-envelope cannot add: run sops updatekeys ${file} to add them`);
          const context = { ...(plan.context ?? {}), ...parseContext(o.context) };
          const store = await encryptSopsFile(file, kms, { keys: plan.keys, context, crypt: plan.crypt });
          status(`encrypted ${file} as a SOPS ${store} file`);
          continue;
        }
        const sopsRule = o.format === undefined ? await findCreationRule(file).catch(() => undefined) : undefined;
        if (sopsRule) status(`note: ${sopsRule.config} has a creation rule for ${file}; --format sops makes a SOPS file that follows it`);
        const plan = await planKeys(file, kms, { keys, context: parseContext(o.context), explicit: o.key !== undefined });
        if (plan.refused.length) status(`warning: ${plan.rulesFile} names keys for ${file} that are not allowed, not used: ${plan.refused.join(', ')} (--allowed-keys)`);
        else if (plan.rulesFile) status(`${file}: keys and context from ${plan.rulesFile}`);
        const onClearLines = (clear: number[]) =>
          status(`warning: ${file}: line ${clear.join(', ')} look like assignments but are not variables for dotenv (a name outside A-Z a-z 0-9 _ . -?): left in clear`);
        const kind = await encryptFile(file, kms, { keys: plan.keys, context: plan.context, onClearLines });
        status(`encrypted ${file} (${kind === 'dotenv' ? 'each value' : 'whole file'})`);
      }
    });

  program
    .command('import')
    .description('turn files into kms-envelope or SOPS files in place: from SOPS, kms-envelope, dotenvx-encrypted or plaintext files (nothing written in clear)')
    .argument('<files...>')
    .addOption(new Option('--to <format>', 'the format to write (default: kms-envelope for a SOPS file, else kms-envelope)').choices(['kms-envelope', 'sops']))
    .option('-k, --key <key>', 'KMS key ARN, id or alias (repeatable; default: .kms-envelope.json or .sops.yaml rules, then KMS_ENVELOPE_KEY)', collect)
    .option('-c, --context <key=value>', 'extra encryption context pair (repeatable)', collect, [])
    .action(async (files: string[], o: { to?: ImportTarget; key?: string[]; context: string[] }) => {
      const keys = keysOrEnv(o.key);
      const kms = provider(keys);
      for (const file of files) {
        const to: ImportTarget = o.to ?? 'kms-envelope';
        const explicit = o.key !== undefined;
        const plan = to === 'sops' ? await planSopsKeys(file, kms, { keys, explicit }) : await planKeys(file, kms, { keys, context: parseContext(o.context), explicit });
        if (plan.refused.length) status(`warning: the rules name keys for ${file} that are not allowed, not used: ${plan.refused.join(', ')} (--allowed-keys)`);
        const context = { ...(plan.context ?? {}), ...parseContext(o.context) };
        const done = await importFile(file, kms, { to, keys: plan.keys, context, crypt: 'crypt' in plan ? plan.crypt : undefined });
        status(`imported ${file}: ${done.from} → ${done.to}`);
      }
    });

  program
    .command('decrypt')
    .description('write the plaintext: in place (default), to --out, or to --stdout')
    .argument('<file>')
    .option('-o, --out <file>', 'write the plaintext to this file instead')
    .option('--stdout', 'write the plaintext to standard output (check the exit code: a damaged file fails midway)')
    .action(async (file: string, o: { out?: string; stdout?: boolean }) => {
      if (o.out && o.stdout) throw new KmsEnvelopeError('USAGE', '--out and --stdout exclude each other');
      const out = o.stdout ? ({ kind: 'stream', stream: io.stdout } as const) : o.out ? ({ kind: 'file', path: o.out } as const) : ({ kind: 'in-place' } as const);
      await decryptFile(file, provider(), out);
      if (!o.stdout) status(`decrypted ${file}${o.out ? ` to ${o.out}` : ''} (mode 0600)`);
    });

  program
    .command('get')
    .description('print one variable of an encrypted .env')
    .argument('<file>')
    .argument('<name>')
    .option('--allow-plaintext', 'read the file even if it has no kms-envelope header (its values are then not authenticated)')
    .action(async (file: string, name: string, o: { allowPlaintext?: boolean }) => {
      const env = await loadEnvFiles([file], provider(), { allowPlaintext: o.allowPlaintext });
      if (!Object.hasOwn(env, name)) throw new KmsEnvelopeError('USAGE', `${file} has no variable ${name}`);
      io.stdout.write(`${env[name]}\n`);
    });

  program
    .command('set')
    .description('set one variable of an encrypted .env; the value is read from stdin or a hidden prompt, never from the command line')
    .argument('<file>')
    .argument('<name>')
    .action(async (file: string, name: string) => {
      const v = await readSecret(`value for ${name}: `, io.stderr);
      if ((await kindOf(file)) === 'sops') await setSopsValue(file, provider(), name, v);
      else await setEnvValue(file, provider(), name, v);
      status(`set ${name} in ${file}`);
    });

  program
    .command('run')
    .description('run a command with the variables of encrypted .env files in its environment')
    .option('-f, --file <file>', '.env file (repeatable; later files win; default .env)', collect)
    .option('--override', 'let the files\' values replace variables already set in this environment')
    .option('--allow-env <name>', 'take this variable from the file although it changes what code runs (PATH, LD_*, NODE_OPTIONS …; repeatable)', collect)
    .option('--allow-plaintext', 'accept files without a kms-envelope header (their values are then not authenticated)')
    .argument('<command...>', 'the command and its arguments, after --')
    .action(async (argv: string[], o: { file?: string[]; override?: boolean; allowEnv?: string[]; allowPlaintext?: boolean }) => {
      const values = await loadEnvFiles(o.file ?? ['.env'], provider(), { allowPlaintext: o.allowPlaintext });
      const { env, blocked, kept } = mergeEnv(process.env, values, { override: o.override, allow: o.allowEnv });
      if (blocked.length) status(`warning: not taken from the file, as they change what code runs: ${blocked.join(', ')} (--allow-env NAME to take one)`);
      if (kept.length) status(`note: already set here, kept: ${kept.join(', ')} (--override to take the file's)`);
      const program = resolveCommand(argv[0]);
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(program, argv.slice(1), { stdio: 'inherit', env, argv0: argv[0] });
        const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, forward(sig));
        child.on('error', (err) => reject(new KmsEnvelopeError('USAGE', `cannot run ${argv[0]}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
        child.on('exit', (c, signal) => resolve(c ?? 128 + (signal ? constants.signals[signal] : 0)));
      });
      process.exitCode = code;
    });

  program
    .command('rotate')
    .description('new data key; every value re-encrypted; wrapped for --key and the file\'s keys that are allowed')
    .argument('<file>')
    .option('-k, --key <key>', 'also wrap the new data key for this key (repeatable)', collect, [])
    .action(async (file: string, o: { key: string[] }) => {
      if ((await kindOf(file)) === 'sops') {
        const r = await rotateSopsFile(file, provider(o.key), { keys: o.key });
        for (const k of r.refused) status(`warning: not wrapping the new data key for ${k}: the file names it, but it is not allowed (--allowed-keys)`);
        status(`rotated ${file} (SOPS): new data key for ${r.arns.join(', ')}`);
        return;
      }
      const result = await rotateFile(file, provider(o.key), { keys: o.key });
      for (const k of result.refused) status(`warning: not wrapping the new data key for ${k}: the file names it, but it is not allowed (--allowed-keys)`);
      status(`rotated ${file}: new data key for ${result.stanzas.map(stanzaLabel).join(', ')}`);
    });

  program
    .command('rewrap')
    .description('add a KMS key that can decrypt the file, or remove one (which rotates the data key)')
    .argument('<file>')
    .option('--add-key <key>', 'wrap the data key for this key too (KMS ReEncrypt; it must be allowed)')
    .option('--remove-key <key>', 'remove this key (ARN, or an alias resolved to its ARN): a new data key for the other keys')
    .action(async (file: string, o: { addKey?: string; removeKey?: string }) => {
      if (!o.addKey === !o.removeKey) throw new KmsEnvelopeError('USAGE', 'give exactly one of --add-key or --remove-key');
      if ((await kindOf(file)) === 'sops') {
        if (o.addKey) {
          const arns = await addSopsKey(file, provider([o.addKey]), o.addKey);
          status(`added ${arns[arns.length - 1]} to ${file} (SOPS); its KMS keys: ${arns.join(', ')}`);
          return;
        }
        const r = await removeSopsKey(file, provider(), o.removeKey!);
        status(`removed ${o.removeKey} from ${file} (SOPS): a new data key for ${r.arns.join(', ')}; the removed key can still read older versions in version control`);
        return;
      }
      if (o.addKey) {
        const stanzas = await addKey(file, provider([o.addKey]), o.addKey);
        status(`added ${stanzaLabel(stanzas[stanzas.length - 1])} to ${file}; it is wrapped for ${stanzas.map(stanzaLabel).join(', ')}`);
        return;
      }
      const result = await removeKey(file, provider(), o.removeKey!);
      for (const k of result.refused) status(`warning: not wrapping the new data key for ${k}: the file names it, but it is not allowed (--allowed-keys)`);
      status(`removed ${o.removeKey} from ${file}: a new data key for ${result.stanzas.map(stanzaLabel).join(', ')}; every value was encrypted again, so the removed key cannot read what is written from now on (it can still read older versions in version control). If someone commits an older version back (a rollback), your kms-envelope refuses to write into it until it is rotated again: this machine remembers the retired data key. Teammates' machines do not: they should pull this change before writing to the file`);
    });

  registerGitCommands(program, { provider: () => provider(), status, io });
  registerAgentCommands(program, { status, io });
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
