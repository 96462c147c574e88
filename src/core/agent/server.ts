/**
 * The key agent: a process of the user's that keeps data keys KMS unwrapped, in memory only, so
 * that short-lived commands (git's textconv and merge driver, get, run, the preload) reuse them
 * instead of starting the AWS SDK and calling KMS once per process. Like ssh-agent: it listens
 * on a Unix socket, 0600 in a 0700 folder of the user's (place.ts).
 *
 * Bounded: a key is dropped (zeroed) `maxAgeMs` after it was put (the editor's cache age), at
 * most MAX_KEYS are held (the oldest go first), and the agent wipes everything and exits after
 * `idleMs` without a request, on `stop`, and on SIGTERM/SIGINT/SIGHUP. It never writes a key
 * anywhere, and says nothing about one on its output. docs/SECURITY.md has its threat model.
 */
import { existsSync, unlinkSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { AgentStatus, MAX_REQUEST_BYTES, parseRequest } from './protocol';

export const MAX_KEYS = 1024;

export interface AgentOptions {
  readonly socket: string;
  readonly maxAgeMs: number;
  readonly idleMs: number;
  readonly now?: () => number;
}

interface Held {
  readonly dek: Buffer;
  readonly expires: number;
}

export interface RunningAgent {
  /** Resolves once the agent has stopped (its keys wiped, its socket removed). */
  readonly stopped: Promise<void>;
  stop(): Promise<number>;
  /** For the tests that prove wiping: the live buffers of the keys held, not copies. */
  rawBuffersForTest(): Buffer[];
}

/** Listens on `socket` (which must not be served already) until stopped or idle. */
export async function serveAgent(o: AgentOptions): Promise<RunningAgent> {
  const now = o.now ?? Date.now;
  const keys = new Map<string, Held>();
  const startedAt = new Date(now()).toISOString();
  let idle: NodeJS.Timeout | undefined;
  let done!: () => void;
  const stopped = new Promise<void>((resolve) => (done = resolve));

  const drop = (id: string) => {
    keys.get(id)?.dek.fill(0);
    keys.delete(id);
  };
  const sweep = () => {
    for (const [id, k] of [...keys]) if (now() >= k.expires) drop(id);
  };
  // Stryker disable next-line MethodExpression: not observable through the socket — every request sweeps first; the timer zeroes keys between requests
  const sweeper = setInterval(sweep, Math.min(o.maxAgeMs, 30_000));
  sweeper.unref();

  const server = net.createServer((conn) => {
    touch();
    let buffered = '';
    conn.setEncoding('utf8');
    conn.setTimeout(2000, () => conn.destroy());
    // Stryker disable next-line StringLiteral: defensive — a client gone mid-answer must not end the agent; not reproducible on demand
    conn.on('error', () => undefined);
    conn.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_REQUEST_BYTES) return conn.destroy();
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      conn.end(`${JSON.stringify(answer(buffered.slice(0, nl)))}\n`);
    });
  });

  const answer = (line: string): object => {
    const req = parseRequest(line);
    if (!req) return { error: 'malformed request' };
    sweep();
    switch (req.op) {
      case 'get': {
        const k = keys.get(req.id);
        return k ? { dek: k.dek.toString('base64') } : {};
      }
      case 'put': {
        drop(req.id);
        if (keys.size >= MAX_KEYS) drop(keys.keys().next().value as string);
        keys.set(req.id, { dek: Buffer.from(req.dek, 'base64'), expires: now() + o.maxAgeMs });
        return { ok: true };
      }
      case 'status':
        return { pid: process.pid, keys: keys.size, maxAgeMs: o.maxAgeMs, idleMs: o.idleMs, startedAt } satisfies AgentStatus;
      case 'stop': {
        const wiped = keys.size;
        setImmediate(() => void stop());
        return { ok: true, wiped };
      }
    }
  };

  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => void stop(), o.idleMs);
  };

  let stopping: Promise<number> | undefined;
  const stop = (): Promise<number> =>
    (stopping ??= new Promise<number>((resolve) => {
      const wiped = keys.size;
      for (const id of [...keys.keys()]) drop(id);
      clearInterval(sweeper);
      clearTimeout(idle);
      // closing a Unix socket's server removes its file
      server.close(() => {
        done();
        resolve(wiped);
      });
    }));

  if (existsSync(o.socket)) unlinkSync(o.socket); // a stale socket: the caller made sure no agent answers on it
  const mask = process.umask(0o077); // the socket is created 0600
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.socket, () => resolve());
    });
  } finally {
    process.umask(mask);
  }
  chmodSync(o.socket, 0o600);
  touch();
  return { stopped, stop, rawBuffersForTest: () => [...keys.values()].map((k) => k.dek) };
}
