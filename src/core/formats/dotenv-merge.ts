/**
 * A three-way merge of `.env` texts (plaintext), entry by entry, for git's merge driver.
 *
 * A `.env` is a set of variables with some layout around them, so a line-based merge conflicts
 * where nothing does: two branches that each add a variable at the end, or change neighbouring
 * values. Here the layout (order, comments, blank lines) is merged with the values taken out —
 * each entry stands as its name — by node-diff3, and where both sides reshaped the same region
 * the result keeps both sides' lines (a `.env`'s order carries no meaning). Then each variable
 * is merged on its own: changed on one side, that side's line wins; changed alike on both, one
 * line; changed differently on both (or changed on one side and removed on the other), a
 * conflict, written with git's markers around the two lines so that a person picks one.
 */
import { diff3Merge } from 'node-diff3';
import { dotenvEntries } from './dotenv';

export interface DotenvMerge {
  readonly text: string;
  /** Variables changed differently on both sides, in the order they appear in the result. */
  readonly conflicts: string[];
}

export interface MergeLabels {
  readonly ours: string;
  readonly theirs: string;
  readonly markerSize?: number;
}

/** A piece of layout: a whole entry (its lines, as written) or one other line. */
interface Unit {
  /** What the layout merge compares: `\0NAME\0n` for the n-th entry named NAME, else the line. */
  readonly id: string;
  readonly text: string;
  readonly name?: string;
}

const lineEnd = (text: string, at: number): number => {
  const nl = text.indexOf('\n', at);
  return nl === -1 ? text.length : nl + 1;
};
const lineStart = (text: string, at: number): number => text.lastIndexOf('\n', at - 1) + 1;

function unitsOf(text: string): Unit[] {
  const units: Unit[] = [];
  const seen = new Map<string, number>();
  let at = 0;
  /** The lines from `at` up to `end`, a line start (or the text's end). */
  const lines = (end: number) => {
    while (at < end) {
      const next = lineEnd(text, at);
      units.push({ id: text.slice(at, next), text: text.slice(at, next) });
      at = next;
    }
  };
  for (const e of dotenvEntries(text)) {
    const start = lineStart(text, e.start);
    if (start < at) continue; // cannot happen: one entry per line
    lines(start);
    const end = lineEnd(text, e.end);
    // Stryker disable next-line ArithmeticOperator: any numbering that tells a name's entries apart serves
    const n = (seen.get(e.name) ?? 0) + 1;
    seen.set(e.name, n);
    units.push({ id: `\0${e.name}\0${n}`, text: text.slice(start, end), name: e.name });
    at = end;
  }
  lines(text.length);
  return units;
}

/** `xs` without one occurrence of each of `ys` (multiset difference), order kept. */
function without(xs: readonly string[], ys: readonly string[]): string[] {
  const count = new Map<string, number>();
  for (const y of ys) count.set(y, (count.get(y) ?? 0) + 1);
  return xs.filter((x) => {
    const n = count.get(x) ?? 0;
    if (n === 0) return true;
    count.set(x, n - 1);
    return false;
  });
}

/** Both sides reshaped the same region: ours, less what theirs removed, then what theirs added. */
const union = (a: readonly string[], o: readonly string[], b: readonly string[]): string[] => [
  ...without(a, without(o, b)),
  ...without(without(b, o), without(a, o)),
];

type Resolved = { readonly text: string | undefined } | { readonly conflict: true };

/** One variable's three versions (its line as written, undefined where absent). */
function resolve(o: string | undefined, a: string | undefined, b: string | undefined): Resolved {
  if (a === b || b === o) return { text: a };
  if (a === o) return { text: b };
  return { conflict: true };
}

export function mergeDotenv(base: string, ours: string, theirs: string, labels: MergeLabels): DotenvMerge {
  const [o, a, b] = [base, ours, theirs].map(unitsOf);
  const byId = (units: Unit[]) => new Map(units.map((u) => [u.id, u]));
  const [om, am, bm] = [o, a, b].map(byId);
  const eol = /\r\n/.test(ours) ? '\r\n' : '\n';
  const size = labels.markerSize ?? 7;

  const layout: string[] = [];
  // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent — a "conflict" of two identical changes is merged by union into that change
  for (const region of diff3Merge(a.map((u) => u.id), o.map((u) => u.id), b.map((u) => u.id), { excludeFalseConflicts: true })) {
    if (region.ok) layout.push(...region.ok);
    else if (region.conflict) layout.push(...union(region.conflict.a, region.conflict.o, region.conflict.b));
  }

  // A variable changed on one side and removed on the other left the layout with the removal:
  // it is a conflict, and goes back where its changed side had it. (Any other line is the same
  // text wherever it is, so it never conflicts.)
  const placed = new Set(layout);
  for (const side of [a, b]) {
    let after = -1;
    for (const u of side) {
      if (placed.has(u.id)) {
        after = layout.indexOf(u.id);
        continue;
      }
      if ('conflict' in resolve(om.get(u.id)?.text, am.get(u.id)?.text, bm.get(u.id)?.text)) {
        layout.splice(after + 1, 0, u.id);
        placed.add(u.id);
        after++;
      }
    }
  }

  const out: string[] = [];
  const conflicts: string[] = [];
  const withEol = (t: string) => (t === '' || t.endsWith('\n') ? t : t + eol);
  for (const id of layout) {
    const unit = am.get(id) ?? bm.get(id) ?? om.get(id)!;
    if (unit.name === undefined) {
      out.push(unit.text);
      continue;
    }
    const r = resolve(om.get(id)?.text, am.get(id)?.text, bm.get(id)?.text);
    if ('text' in r) {
      if (r.text !== undefined) out.push(r.text);
      continue;
    }
    conflicts.push(unit.name);
    if (out.length && !out[out.length - 1].endsWith('\n')) out[out.length - 1] += eol;
    out.push(
      `${'<'.repeat(size)} ${labels.ours}${eol}`,
      withEol(am.get(id)?.text ?? ''),
      `${'='.repeat(size)}${eol}`,
      withEol(bm.get(id)?.text ?? ''),
      `${'>'.repeat(size)} ${labels.theirs}${eol}`,
    );
  }
  return { text: out.join(''), conflicts };
}

/** Lines that are git conflict markers (`<<<<<<< `, `=======`, `>>>>>>> `, 7 characters or more), 1-based. */
export function conflictMarkerLines(text: string): number[] {
  const out: number[] = [];
  text.split('\n').forEach((line, i) => {
    if (/^(?:<{7,}|>{7,})(?: |\r?$)|^={7,}\r?$/.test(line)) out.push(i + 1);
  });
  return out;
}
