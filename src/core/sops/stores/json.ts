/**
 * SOPS's JSON store: a top-level object whose `sops` member is the metadata. Read with
 * jsonc-parser (offsets of every value; strict JSON: comments and trailing commas refused), so a
 * save rewrites only the values' spans. A number without a fraction or exponent is an int, any
 * other a float (as encoding/json's numbers read back in SOPS).
 */
import { Node as JsonNode, parseTree, ParseError, printParseErrorCode } from 'jsonc-parser';
import { KmsEnvelopeError } from '../../errors';
import type { Branch, List, Node } from '../tree';
import { formatFloat, Plain } from '../value';
import { MAX_DEPTH, MetadataText, Parsed, SopsStore, withinStack } from './store';

const refuse = (name: string, what: string): KmsEnvelopeError => new KmsEnvelopeError('FORMAT', `${name}: ${what}`, 'Make the file valid JSON whose top level is an object, as sops reads it.');

/** A JSON text as a node tree with offsets; strict JSON only. */
export function parseJson(text: string, name: string): JsonNode | undefined {
  const errors: ParseError[] = [];
  const root = withinStack(name, () => parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false }));
  if (errors.length) throw refuse(name, `not valid JSON (${printParseErrorCode(errors[0].error)} at offset ${errors[0].offset})`);
  return root;
}

const plainOf = (n: JsonNode, text: string): Plain | null => {
  if (n.type === 'null') return null;
  if (n.type === 'boolean') return { type: 'bool', text: n.value ? 'True' : 'False' };
  if (n.type === 'number') {
    const source = text.slice(n.offset, n.offset + n.length);
    return /^-?\d+$/.test(source) ? { type: 'int', text: BigInt(source).toString() } : { type: 'float', text: formatFloat(Number(source)) };
  }
  return { type: 'str', text: n.value as string };
};

/** The object members of a node with their key text, refusing duplicates (which JSON readers resolve differently). */
function members(n: JsonNode, name: string): { key: string; prop: JsonNode; value: JsonNode }[] {
  const seen = new Set<string>();
  return (n.children ?? []).map((prop) => {
    const [k, v] = prop.children ?? [];
    const key = k.value as string;
    if (seen.has(key)) throw refuse(name, `the key "${key}" appears twice`);
    seen.add(key);
    if (!v) throw refuse(name, `the key "${key}" has no value`);
    return { key, prop, value: v };
  });
}

export function jsonTree(root: JsonNode, text: string, name: string): { branch: Branch; sops?: { prop: JsonNode; value: JsonNode; index: number; props: JsonNode[] } } {
  const node = (n: JsonNode, depth: number): Node => {
    if (depth > MAX_DEPTH) throw refuse(name, `nested deeper than ${MAX_DEPTH} levels`);
    if (n.type === 'object') return { kind: 'branch', items: members(n, name).map((m) => ({ kind: 'pair', key: m.key, value: node(m.value, depth + 1) })) };
    if (n.type === 'array') return { kind: 'list', items: (n.children ?? []).map((c) => node(c, depth + 1)) } satisfies List;
    return { kind: 'leaf', value: plainOf(n, text), start: n.offset, end: n.offset + n.length };
  };
  const all = members(root, name);
  const index = all.findIndex((m) => m.key === 'sops');
  const branch: Branch = { kind: 'branch', items: all.filter((_, i) => i !== index).map((m) => ({ kind: 'pair', key: m.key, value: node(m.value, 1) })) };
  return { branch, sops: index === -1 ? undefined : { prop: all[index].prop, value: all[index].value, index, props: all.map((m) => m.prop) } };
}

/** The metadata member's span (with the comma that joins it to its neighbour) and its rewritten values. */
export function jsonMetadata(sops: NonNullable<ReturnType<typeof jsonTree>['sops']>, text: string, name: string): MetadataText {
  const { prop, value, index, props } = sops;
  if (value.type !== 'object') throw refuse(name, 'the sops metadata is not an object');
  const end = prop.offset + prop.length;
  // after a member: from the end of the one before it; first: to the start of the one after it
  const span = index > 0 ? { start: props[index - 1].offset + props[index - 1].length, end } : { start: prop.offset, end: props[1]?.offset ?? end };
  const field = (f: string) => {
    const m = members(value, name).find((x) => x.key === f);
    if (!m || m.value.type !== 'string') throw refuse(name, `the sops metadata has no ${f}`);
    return { start: m.value.offset, end: m.value.offset + m.value.length };
  };
  return { value: JSON.parse(text.slice(value.offset, value.offset + value.length)), spans: [span], lastModified: field('lastmodified'), mac: field('mac') };
}

export const jsonStore: SopsStore = {
  name: 'json',

  parse(text, name): Parsed {
    const root = parseJson(text, name);
    if (!root || root.type !== 'object') throw refuse(name, 'the top level is not an object');
    const { branch, sops } = jsonTree(root, text, name);
    return { roots: [branch], metadata: sops ? jsonMetadata(sops, text, name) : undefined };
  },

  valueText(_leaf, value) {
    if (typeof value === 'string') return JSON.stringify(value);
    if (value.type === 'int') return value.text;
    if (value.type === 'float') return /^-?\d+$/.test(value.text) ? `${value.text}.0` : value.text;
    if (value.type === 'bool') return value.text === 'True' ? 'true' : 'false';
    return JSON.stringify(value.text);
  },

  commentText: () => {
    throw new Error('internal error: JSON has no comments');
  },

  metadataScalar: (text) => JSON.stringify(text),

  placeMetadata(view, _parsed, metadata) {
    const root = parseJson(view, 'the view')!;
    const props = root.children ?? [];
    if (metadata.trimStart().startsWith(',')) {
      // it followed a member: after the last one, or first of an empty object
      if (props.length) return { at: props[props.length - 1].offset + props[props.length - 1].length, text: metadata };
      return { at: root.offset + 1, text: metadata.replace(/^(\s*),/, '$1') };
    }
    return { at: props[0]?.offset ?? root.offset + 1, text: props.length ? metadata : metadata.replace(/,(\s*)$/, '$1') };
  },
};
