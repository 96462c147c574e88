/**
 * A SOPS file opened in memory and sealed again: the store beside kms-envelope's own format,
 * behind the same seams (open, seal, verify).
 *
 * - open: the data key from a KMS recipient (through the caller's KeyService: allow-list, cache,
 *   agent), every encrypted value decrypted, and the MAC checked exactly as `sops decrypt` checks
 *   it. The plaintext view is the file's own text with each encrypted span replaced by its
 *   plaintext and the `sops` metadata left out: what `sops decrypt` shows, in the file's layout.
 * - seal: the edited view read with the same store; each value encrypted under the same data key
 *   (an unchanged value keeps its IV, so its ciphertext is byte for byte the same), a new MAC and
 *   `lastmodified`, and the metadata put back as the file had it (every recipient kept).
 *
 * No KMS call is made to seal: the view's data key is kept for it, as for kms-envelope files.
 */
import { KmsEnvelopeError } from '../errors';
import { readMetadata, SopsMetadata } from './metadata';
import { binaryStore } from './stores/binary';
import { dotenvStore } from './stores/dotenv';
import { iniStore } from './stores/ini';
import { jsonStore } from './stores/json';
import type { Parsed, SopsStore, StoreName } from './stores/store';
import { yamlStore } from './stores/yaml';
import { Branch, Decrypted, decryptAll, encryptAll, macOf, Span, visits } from './tree';
import { aadOf, decryptValue, encryptValue, IvStash } from './value';

export const STORES: Record<StoreName, SopsStore> = { yaml: yamlStore, json: jsonStore, dotenv: dotenvStore, ini: iniStore, binary: binaryStore };

/** The data key of a file, from one of its KMS recipients (the caller applies the allow-list). */
export type SopsUnwrap = (metadata: SopsMetadata) => Promise<Buffer>;

export interface SopsOpened {
  readonly store: SopsStore;
  /** The plaintext view (for a binary file, the file's content). */
  readonly plaintext: string;
  readonly metadata: SopsMetadata;
  /** The data key: wipe it (wipeSops) when the view is closed. */
  readonly key: Buffer;
  /** The file's tree and every value decrypted (for variables and single values). */
  readonly roots: readonly Branch[];
  readonly decrypted: readonly Decrypted[];
  /** What a save needs of the file as read: its metadata's text and the IVs of its values. */
  readonly source: { readonly metadataText: string; readonly lastModified: Span; readonly mac: Span; readonly stash: IvStash; readonly commentAad: Map<string, string>; readonly text: string };
}

const tampered = (name: string, what: string): KmsEnvelopeError =>
  new KmsEnvelopeError('TAMPERED', `${name}: ${what}`, 'Nothing was decrypted. Restore the file from version control and compare the change.');

/** Replaces spans of a text (sorted, not overlapping) with new texts. */
export function splice(text: string, edits: readonly { start: number; end: number; text: string }[]): string {
  const sorted = [...edits].sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const e of sorted) {
    if (e.start < at) throw new Error('internal error: overlapping edits');
    out += text.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + text.slice(at);
}

/** Reads a SOPS file's text (no KMS call): the store's tree and the metadata, checked. */
export function readSops(text: string, storeName: StoreName, name: string): { store: SopsStore; parsed: Parsed; metadata: SopsMetadata } {
  const store = STORES[storeName];
  const parsed = store.parse(text, name);
  if (!parsed.metadata) throw new KmsEnvelopeError('NOT_ENCRYPTED', `${name} has no sops metadata`, 'It is not a SOPS file.');
  const metadata = readMetadata(parsed.metadata.value, name);
  return { store, parsed, metadata };
}

/** Decrypts a SOPS file's text in memory and checks its MAC (1 KMS call, 0 with a warm cache). */
export async function openSops(text: string, storeName: StoreName, name: string, unwrap: SopsUnwrap): Promise<SopsOpened> {
  const { store, parsed, metadata } = readSops(text, storeName, name);
  const key = await unwrap(metadata);
  try {
    const stash: IvStash = new Map();
    const plain = decryptAll(parsed.roots, metadata.rules, key, stash, name);
    checkMac(plain, metadata, key, name);
    const commentAad = new Map<string, string>();
    for (const d of plain) if (d.aad !== undefined && d.plain) commentAad.set(d.plain.text, d.aad);
    const m = parsed.metadata!;
    const edits = [
      ...plain.filter((d) => d.visit.encrypted && d.plain && !(d.visit.node.kind === 'leaf' && d.plain.text === '' && d.plain.type === 'str')).map((d) => ({
        start: d.visit.node.start,
        end: d.visit.node.end,
        text: d.visit.node.kind === 'comment' ? store.commentText(d.visit.node, d.plain!.text) : store.valueText(d.visit.node, d.plain!),
      })),
      ...m.spans.map((s) => ({ ...s, text: '' })),
    ];
    const plaintext = storeName === 'binary' ? plain[0]?.plain?.text ?? '' : splice(text, edits);
    const metadataText = m.spans.map((s) => text.slice(s.start, s.end)).join('');
    // spans of lastmodified and mac, relative to the metadata's own text
    const relative = (s: Span): Span => {
      let offset = 0;
      for (const span of m.spans) {
        if (s.start >= span.start && s.end <= span.end) return { start: offset + s.start - span.start, end: offset + s.end - span.start };
        offset += span.end - span.start;
      }
      throw new Error('internal error: a metadata value outside the metadata');
    };
    return { store, plaintext, metadata, key, roots: parsed.roots, decrypted: plain, source: { metadataText, lastModified: relative(m.lastModified), mac: relative(m.mac), stash, commentAad, text } };
  } catch (err) {
    key.fill(0);
    throw err;
  }
}

