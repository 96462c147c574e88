/**
 * The key agent's protocol: one JSON request per connection, one line of at most 4 KiB, and one
 * JSON answer line.
 *
 *   {"op":"get","id":<64 hex>}               → {"dek":<base64 of 32 bytes>} or {}
 *   {"op":"put","id":<64 hex>,"dek":<base64>} → {"ok":true}
 *   {"op":"status"}                          → AgentStatus
 *   {"op":"stop"}                            → {"ok":true,"wiped":n}, then the agent exits
 *
 * An id is the SHA-256 of what names one wrapped data key (the stanza's key ARN, the wrapped
 * blob, the encryption context: the cache's own key), so that the agent holds no ciphertext and
 * a client asks only for a key it can name. Anything else is answered {"error":…} and closed.
 */
import { createHash } from 'node:crypto';

export const MAX_REQUEST_BYTES = 4096;

export type AgentRequest = { op: 'get'; id: string } | { op: 'put'; id: string; dek: string } | { op: 'status' } | { op: 'stop' };

export interface AgentStatus {
  readonly pid: number;
  readonly keys: number;
  /** Milliseconds a data key is kept after it was put. */
  readonly maxAgeMs: number;
  /** Milliseconds without a request after which the agent wipes its keys and exits. */
  readonly idleMs: number;
  readonly startedAt: string;
}

const ID = /^[0-9a-f]{64}$/;
const DEK = /^[A-Za-z0-9+/]{43}=$/; // base64 of exactly 32 bytes

/** The id of the data key a stanza wraps under a context (cacheId of aws-kms.ts). */
export const agentId = (cacheId: string): string => createHash('sha256').update(cacheId).digest('hex');

/** A request line, checked field by field; undefined for anything malformed. */
export function parseRequest(line: string): AgentRequest | undefined {
  let v: unknown;
  // Stryker disable BlockStatement: equivalent — without the catch's return, v stays undefined and is refused below
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  // Stryker restore BlockStatement
  // whatever JSON gave becomes an object (null an empty one, a string its letters, an array its
  // indices): only the exact shapes below are requests
  const r = Object(v) as Record<string, unknown>;
  const keys = Object.keys(r).sort().join(',');
  if (r.op === 'get' && keys === 'id,op' && typeof r.id === 'string' && ID.test(r.id)) return { op: 'get', id: r.id };
  if (r.op === 'put' && keys === 'dek,id,op' && typeof r.id === 'string' && ID.test(r.id) && typeof r.dek === 'string' && DEK.test(r.dek)) return { op: 'put', id: r.id, dek: r.dek };
  if ((r.op === 'status' || r.op === 'stop') && keys === 'op') return { op: r.op };
  return undefined;
}
