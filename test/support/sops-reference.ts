/**
 * A second reader of SOPS files, written for the tests from SOPS's documentation and source
 * (sops.go, aes/cipher.go, stores/), sharing no code with src/core/sops: JSON and YAML are read
 * into plain objects by JSON.parse and the `yaml` library, dotenv line by line. It unwraps the
 * data key with its own KMS client, decrypts every value and checks the MAC, and throws on any
 * mismatch. What the product writes must read back here, and in sops-decoder (npm), a third.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { parse as parseYaml } from 'yaml';

type Tree = unknown;
export interface ReferenceResult {
  readonly values: Record<string, unknown>;
  readonly dataKey: Buffer;
}

function decryptScalar(v: string, key: Buffer, aad: string): unknown {
  const m = /^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:(.+)\]$/.exec(v);
  if (!m) throw new Error(`reference: not an encrypted value: ${v.slice(0, 30)}`);
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(m[2], 'base64'));
  d.setAAD(Buffer.from(aad));
  d.setAuthTag(Buffer.from(m[3], 'base64'));
  const s = Buffer.concat([d.update(Buffer.from(m[1], 'base64')), d.final()]).toString('utf8');
  switch (m[4]) {
    case 'str':
    case 'bytes':
      return s;
    case 'int':
      return BigInt(s);
    case 'float':
      return Number(s);
    case 'bool':
      return s === 'True';
    default:
      throw new Error(`reference: type ${m[4]}`);
  }
}

const macBytes = (v: unknown): string => {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) && !String(v).includes('e') ? `${v}` : String(v);
  return String(v);
};

function shouldEncrypt(meta: Record<string, unknown>, path: string[]): boolean {
  if (typeof meta.encrypted_regex === 'string') return path.some((k) => new RegExp(meta.encrypted_regex as string).test(k));
  if (typeof meta.unencrypted_regex === 'string') return !path.some((k) => new RegExp(meta.unencrypted_regex as string).test(k));
  if (typeof meta.encrypted_suffix === 'string') return path.some((k) => k.endsWith(meta.encrypted_suffix as string));
  const suffix = typeof meta.unencrypted_suffix === 'string' ? meta.unencrypted_suffix : '_unencrypted';
  return !path.some((k) => k.endsWith(suffix));
}

async function dataKeyOf(meta: Record<string, unknown>): Promise<Buffer> {
  const groups = (meta.key_groups as { kms?: unknown[] }[] | undefined) ?? [{ kms: meta.kms as unknown[] }];
  for (const entry of groups.flatMap((g) => g.kms ?? []) as { arn: string; enc: string; context?: Record<string, string> }[]) {
    const out = await new KMSClient({}).send(new DecryptCommand({ CiphertextBlob: Buffer.from(entry.enc, 'base64'), EncryptionContext: entry.context }));
    return Buffer.from(out.Plaintext!);
  }
  throw new Error('reference: no KMS recipient');
}

function walk(tree: Tree, path: string[], meta: Record<string, unknown>, key: Buffer, hash: ReturnType<typeof createHash>): unknown {
  if (Array.isArray(tree)) return tree.map((v) => walk(v, path, meta, key, hash));
  if (tree !== null && typeof tree === 'object') return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, walk(v, [...path, k], meta, key, hash)]));
  if (tree === null || tree === undefined) return tree;
  const encrypted = shouldEncrypt(meta, path);
  const plain = encrypted && typeof tree === 'string' && tree !== '' ? decryptScalar(tree, key, path.join(':') + ':') : tree;
  if (!meta.mac_only_encrypted || encrypted) hash.update(macBytes(plain));
  return plain;
}

/** Unflattens dotenv metadata (`kms__list_0__map_arn`). */
function unflatten(flat: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flat)) {
    const parts = k.split(/__(?=map_|list_)/);
    let node: Record<string, unknown> = out;
    parts.forEach((p, i) => {
      const name = p.replace(/^(?:map|list)_/, '');
      if (i === parts.length - 1) node[name] = k === 'mac_only_encrypted' ? v === 'true' : v.replace(/\\n/g, '\n');
      else node = (node[name] ??= {}) as Record<string, unknown>;
    });
  }
  const lists = (o: unknown): unknown => {
    if (o === null || typeof o !== 'object') return o;
    const entries = Object.entries(o as Record<string, unknown>);
    if (entries.length && entries.every(([k]) => /^\d+$/.test(k))) return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => lists(v));
    return Object.fromEntries(entries.map(([k, v]) => [k, lists(v)]));
  };
  return lists(out) as Record<string, unknown>;
}

/** Reads a SOPS file's text (store by name: .yaml/.yml, .json, .env; else binary) and returns its values. */
export async function referenceDecrypt(text: string, store: 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary'): Promise<ReferenceResult> {
  let doc: Record<string, unknown>;
  if (store === 'ini') {
    // sections of key = value lines (go-ini: values trimmed, triple quotes around line breaks); [sops] flattened
    const TRIPLE = '"'.repeat(3);
    const sections: Record<string, Record<string, string>> = {};
    let section = 'DEFAULT';
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === '' || /^[;#]/.test(line)) continue;
      const header = /^\[(.+)\]$/.exec(line);
      if (header) {
        section = header[1];
        sections[section] ??= {};
        continue;
      }
      const eq = line.indexOf('=');
      let value = line.slice(eq + 1).trim();
      if (value.startsWith(TRIPLE)) {
        while (!value.endsWith(TRIPLE) || value.length < 6) value += '\n' + lines[++i];
        value = value.slice(3, -3);
      }
      (sections[section] ??= {})[line.slice(0, eq).trim()] = value;
    }
    const { sops, ...data } = sections;
    doc = { ...data, sops: unflatten(sops) };
  } else if (store === 'dotenv') {
    const data: Record<string, string> = {};
    const meta: Record<string, string> = {};
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const eq = line.indexOf('=');
      const [k, v] = [line.slice(0, eq), line.slice(eq + 1)];
      if (k.startsWith('sops_')) meta[k.slice(5)] = v;
      else data[k] = v.replace(/\\n/g, '\n');
    }
    doc = { ...data, sops: unflatten(meta) };
  } else {
    doc = store === 'yaml' ? parseYaml(text, { intAsBigInt: true }) : JSON.parse(text);
  }
  const { sops: meta, ...data } = doc as { sops: Record<string, unknown> };
  const key = await dataKeyOf(meta);
  const hash = createHash('sha512');
  if (meta.mac_only_encrypted) hash.update(createHash('sha256').update('sops').digest());
  const values = walk(data, [], meta, key, hash) as Record<string, unknown>;
  const mac = decryptScalar(meta.mac as string, key, String(meta.lastmodified));
  if (mac !== hash.digest('hex').toUpperCase()) throw new Error('reference: MAC mismatch');
  return { values, dataKey: key };
}