function checkMac(plain: readonly Decrypted[], metadata: SopsMetadata, key: Buffer, name: string): void {
  const computed = macOf(plain, metadata.rules);
  let stored: string;
  try {
    stored = metadata.mac === '' ? '' : decryptValue(metadata.mac, key, metadata.lastModified, `${name}: mac`).text;
  } catch {
    throw tampered(name, 'its MAC does not verify (the MAC or lastmodified was changed)');
  }
  if (stored !== computed) throw tampered(name, stored === '' ? 'it has no MAC' : 'its MAC does not match its values (a value was changed, added, removed or moved)');
}

/** Go's RFC 3339 format of a time, as SOPS writes `lastmodified`. */
export const sopsTime = (at: Date): string => at.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The file text for an edited plaintext view: every value encrypted under the view's data key, a
 * new MAC and lastmodified. An unchanged view gives back the file as it was read.
 */
export function sealSops(opened: SopsOpened, view: string, name: string, now = new Date()): string {
  if (view === opened.plaintext) return opened.source.text;
  const { store, metadata, key, source } = opened;
  const parsed = store.name === 'binary' ? binaryStore.parse(source.text, name) : store.parse(view, name);
  if (store.name !== 'binary' && parsed.metadata) throw new KmsEnvelopeError('USAGE', `${name}: "sops" is SOPS's own key and cannot be a key of the document`, 'Rename that key.');
  const all = visits(parsed.roots, metadata.rules);
  const plain: Decrypted[] = all.map((visit) => {
    const node = visit.node;
    if (node.kind === 'comment') return { visit, plain: { type: 'comment', text: node.text } };
    if (store.name === 'binary') return { visit, plain: { type: 'str', text: view } };
    return { visit, plain: node.value };
  });
  const mac = macOf(plain, metadata.rules);
  const lastModified = sopsTime(now);
  const encrypted = encryptAll(plain, key, source.stash, (d) => source.commentAad.get(d.plain!.text) ?? aadOf(d.visit.path));
  const encMac = encryptValue({ type: 'str', text: mac }, key, lastModified);
  const was = (s: Span, text = source.metadataText) => text.slice(s.start, s.end);
  const metadataText = splice(source.metadataText, [
    { ...source.lastModified, text: store.metadataScalar(lastModified, was(source.lastModified)) },
    { ...source.mac, text: store.metadataScalar(encMac, was(source.mac)) },
  ]);
  const base = store.name === 'binary' ? source.text : view;
  const edits = encrypted.map(({ visit, enc }) => ({
    start: visit.node.start,
    end: visit.node.end,
    text: visit.node.kind === 'comment' ? store.commentText(visit.node, enc) : store.valueText(visit.node, enc),
  }));
  if (store.name === 'binary') {
    const m = parsed.metadata!;
    return splice(base, [...edits, { ...m.lastModified, text: store.metadataScalar(lastModified, was(m.lastModified, base)) }, { ...m.mac, text: store.metadataScalar(encMac, was(m.mac, base)) }]);
  }
  const place = store.placeMetadata(view, parsed, metadataText);
  return splice(view, [...edits, { start: place.at, end: place.at, text: place.text }]);
}

/**
 * Opens the sealed text again with the key: proof that what is written decrypts to the view's
 * values (the same text, or where a store writes a value in another style than the view had it,
 * such as a YAML block scalar, the same value at the same path).
 */
export async function readsBackWith(key: Buffer, store: StoreName, sealed: string, view: string, name: string): Promise<void> {
  wipeSops(await readBack(key, store, sealed, view, name));
}

export const readsBack = (opened: SopsOpened, sealed: string, view: string, name: string): Promise<void> =>
  readsBackWith(opened.key, opened.store.name as StoreName, sealed, view, name);

/**
 * The same check, handing back the document it opened (its IVs and metadata: what the next save
 * of a view starts from), under a copy of the key that the caller wipes.
 */
export async function readBack(key: Buffer, store: StoreName, sealed: string, view: string, name: string): Promise<SopsOpened> {
  const again = await openSops(sealed, store, name, async () => Buffer.from(key));
  if (again.plaintext === view) return again;
  const values = (d: readonly Decrypted[]) => JSON.stringify(d.map((x) => [x.visit.path, x.visit.node.kind, x.plain]));
  const fromView = store === 'binary' ? [] : visits(STORES[store].parse(view, name).roots, again.metadata.rules).map((visit) => ({ visit, plain: visit.node.kind === 'comment' ? { type: 'comment', text: visit.node.text } : visit.node.value }));
  if (store === 'binary' || values(again.decrypted) !== values(fromView as Decrypted[])) {
    wipeSops(again);
    throw new Error('internal error: the re-encrypted SOPS file does not read back');
  }
  return again;
}

export const wipeSops = (opened: SopsOpened): void => {
  opened.key.fill(0);
};

