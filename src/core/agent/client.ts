/**
 * Talking to the key agent (server.ts). A client is only made when the agent's folder is a
 * private folder of this user's and its socket a socket of this user's (place.ts); any failure
 * afterwards (no agent, a slow one, a malformed answer) only means asking KMS, as without it.
 */
import { lstatSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { DataKeyStore } from '../kms/aws-kms';
import { agentId, AgentRequest, AgentStatus } from './protocol';
import { agentSocket, agentSupported, notPrivate } from './place';

/** Milliseconds a request may take: a local socket answers in about one. */
const TIMEOUT_MS = 1000;

/** One request, one answer; undefined when there is no agent or it does not answer properly. */
export function ask(socket: string, req: AgentRequest, timeoutMs = TIMEOUT_MS): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    let got = '';
    let tooLong = false;
    const conn = net.createConnection(socket);
    conn.setEncoding('utf8');
    conn.setTimeout(timeoutMs, () => conn.destroy());
    conn.on('connect', () => conn.write(`${JSON.stringify(req)}\n`));
    conn.on('data', (d: string) => {
      got += d;
      if (got.length <= 4096) return;
      tooLong = true; // an answer this long is none of the agent's: not read
      conn.destroy();
    });
    // Stryker disable next-line ArrowFunction: equivalent — 'close' follows every error and finds no answer
    conn.on('error', () => resolve(undefined));
    conn.on('close', () => {
      if (tooLong) return resolve(undefined);
      try {
        const v = JSON.parse(got) as unknown;
        resolve(typeof v === 'object' && v !== null && !Array.isArray(v) && !('error' in v) ? (v as Record<string, unknown>) : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

/** Why the agent's socket is not one to talk to, or undefined when it is (a socket of ours, in a private folder). */
export function untrustedSocket(socket: string, uid = process.getuid?.()): string | undefined {
  const folder = notPrivate(path.dirname(socket), uid);
  if (folder) return `its folder ${path.dirname(socket)} is not private: ${folder}`;
  let st;
  try {
    st = lstatSync(socket);
  } catch {
    return 'it is not running';
  }
  // in a private folder of ours, only we (and root) can have made it: its owner needs no check of its own
  if (!st.isSocket()) return `${socket} is not a socket`;
  return undefined;
}

export class AgentClient implements DataKeyStore {
  constructor(readonly socket: string) {}

  async get(cacheId: string): Promise<Buffer | undefined> {
    const r = await ask(this.socket, { op: 'get', id: agentId(cacheId) });
    const dek = typeof r?.dek === 'string' ? Buffer.from(r.dek, 'base64') : undefined;
    return dek?.length === 32 ? dek : undefined;
  }

  async put(cacheId: string, dek: Buffer): Promise<void> {
    await ask(this.socket, { op: 'put', id: agentId(cacheId), dek: dek.toString('base64') });
  }

  async status(): Promise<AgentStatus | undefined> {
    return (await ask(this.socket, { op: 'status' })) as AgentStatus | undefined;
  }

  /** Wipes the agent's keys and stops it; how many keys it held, or undefined when none answered. */
  async stop(): Promise<number | undefined> {
    const r = await ask(this.socket, { op: 'stop' });
    return typeof r?.wiped === 'number' ? r.wiped : undefined;
  }
}

/** A client of this user's agent socket, when it is one to talk to (see untrustedSocket); otherwise undefined. */
export function trustedAgent(env: NodeJS.ProcessEnv = process.env): AgentClient | undefined {
  if (!agentSupported()) return undefined;
  const socket = agentSocket(env);
  return untrustedSocket(socket) === undefined ? new AgentClient(socket) : undefined;
}

/**
 * The agent whose keys commands use, when one runs where it should and may be trusted; otherwise
 * undefined (and KMS is asked, as without an agent). KMS_ENVELOPE_AGENT=0 turns that use off;
 * stopping it (agent stop, Lock) goes through trustedAgent, whatever the switch.
 */
export const runningAgent = (env: NodeJS.ProcessEnv = process.env): AgentClient | undefined => (env.KMS_ENVELOPE_AGENT === '0' ? undefined : trustedAgent(env));
