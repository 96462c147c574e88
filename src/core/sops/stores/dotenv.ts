/**
 * SOPS's dotenv store (stores/dotenv/store.go): one `KEY=value` per line, everything after the
 * first `=` the value (no quotes, `\n` for a line break), `#` lines comments, empty lines
 * skipped. The metadata is flattened into `sops_`-prefixed lines (`sops_kms__list_0__map_arn=`),
 * which SOPS writes last, sorted.
 *
 * Note the difference from dotenv itself: SOPS reads `A = b` as the key `A ` and the value ` b`;
 * kept as SOPS reads it, since the MAC and additional data are computed over exactly that.
 */
import { KmsEnvelopeError } from '../../errors';
import type { Branch, Comment, Leaf, Pair, Span } from '../tree';
import type { MetadataText, SopsStore } from './store';

const PREFIX = 'sops_';

const refuse = (name: string, line: number, what: string): KmsEnvelopeError =>
  new KmsEnvelopeError('FORMAT', `${name}: line ${line}: ${what}`, 'Each line of a SOPS dotenv file is KEY=value or a # comment.');

/** `a__map_b__list_0__map_c` → ['a', {map:'b'}, {list:0}, …]: SOPS's flattening of metadata (stores/flatten.go). */
export function unflatten(flat: ReadonlyMap<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of flat) {
    const tokens = key.split(/(?=__map_|__list_)/).map((t) => (t.startsWith('__map_') ? t.slice(6) : t.startsWith('__list_') ? Number(t.slice(7)) : t));
    let node: Record<string, unknown> | unknown[] = out;
    tokens.forEach((t, i) => {
      const last = i === tokens.length - 1;
      const next = tokens[i + 1];
      const slot = node as Record<string | number, unknown>;
      if (last) slot[t] = decode(key, value);
      else slot[t] ??= typeof next === 'number' ? [] : {};
      node = slot[t] as Record<string, unknown>;
    });
  }
  return out;
}

/** Metadata values are strings in dotenv: line breaks written `\n`, and two fields that are not strings. */
const decode = (key: string, value: string): unknown => {
  if (key === 'mac_only_encrypted') return value === 'true';
  if (key === 'shamir_threshold') return Number(value);
  return value;
};

export const dotenvStore: SopsStore = {
  name: 'dotenv',

  parse(text, name) {
    const items: (Pair | Comment)[] = [];
    const meta = new Map<string, string>();
    const spans: Span[] = [];
    const valueSpans = new Map<string, Span>();
    let at = 0;
    let n = 0;
    for (const line of text.split('\n')) {
      n++;
      const start = at;
      at += line.length + 1;
      if (line.length === 0) continue;
      if (line[0] === '#') {
        items.push({ kind: 'comment', text: line.slice(1), start, end: start + line.length });
        continue;
      }
      const eq = line.indexOf('=');
      if (eq === -1) throw refuse(name, n, 'no "=" (a line of a SOPS dotenv file is KEY=value)');
      const key = line.slice(0, eq);
      const raw = line.slice(eq + 1);
      if (key.startsWith(PREFIX)) {
        if (meta.has(key.slice(PREFIX.length))) throw refuse(name, n, `${key} appears twice`);
        meta.set(key.slice(PREFIX.length), raw.replace(/\\n/g, '\n'));
        spans.push({ start, end: Math.min(at, text.length) });
        valueSpans.set(key.slice(PREFIX.length), { start: start + eq + 1, end: start + line.length });
        continue;
      }
      const leaf: Leaf = { kind: 'leaf', value: { type: 'str', text: raw.replace(/\\n/g, '\n') }, start: start + eq + 1, end: start + line.length };
      items.push({ kind: 'pair', key, value: leaf });
    }
    const root: Branch = { kind: 'branch', items };
    if (meta.size === 0) return { roots: [root] };
    const field = (f: string): Span => {
      const s = valueSpans.get(f);
      if (!s) throw refuse(name, 0, `the sops metadata has no ${PREFIX}${f}`);
      return s;
    };
    const metadata: MetadataText = { value: unflatten(meta), spans, lastModified: field('lastmodified'), mac: field('mac') };
    return { roots: [root], metadata };
  },

  valueText: (_leaf, value) => (typeof value === 'string' ? value : value.text).replace(/\n/g, '\\n'),

  commentText: (_comment, text) => `#${text}`,

  metadataScalar: (text) => text,

  placeMetadata(view, _parsed, metadata) {
    const sep = view === '' || view.endsWith('\n') ? '' : '\n';
    return { at: view.length, text: sep + metadata };
  },
};
