/**
 * SOPS's YAML store: one document whose top level is a map; `sops` is the metadata's key. Read
 * with the `yaml` library (YAML 1.2 core schema, as yaml.v3 reads untagged scalars), with source
 * ranges, so that every other byte of the file stays where it is.
 *
 * Refused, with a message, rather than guessed: several documents in one file, anchors and
 * aliases, tags, and keys that are not strings.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, Parser, parseAllDocuments, parseDocument, Scalar, stringify, YAMLMap, YAMLSeq } from 'yaml';
import { KmsEnvelopeError } from '../../errors';
import type { Branch, Comment, Leaf, List, Node, Pair } from '../tree';
import { formatFloat, Plain } from '../value';
import { MAX_DEPTH, MetadataText, Parsed, SopsStore, withinStack } from './store';

const refuse = (name: string, what: string): KmsEnvelopeError =>
  new KmsEnvelopeError('FORMAT', `${name}: ${what}`, 'Edit the YAML so that it is one document of maps, lists and plain values (no anchors, aliases or tags), as sops reads it.');

/** Every comment token of the text, in order (from the YAML parser's concrete syntax tree). */
function commentTokens(text: string): { offset: number; source: string }[] {
  const out: { offset: number; source: string }[] = [];
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (typeof v !== 'object' || v === null) return;
    const t = v as { type?: unknown; offset?: unknown; source?: unknown };
    if (t.type === 'comment' && typeof t.offset === 'number' && typeof t.source === 'string') out.push({ offset: t.offset, source: t.source });
    for (const child of Object.values(v)) if (typeof child === 'object') visit(child);
  };
  for (const token of new Parser().parse(text)) visit(token);
  return out.sort((a, b) => a.offset - b.offset);
}

function plainOf(node: Scalar, name: string): Plain | null {
  const v = node.value;
  if (v === null) return null;
  if (typeof v === 'bigint') return { type: 'int', text: v.toString() };
  if (typeof v === 'number') return { type: 'float', text: formatFloat(v) };
  if (typeof v === 'boolean') return { type: 'bool', text: v ? 'True' : 'False' };
  if (typeof v === 'string') return { type: 'str', text: v };
  throw refuse(name, 'a value of an unsupported type');
}

export const yamlStore: SopsStore = {
  name: 'yaml',

  parse(text, name) {
    return withinStack(name, () => parseYaml(text, name));
  },

  valueText(leaf, value) {
    // a value keeps the quotes it had (the view's and the file's text then match line for line)
    const [context, type] = (leaf.style ?? 'block PLAIN').split(' ');
    const flow = context === 'flow';
    const single = (s: string) => `'${s.replace(/'/g, "''")}'`;
    if (typeof value === 'string') {
      if (type === 'QUOTE_SINGLE') return single(value);
      return value === '' || flow || type === 'QUOTE_DOUBLE' ? JSON.stringify(value) : value;
    }
    if (value.type === 'str' || value.type === 'bytes') {
      if (type === 'QUOTE_DOUBLE') return JSON.stringify(value.text);
      if (type === 'QUOTE_SINGLE' && !value.text.includes('\n')) return single(value.text);
    }
    switch (value.type) {
      case 'int':
        return value.text;
      case 'float':
        return /^-?\d+$/.test(value.text) ? `${value.text}.0` : value.text === '+Inf' ? '.inf' : value.text === '-Inf' ? '-.inf' : value.text === 'NaN' ? '.nan' : value.text;
      case 'bool':
        return value.text === 'True' ? 'true' : 'false';
      default: {
        if (flow) return JSON.stringify(value.text);
        const out = stringify(value.text, { lineWidth: 0, minContentWidth: 0, blockQuote: false }).replace(/\n$/, '');
        return out.includes('\n') ? JSON.stringify(value.text) : out;
      }
    }
  },

  commentText: (_comment, text) => `#${text}`,

  metadataScalar: (text, replaced) => (replaced.startsWith('"') ? JSON.stringify(text) : replaced.startsWith("'") ? `'${text}'` : text),

  placeMetadata(view, _parsed, metadata) {
    const sep = view === '' || view.endsWith('\n') ? '' : '\n';
    return { at: view.length, text: sep + metadata };
  },
};

