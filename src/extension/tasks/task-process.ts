/**
 * A `kms-envelope` task's run, in the commands bundle: the env files are decrypted when the
 * task starts (never when it is listed), and the command runs as a child of the extension host
 * with the values in its environment, its output shown in the task's terminal. No terminal
 * launch configuration or task definition ever holds a value, so nothing VS Code persists
 * about tasks and terminals can carry one to disk.
 */
import { ChildProcess, spawn } from 'node:child_process';
import path = require('node:path');
import vscode = require('vscode');
import { mergeEnv } from '../../core/env-policy';
import type { EnvValues } from '../env-values';
import { describeError } from '../ui';
import type { EnvTaskDefinition } from './definition';

/** POSIX shell quoting for `shell: true` tasks with `args`. */
const quote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
/** A pseudoterminal wants CRLF. */
const crlf = (s: string): string => s.replace(/\r?\n/g, '\r\n');

export class TaskProcess implements vscode.Pseudoterminal {
  private readonly output = new vscode.EventEmitter<string>();
  private readonly ended = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.output.event;
  readonly onDidClose = this.ended.event;
  private child?: ChildProcess;
  private closed = false;

  constructor(
    private readonly def: EnvTaskDefinition,
    private readonly name: string,
    private readonly folder: string | undefined,
    private readonly values: EnvValues,
  ) {}

  open(): void {
    void this.start();
  }

  private async start(): Promise<void> {
    if (!vscode.workspace.isTrusted) return this.end(1, 'KMS Envelope: tasks decrypt env files in trusted workspaces only.\r\n');
    const base = this.folder ?? process.cwd();
    const files = (typeof this.def.envFile === 'string' ? [this.def.envFile] : [...this.def.envFile]).map((f) => path.resolve(base, f));
    let fromFiles: Record<string, string>;
    try {
      fromFiles = await this.values.values(files, `the task "${this.name}"`, { allowPlaintext: this.def.allowPlaintext === true });
    } catch (err) {
      return this.end(1, `\x1b[31mKMS Envelope: ${describeError(err)}\x1b[0m\r\n`);
    }
    if (this.closed) return;
    // like `kms-envelope run`: what the task's own options and the parent environment set wins
    const { env } = mergeEnv({ ...process.env, ...this.def.options?.env }, fromFiles);
    const cwd = path.resolve(base, this.def.options?.cwd ?? '.');
    const args = this.def.args ?? [];
    const child = this.def.shell ? spawn([this.def.command, ...args.map(quote)].join(' '), { cwd, env, shell: true }) : spawn(this.def.command, args, { cwd, env });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => this.output.fire(crlf(d.toString())));
    child.stderr?.on('data', (d: Buffer) => this.output.fire(crlf(d.toString())));
    child.on('error', (err) => this.end(1, `\x1b[31mKMS Envelope: could not start ${this.def.command}: ${err.message}\x1b[0m\r\n`));
    child.on('close', (code, signal) => this.end(code ?? 1, signal ? `\r\n(${signal})\r\n` : ''));
  }

  handleInput(data: string): void {
    if (data === '\x03') this.child?.kill('SIGINT');
    else if (this.child?.stdin?.writable) {
      this.output.fire(crlf(data.replace(/\r/g, '\n'))); // no tty to echo what is typed
      this.child.stdin.write(data.replace(/\r/g, '\n'));
    }
  }

  close(): void {
    this.closed = true;
    this.child?.kill();
  }

  private end(code: number, message: string): void {
    if (message) this.output.fire(message);
    this.child = undefined;
    this.ended.fire(code);
  }
}
