/**
 * A SOPS document as every store reads it (sops.go's TreeBranch): maps of keys in order, lists,
 * scalars and comments. Each scalar and comment keeps where its text is in the file, so that the
 * decrypted view and a save replace those spans only, and the rest of the text (layout, order,
 * quoting, comments that stay clear) is kept byte for byte.
 *
 * The walk is SOPS's: a value's path is its keys (list indices not included), a comment's is its
 * container's, and the MAC is SHA-512 over the plaintext of every value in document order
 * (comments and nulls excluded; with mac_only_encrypted, only the values that are encrypted, the
 * hash seeded with SHA-256("sops")). The MAC is written as upper-case hex.
 */
import { createHash } from 'node:crypto';
import { KmsEnvelopeError } from '../errors';
import { CryptRules, shouldEncrypt } from './metadata';
import { aadOf, decryptValue, encryptValue, IvStash, Plain } from './value';

export interface Span {
  readonly start: number;
  readonly end: number;
}

/** A scalar; `value` null is YAML's null (neither encrypted nor hashed). */
export interface Leaf extends Span {
  readonly kind: 'leaf';
  readonly value: Plain | null;
  /** Store-specific: how the span is written (a YAML flow context, a quoted dotenv value…). */
  readonly style?: string;
}

export interface Comment extends Span {
  readonly kind: 'comment';
  /** The comment's text without its leader (`#`). */
  readonly text: string;
}

export interface Branch {
  readonly kind: 'branch';
  readonly items: readonly (Pair | Comment)[];
}

export interface Pair {
  readonly kind: 'pair';
  readonly key: string;
  readonly value: Node;
}

export interface List {
  readonly kind: 'list';
  readonly items: readonly (Node | Comment)[];
}

export type Node = Branch | List | Leaf | null;

export interface Visit {
  readonly node: Leaf | Comment;
  readonly path: readonly string[];
  /** The path with list indices: which value this is, for a merge. */
  readonly at: readonly (string | number)[];
  readonly encrypted: boolean;
}

/** Every scalar and comment in document order, with its path and whether the rules encrypt it. */
export function visits(roots: readonly Branch[], rules: CryptRules): Visit[] {
  const out: Visit[] = [];
  type At = readonly (string | number)[];
  const onLeaf = (node: Leaf | Comment, path: readonly string[], at: At, stack: string[][]) =>
    out.push({ node, path, at, encrypted: shouldEncrypt(rules, path, stack, node.kind === 'comment') });
  const value = (v: Node | Comment, path: readonly string[], at: At, stack: string[][]): void => {
    if (v === null) return;
    if (v.kind === 'leaf' || v.kind === 'comment') onLeaf(v, path, at, stack);
    else if (v.kind === 'branch') branch(v, path, at, stack);
    else list(v, path, at, stack);
  };
  const list = (l: List, path: readonly string[], at: At, outer: string[][]): void => {
    const stack = [...outer, []];
    l.items.forEach((item, i) => {
      if (item?.kind === 'comment') stack[stack.length - 1].push(item.text);
      value(item, path, [...at, i], stack);
      if (item?.kind !== 'comment') stack[stack.length - 1] = [];
    });
  };
  const branch = (b: Branch, path: readonly string[], at: At, outer: string[][]): void => {
    const stack = [...outer, []];
    for (const item of b.items) {
      if (item.kind === 'comment') {
        stack[stack.length - 1].push(item.text);
        onLeaf(item, path, at, stack);
        continue;
      }
      value(item.value, [...path, item.key], [...at, item.key], stack);
      stack[stack.length - 1] = [];
    }
  };
  roots.forEach((root, i) => branch(root, [], roots.length > 1 ? [i] : [], []));
  return out;
}

const MAC_ONLY_ENCRYPTED_SEED = createHash('sha256').update('sops').digest();

/** SOPS's MAC of a document's plaintext values. */
export function macOf(plain: readonly { readonly visit: Visit; readonly plain: Plain | null }[], rules: CryptRules): string {
  const hash = createHash('sha512');
  if (rules.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_SEED);
  for (const { visit, plain: p } of plain) {
    if (visit.node.kind === 'comment' || p === null) continue;
    if (rules.macOnlyEncrypted && !visit.encrypted) continue;
    hash.update(p.text, 'utf8');
  }
  return hash.digest('hex').toUpperCase();
}

export interface Decrypted {
  readonly visit: Visit;
  /** The plaintext (for a comment, type `comment`); null for a YAML null. */
  readonly plain: Plain | null;
  /** The additional data a comment was decrypted with (found by trying its container and the levels above). */
  readonly aad?: string;
}

/**
 * Decrypts every encrypted value of a document read from disk. A comment that does not decrypt
 * is kept as it is, as SOPS keeps it (files from before SOPS encrypted comments).
 */
export function decryptAll(roots: readonly Branch[], rules: CryptRules, key: Buffer, stash: IvStash, name: string): Decrypted[] {
  return visits(roots, rules).map((visit) => {
    const node = visit.node;
    // (a value always has a key, so its path is never empty; a comment's may be, and it names no path)
    const where = `${name}: ${visit.path.join('.')}`;
    if (node.kind === 'comment') {
      if (!visit.encrypted || !node.text.startsWith('ENC[')) return { visit, plain: { type: 'comment', text: node.text } };
      for (let n = visit.path.length; n >= 0; n--) {
        const aad = aadOf(visit.path.slice(0, n));
        try {
          return { visit, plain: decryptValue(node.text, key, aad, where, stash), aad };
        } catch {
          // another level, then the comment as it is
        }
      }
      return { visit, plain: { type: 'comment', text: node.text } };
    }
    if (node.value === null) return { visit, plain: null };
    if (!visit.encrypted || (node.value.type === 'str' && node.value.text === '')) return { visit, plain: node.value };
    if (node.value.type !== 'str') throw decryptValueError(where);
    return { visit, plain: decryptValue(node.value.text, key, aadOf(visit.path), where, stash) };
  });
}

/** An encrypted path holding a number or bool: SOPS refuses it too (it expects a string there). */
const decryptValueError = (where: string): KmsEnvelopeError =>
  new KmsEnvelopeError('TAMPERED', `${where}: a value that should be encrypted is in clear`, 'Nothing was decrypted. Restore the file from version control.');

/** The text each encrypted span takes: values and comments encrypted under the data key (reusing IVs of unchanged values). */
export function encryptAll(plain: readonly Decrypted[], key: Buffer, stash: IvStash, commentAad: (d: Decrypted) => string): { visit: Visit; enc: string }[] {
  return plain
    .filter((d) => d.visit.encrypted && d.plain !== null)
    .map((d) => ({ visit: d.visit, enc: encryptValue(d.plain!, key, d.visit.node.kind === 'comment' ? commentAad(d) : aadOf(d.visit.path), stash) }));
}
