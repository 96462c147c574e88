/**
 * `kms-envelope agent start|status|stop`: the key agent (core/agent) that lets git's textconv,
 * the merge driver, get, run and the preload reuse data keys without a KMS call each.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Command, Option } from 'commander';
import { AgentClient, trustedAgent, untrustedSocket } from '../core/agent/client';
import { agentSocket, agentSupported, privateAgentFolder } from '../core/agent/place';
import { serveAgent } from '../core/agent/server';
import { KmsEnvelopeError } from '../core/errors';

export interface AgentCommandContext {
  readonly status: (msg: string) => void;
  readonly io: { stdout: NodeJS.WritableStream };
}

const minutes = (name: string, max: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max) throw new KmsEnvelopeError('USAGE', `--${name} takes minutes, more than 0 and at most ${max}`);
  return n;
};
const said = (ms: number) => `${Math.round(ms / 60_000)} min`;

interface Lifetime {
  readonly maxAge: number;
  readonly idle: number;
}
/** --max-age and --idle, for start and for the serve it runs. */
const withLifetime = (cmd: Command): Command =>
  cmd
    .addOption(new Option('--max-age <minutes>', 'how long a data key is kept after KMS unwrapped it (at most 60)').default(5).argParser(minutes('max-age', 60)))
    .addOption(new Option('--idle <minutes>', 'stop, wiping every key, after this long without a request (at most 1440)').default(30).argParser(minutes('idle', 1440)));

/** The agent that answers on its socket, or undefined. */
async function answering(socket: string): Promise<AgentClient | undefined> {
  const client = new AgentClient(socket);
  return (await client.status()) ? client : undefined;
}

export function registerAgentCommands(program: Command, ctx: AgentCommandContext): void {
  const agent = program
    .command('agent')
    .description('a key agent: keeps data keys KMS unwrapped in memory so that git diffs, merges, get and run reuse them (see README, Key agent)');
  const requireSupport = () => {
    if (!agentSupported()) throw new KmsEnvelopeError('USAGE', 'the key agent needs Unix sockets, which this platform does not have');
  };

  withLifetime(agent.command('start'))
    .description('start the agent in the background (nothing happens when it runs already)')
    .action(async (o: Lifetime) => {
      requireSupport();
      privateAgentFolder();
      const socket = agentSocket();
      const running = await answering(socket);
      if (running) {
        const s = (await running.status())!;
        ctx.status(`the agent runs already (pid ${s.pid}, ${s.keys} data key(s)): ${socket}`);
        return;
      }
      const child = spawn(process.execPath, [path.join(__dirname, 'cli.js'), 'agent', 'serve', '--max-age', String(o.maxAge), '--idle', String(o.idle)], { detached: true, stdio: 'ignore' });
      child.unref();
      for (let i = 0; i < 100; i++) {
        const client = await answering(socket);
        if (client) {
          ctx.status(`agent started (pid ${child.pid}): data keys are kept ${said(o.maxAge * 60_000)} after KMS unwraps them, everything is wiped after ${said(o.idle * 60_000)} without a request or on \`kms-envelope agent stop\` (or Lock in VS Code); socket ${socket}`);
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new KmsEnvelopeError('USAGE', `the agent did not start: nothing answers on ${socket}`);
    });

  withLifetime(agent.command('serve', { hidden: true }))
    .description('run the agent in the foreground (what start runs)')
    .action(async (o: Lifetime) => {
      requireSupport();
      privateAgentFolder();
      const socket = agentSocket();
      if (await answering(socket)) throw new KmsEnvelopeError('USAGE', `an agent runs already on ${socket}`);
      const running = await serveAgent({ socket, maxAgeMs: o.maxAge * 60_000, idleMs: o.idle * 60_000 });
      for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void running.stop());
      await running.stopped;
    });

  agent
    .command('status')
    .description('whether the agent runs, and how many data keys it holds (exit 1 when it does not run)')
    .action(async () => {
      requireSupport();
      const socket = agentSocket();
      const why = untrustedSocket(socket);
      const s = why ? undefined : await new AgentClient(socket).status();
      if (!s) {
        // a folder or socket that is simply not there is an agent that does not run; anything else is said
        ctx.io.stdout.write(`not running${why && !/it is not running|it does not exist/.test(why) ? ` (${why})` : ''}\n`);
        process.exitCode = 1;
        return;
      }
      ctx.io.stdout.write(`running: pid ${s.pid}, ${s.keys} data key(s), kept ${said(s.maxAgeMs)} each, stops after ${said(s.idleMs)} idle; since ${s.startedAt}; ${socket}\n`);
    });

  agent
    .command('stop')
    .description('wipe every data key the agent holds and stop it')
    .action(async () => {
      requireSupport();
      const wiped = await trustedAgent()?.stop();
      ctx.status(wiped === undefined ? 'the agent was not running' : `agent stopped: ${wiped} data key(s) wiped`);
    });
}
