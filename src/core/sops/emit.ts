/**
 * The `sops` metadata written out as sops 3.13 writes it in each store: YAML under a `sops:` key
 * with 4-space indentation and quoted times, JSON as the last member with tabs, dotenv as sorted
 * `sops_`-prefixed flattened lines (stores/flatten.go). Used for new files and when recipients
 * change; a save of an existing file keeps the metadata's own text and rewrites two values.
 */
import { Document, Scalar, visit } from 'yaml';
import type { OpenableStore } from './files';
import type { Span } from './tree';

/** The metadata map of a file, in the field order sops writes (sorted since 3.13). */
export type MetadataMap = Record<string, unknown>;

export const SOPS_VERSION = '3.13.2';

const sortKeys = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, sortKeys(x)]));
  return v;
};

/** `kms__list_0__map_arn`: a map flattened as sops's dotenv and INI stores do. */
export function flatten(v: unknown, prefix = ''): [string, string][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => flatten(x, `${prefix}__list_${i}`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => flatten(x, prefix ? `${prefix}__map_${k}` : k));
  return [[prefix, String(v).replace(/\n/g, '\\n')]];
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * The metadata's text for a store and the spans of its `lastmodified` and `mac` values (the
 * placeholders given in `meta` for them are found again in the text).
 */
export function emitMetadata(meta: MetadataMap, store: OpenableStore): { text: string; lastModified: Span; mac: Span } {
  const sorted = sortKeys(meta) as MetadataMap;
  let text: string;
  if (store === 'yaml') {
    const doc = new Document({ sops: sorted });
    // yaml.v3 quotes strings that YAML 1.1 would read as times; so does sops's output
    visit(doc, { Scalar: (_k, node: Scalar) => void (typeof node.value === 'string' && RFC3339.test(node.value) && (node.type = 'QUOTE_DOUBLE')) });
    text = doc.toString({ indent: 4, lineWidth: 0 });
  } else if (store === 'dotenv') {
    text = flatten(sorted).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `sops_${k}=${v}\n`).join('');
  } else if (store === 'ini') {
    // go-ini's pretty format: the = signs of a section aligned
    const lines = flatten(sorted).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const width = Math.max(...lines.map(([k]) => k.length));
    text = `\n[sops]\n${lines.map(([k, v]) => `${k.padEnd(width)} = ${v}\n`).join('')}`;
  } else {
    text = `,\n\t"sops": ${JSON.stringify(sorted, null, '\t').replace(/\n/g, '\n\t')}`;
  }
  const span = (value: unknown): Span => {
    const needle = String(value);
    const start = text.indexOf(needle);
    if (start < 0) throw new Error('internal error: a metadata value not found in its text');
    const quoted = /["']/.test(text[start - 1] ?? '') && text[start - 1] === text[start + needle.length];
    return quoted ? { start: start - 1, end: start + needle.length + 1 } : { start, end: start + needle.length };
  };
  return { text, lastModified: span(meta.lastmodified), mac: span(meta.mac) };
}