/** The tree of a YAML text, with its spans (yamlStore.parse, within the stack). */
function parseYaml(text: string, name: string): Parsed {
  const doc = parseDocument(text, { intAsBigInt: true, keepSourceTokens: false, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) throw refuse(name, `not valid YAML (${doc.errors[0].message.split('\n')[0]})`);
  if (parseAllDocuments(text).length > 1) throw refuse(name, 'several YAML documents in one file are not supported');
  const root = doc.contents;
  if (root !== null && !isMap(root)) throw refuse(name, 'the top level is not a map');
  const column = (offset: number): number => offset - (text.lastIndexOf('\n', offset - 1) + 1);

  // Containers by key column, for the comments: a comment belongs to the map or list whose
  // key stands left of it (sops.go gives a comment its container's path).
  const containers: { offset: number; column: number; path: string[] }[] = [];
  let metadata: MetadataText | undefined;

  let depth = 0;
  const node = (n: unknown, path: string[], flow: boolean): Node => {
    if (n === null || n === undefined) return null;
    if (depth > MAX_DEPTH) throw refuse(name, `nested deeper than ${MAX_DEPTH} levels`);
    if (isAlias(n)) throw refuse(name, 'anchors and aliases are not supported');
    const anchored = n as { anchor?: string; tag?: string };
    if (anchored.anchor) throw refuse(name, 'anchors and aliases are not supported');
    if (anchored.tag && !/^tag:yaml\.org,2002:(?:str|int|float|bool|null|map|seq)$/.test(anchored.tag)) throw refuse(name, `the tag ${anchored.tag} is not supported`);
    if (isScalar(n)) {
      const [start, valueEnd] = n.range!;
      // a block scalar's range takes its last line break: the span stops before it, so the text after stays
      let end = valueEnd;
      while (end > start && /\s/.test(text[end - 1])) end--;
      return { kind: 'leaf', value: plainOf(n, name), start, end, style: `${flow ? 'flow' : 'block'} ${n.type ?? 'PLAIN'}` };
    }
    depth++;
    try {
      if (isMap(n)) return branch(n, path, flow);
      if (isSeq(n)) return list(n, path, flow);
    } finally {
      depth--;
    }
    throw refuse(name, 'an unsupported YAML node');
  };
  const list = (s: YAMLSeq, path: string[], flow: boolean): List => ({ kind: 'list', items: s.items.map((i) => node(i, path, flow || s.flow === true)) });
  const branch = (m: YAMLMap, path: string[], flow: boolean, top = false): Branch => {
    const items: Pair[] = [];
    for (const p of m.items) {
      if (!isPair(p) || !isScalar(p.key) || typeof p.key.value !== 'string') throw refuse(name, `a key that is not a string in ${path.join('.') || 'the top level'}`);
      const key = p.key.value;
      if (key === '<<') throw refuse(name, 'merge keys (<<) are not supported');
      if (top && key === 'sops') {
        metadata = metadataOf(p.key.range![0], p.value, text, name);
        continue;
      }
      const keyStart = p.key.range![0];
      if ((isMap(p.value) || isSeq(p.value)) && !(m.flow || flow)) containers.push({ offset: keyStart, column: column(keyStart), path: [...path, key] });
      items.push({ kind: 'pair', key, value: node(p.value, [...path, key], flow || m.flow === true) });
    }
    return { kind: 'branch', items };
  };
  const top = root ? branch(root, [], false, true) : { kind: 'branch' as const, items: [] };
  const inMetadata = (o: number) => metadata?.spans.some((s) => o >= s.start && o < s.end) ?? false;
  return { roots: [withComments(top, commentTokens(text).filter((t) => !inMetadata(t.offset)), containers, column)], metadata };
}

/** Places the comments of the text in the tree: each in the container whose key stands left of it. */
function withComments(root: Branch, tokens: { offset: number; source: string }[], containers: { offset: number; column: number; path: string[] }[], column: (o: number) => number): Branch {
  if (tokens.length === 0) return root;
  const byPath = new Map<string, Comment[]>();
  for (const t of tokens) {
    const col = column(t.offset);
    // the innermost container opened before the comment whose key is left of it
    const open: { column: number; path: string[] }[] = [];
    for (const c of containers) {
      if (c.offset > t.offset) break;
      while (open.length && open[open.length - 1].column >= c.column) open.pop();
      open.push(c);
    }
    while (open.length && open[open.length - 1].column >= col) open.pop();
    const path = open.length ? open[open.length - 1].path : [];
    const id = JSON.stringify(path);
    if (!byPath.has(id)) byPath.set(id, []);
    byPath.get(id)!.push({ kind: 'comment', text: t.source.slice(1), start: t.offset, end: t.offset + t.source.length });
  }
  // each comment goes before the first item of its container that starts after it
  const place = (n: Node, path: string[]): Node => {
    if (n === null || n.kind === 'leaf') return n;
    const mine = byPath.get(JSON.stringify(path)) ?? [];
    byPath.delete(JSON.stringify(path));
    if (n.kind === 'list') {
      const items = n.items.map((i) => (i?.kind === 'comment' ? i : place(i, path)));
      return { kind: 'list', items: interleave(items, mine) };
    }
    const items = n.items.map((i) => (i.kind === 'pair' ? { ...i, value: place(i.value, [...path, i.key]) } : i));
    return { kind: 'branch', items: interleave(items, mine) };
  };
  const placed = place(root, []) as Branch;
  // comments whose container could not be found stay at the top level, in order
  const rest = [...byPath.values()].flat();
  return rest.length ? { kind: 'branch', items: interleave(placed.items, rest) } : placed;
}

const startOf = (n: unknown): number => {
  const x = n as { kind?: string; start?: number; value?: unknown; items?: unknown[] } | null;
  if (!x) return Infinity;
  if (typeof x.start === 'number') return x.start;
  if (x.kind === 'pair') return startOf(x.value);
  if (x.items?.length) return Math.min(...x.items.map(startOf));
  return Infinity;
};

function interleave<T>(items: readonly T[], comments: readonly Comment[]): (T | Comment)[] {
  if (comments.length === 0) return [...items];
  const out: (T | Comment)[] = [];
  let c = 0;
  for (const item of items) {
    const at = startOf(item);
    while (c < comments.length && comments[c].start < at) out.push(comments[c++]);
    out.push(item);
  }
  while (c < comments.length) out.push(comments[c++]);
  return out;
}

/** The `sops` pair: its span (to the end of the file's text after it) and its two rewritten values. */
function metadataOf(keyStart: number, value: unknown, text: string, name: string): MetadataText {
  if (!isMap(value)) throw refuse(name, 'the sops metadata is not a map');
  const span = (field: string) => {
    const p = value.items.find((i) => isScalar(i.key) && i.key.value === field);
    if (!p || !isScalar(p.value)) throw refuse(name, `the sops metadata has no ${field}`);
    return { start: p.value.range![0], end: p.value.range![1] };
  };
  // to the end of the map's last line: the view keeps no trace of it
  const nodeEnd = value.range![2];
  const lineEnd = text.indexOf('\n', nodeEnd - 1);
  const end = text[nodeEnd - 1] === '\n' ? nodeEnd : lineEnd === -1 ? text.length : lineEnd + 1;
  return { value: value.toJSON(), spans: [{ start: keyStart, end }], lastModified: span('lastmodified'), mac: span('mac') };
}
