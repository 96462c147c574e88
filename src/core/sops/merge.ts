/**
 * git's merge of a SOPS file, value by value: the three versions are decrypted in memory, each
 * value taken from the side that changed it, and the result sealed under one side's data key
 * with a new MAC, so every sops reader accepts the merge commit. Unchanged values keep their
 * ciphertext (the IVs of the side the result is built on).
 *
 * A value is known by its path with list indices. When only one side changed the document's
 * shape (a value added, removed or moved), the result is that side's text with the other side's
 * changed values put in; when both did, or both changed one value differently, nothing is merged:
 * ours is kept as it was and git marks the path conflicted, with the paths named (never a value).
 * Markers cannot be written into a SOPS file (no sops reader would accept it), and plaintext is
 * never written to disk.
 */
import { equalBytes } from '../bytes';
import { KmsEnvelopeError } from '../errors';
import { openSops, readsBack, sealSops, SopsOpened, splice } from './document';
import { OpenableStore, sopsSealable, sopsUnwrap } from './files';
import type { KeyService } from '../kms/key-service';
import { Decrypted, Leaf, visits } from './tree';

export interface SopsSide {
  readonly name: string;
  readonly text: string;
  readonly store: OpenableStore;
}

export interface SopsMergeResult {
  /** The merged file, when the merge is complete. */
  readonly text?: string;
  /** Paths changed differently on both sides, or why nothing could be merged. */
  readonly conflicts: string[];
  readonly message?: string;
}

type Unwrap = Parameters<typeof openSops>[3];

const id = (d: Decrypted): string => JSON.stringify([d.visit.at, d.visit.node.kind]);
const valuesOf = (o: SopsOpened): Map<string, Decrypted> => new Map(o.decrypted.filter((d) => d.visit.node.kind === 'leaf').map((d) => [id(d), d]));
const sameValue = (a: Decrypted | undefined, b: Decrypted | undefined): boolean => JSON.stringify(a?.plain ?? null) === JSON.stringify(b?.plain ?? null);
const shape = (m: Map<string, Decrypted>): string => JSON.stringify([...m.keys()]);
const where = (key: string): string => (JSON.parse(key) as [(string | number)[], string])[0].join('.');

export async function mergeSops(base: SopsSide, ours: SopsSide, theirs: SopsSide, svc: KeyService, path: string): Promise<SopsMergeResult> {
  const unwrap = (name: string): Unwrap => sopsUnwrap(svc, name);
  if (new Set([base.store, ours.store, theirs.store]).size > 1) return { conflicts: [], message: `${ours.name}: the sides are SOPS files of different stores; kept ours` };
  const opened: SopsOpened[] = [];
  try {
    for (const side of [base, ours, theirs]) {
      opened.push(
        await openSops(side.text, side.store, side.name, unwrap(side.name)).catch((err: unknown) => {
          throw err instanceof KmsEnvelopeError && !err.message.startsWith(side.name) ? new KmsEnvelopeError(err.code, `${side.name}: ${err.message}`, err.hint) : err;
        }),
      );
    }
    const [o, a, b] = opened;
    // the result is sealed under ours' data key, or under theirs' when only theirs rotated it
    // (a key may have been removed: the merge must not undo that)
    // the sides' data keys, unwrapped above, compared (in constant time): no side is opened twice
    const same = (x: SopsOpened, y: SopsOpened) => equalBytes(x.key, y.key);
    const oursKept = same(o, a);
    const theirsKept = same(o, b);
    if (!oursKept && !theirsKept && !same(a, b)) {
      return { conflicts: [], message: `${ours.name}: both sides made a new data key since the base (rotated, or a key removed); kept ours. Take one side (git checkout --ours/--theirs), set the other's changes in the editor, then \`git add\` it.` };
    }
    const [vo, va, vb] = [o, a, b].map(valuesOf);
    const conflicts = [...new Set([...va.keys(), ...vb.keys()])].filter((k) => va.has(k) && vb.has(k) && !sameValue(va.get(k), vo.get(k)) && !sameValue(vb.get(k), vo.get(k)) && !sameValue(va.get(k), vb.get(k)));
    if (conflicts.length) return { conflicts: conflicts.map(where), message: `${ours.name}: changed differently on both sides: ${conflicts.map(where).join(', ')}; kept ours` };
    const oursShaped = shape(va) !== shape(vo);
    const theirsShaped = shape(vb) !== shape(vo);
    if (oursShaped && theirsShaped) {
      return { conflicts: [], message: `${ours.name}: both sides added, removed or moved values; kept ours. Add theirs' changes in the editor (git show MERGE_HEAD:<path> in the decrypted diff), then \`git add\` it.` };
    }
    // the text of the side whose shape wins, with the other side's changed values put in
    const [host, hostValues, guestValues] = theirsShaped ? [b, vb, va] : [a, va, vb];
    const lost = [...guestValues.keys()].filter((k) => !sameValue(guestValues.get(k), vo.get(k)) && !hostValues.has(k));
    if (lost.length) return { conflicts: lost.map(where), message: `${ours.name}: changed on one side and removed on the other: ${lost.map(where).join(', ')}; kept ours` };
    const changed = [...guestValues].filter(([k, d]) => !sameValue(d, vo.get(k)));
    let view: string;
    if (host.store.name === 'binary') view = changed.length ? (theirsShaped ? a : b).plaintext : host.plaintext;
    else {
      const spans = new Map(visits(host.store.parse(host.plaintext, ours.name).roots, host.metadata.rules).filter((v) => v.node.kind === 'leaf').map((v) => [JSON.stringify([v.at, 'leaf']), v.node as Leaf]));
      view = splice(host.plaintext, changed.map(([k, d]) => ({ start: spans.get(k)!.start, end: spans.get(k)!.end, text: d.plain ? host.store.valueText(spans.get(k)!, d.plain) : 'null' })));
    }
    const rotatedByTheirs = !theirsKept && oursKept;
    const sealer = rotatedByTheirs ? b : a;
    // a rolled-back side (a retired data key) or a KMS entry outside the allow-list: no new values under it
    await sopsSealable(path, sealer, svc);
    const text = sealSops(sealer, view, ours.name);
    await readsBack(sealer, text, view, ours.name);
    return { text, conflicts: [], message: rotatedByTheirs ? `${ours.name}: theirs made a new data key; the result is sealed under theirs' key` : undefined };
  } finally {
    opened.forEach((x) => x.key.fill(0));
  }
}
