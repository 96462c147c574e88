/**
 * Where the values of a `.env` file are, by the same rule as the `dotenv` package's `parse`:
 * its LINE expression (dotenv 16/17, lib/main.js), run over the text with CRLF and CR folded
 * to LF exactly as `parse` does, with offsets mapped back to the original text. The
 * expression is repeated here because dotenv does not export it and we need match offsets,
 * not values; a property test checks that both agree on every generated file.
 *
 * dotenv runs LINE with the `gm` flags from each line start, and its leading `\s*` runs
 * across blank lines: quadratic in a run of blank lines (80,000 of them took ~29 s). The same
 * matches are found here in linear time: a match that starts at a line start starts its name
 * at the first non-blank character after it (nothing shorter can match, since a name cannot
 * start with a blank), so the expression without its leading `^\s*` is tried, sticky, once
 * at that character; when it fails there, every line start up to that character fails too,
 * and the search goes on from the next line.
 */
export interface DotenvEntry {
  readonly name: string;
  /** The value as written (quotes included), as offsets into the original text; empty values have start === end. */
  readonly start: number;
  readonly end: number;
}

/**
 * dotenv's LINE after its `(?:^|^)\s*`, sticky, with the parts before the value captured (an
 * optional `export `, the name, the separator) so that offsets are sums of lengths: the `d`
 * flag's index arrays, made for every match, cost a large file's open more than the match did.
 * Capturing groups change nothing of what matches.
 */
const REST =
  /(export\s+)?([\w.-]+)(\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/ym;
/** JavaScript's `\s`, the set dotenv's expression skips. */
const NON_BLANK = /\S/g;
/** Where `^` matches under the `m` flag: after each of JavaScript's line terminators. */
const TERMINATOR = /[\n\r\u2028\u2029]/g;
const nextLineStart = (text: string, at: number): number => {
  TERMINATOR.lastIndex = at;
  const m = TERMINATOR.exec(text);
  return m ? m.index + 1 : -1;
};

/** dotenv's `\r\n?` → `\n` folding, with a map from folded offsets back to original ones. */
function fold(text: string): { folded: string; toOriginal: (i: number) => number } {
  // Stryker disable next-line ConditionalExpression,StringLiteral: a shortcut; the loop below gives the same for text without '\r'
  if (!text.includes('\r')) return { folded: text, toOriginal: (i) => i };
  const map: number[] = [];
  let folded = '';
  for (let i = 0; i < text.length; i++) {
    map.push(i);
    if (text[i] === '\r') {
      folded += '\n';
      if (text[i + 1] === '\n') i++;
    } else folded += text[i];
  }
  map.push(text.length);
  return { folded, toOriginal: (i) => map[i] };
}

/**
 * The first of dotenv's `LINE.exec` matches at or after `from` (a line start, or where the last
 * match ended) in folded text, or null: linear in the text however it is walked (see above).
 * A plain function, not a generator: a large file's open resumed one per entry per layer.
 */
function lineMatch(folded: string, from: number): RegExpExecArray | null {
  for (;;) {
    // the first non-blank character at or after `from` starts a line's name (line terminators are blanks)
    NON_BLANK.lastIndex = from;
    if (!NON_BLANK.test(folded)) return null;
    const first = NON_BLANK.lastIndex - 1;
    REST.lastIndex = first;
    const m = REST.exec(folded);
    if (m) return m;
    from = nextLineStart(folded, first);
    if (from === -1) return null;
  }
}

/** Where a match's parts end in folded text: after its name, and after its separator (where the value starts). */
function partsOf(m: RegExpExecArray): { nameEnd: number; valueStart: number } {
  const nameEnd = m.index + (m[1]?.length ?? 0) + m[2].length;
  return { nameEnd, valueStart: nameEnd + m[3].length };
}

const LINE_BREAK = /[\r\n\u2028\u2029]/;

/**
 * A text's entries in order, one per call of `next()`: for a reader of a large file that checks
 * each as it comes and pauses between them.
 */
export class DotenvReader {
  private readonly folded: string;
  private readonly toOriginal: (i: number) => number;
  private from = 0;

  constructor(text: string) {
    ({ folded: this.folded, toOriginal: this.toOriginal } = fold(text));
  }

  /** The next entry, or undefined after the last. */
  next(): DotenvEntry | undefined {
    const m = lineMatch(this.folded, this.from);
    if (!m) return undefined;
    this.from = m.index + m[0].length;
    const name = m[2];
    const raw = m[4]; // undefined when there is no value
    const { nameEnd, valueStart } = partsOf(m);
    const blanks = raw === undefined ? 0 : raw.length - raw.trimStart().length;
    if (raw === undefined || blanks === raw.length) {
      const at = this.toOriginal(nameEnd);
      return { name, start: at, end: at };
    }
    // The value proper: without surrounding blanks, which stay as layout. Leading blanks that
    // hold a line break (a quoted value on the line after `=`) stay inside, or the token that
    // replaces the value would land on a line of its own and lose its name.
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent — with no blanks the slice is empty and holds no break (a shortcut for the common case)
    const start = valueStart + (blanks > 0 && LINE_BREAK.test(raw.slice(0, blanks)) ? 0 : blanks);
    const end = valueStart + raw.trimEnd().length;
    return { name, start: this.toOriginal(start), end: this.toOriginal(end) };
  }
}

/** Every entry of a text. */
export function dotenvEntries(text: string): DotenvEntry[] {
  const reader = new DotenvReader(text);
  const entries: DotenvEntry[] = [];
  for (let e = reader.next(); e; e = reader.next()) entries.push(e);
  return entries;
}

/**
 * Lines (1-based) that look like assignments but are no entry for dotenv, such as a name with
 * non-ASCII letters (`ÜBER=x`): their values are not encrypted, and the writer says so.
 */
export function lookalikeLines(text: string): number[] {
  const { folded } = fold(text);
  const starts = [0];
  for (let i = folded.indexOf('\n'); i !== -1; i = folded.indexOf('\n', i + 1)) starts.push(i + 1);
  /** The 1-based line of an offset, by binary search over the line starts. */
  const lineAt = (offset: number): number => {
    let lo = 0;
    // Stryker disable next-line ArithmeticOperator: equivalent — past the last line start, starts[mid] is undefined, which is never ≤ an offset
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  const covered = new Set<number>();
  for (let m = lineMatch(folded, 0); m; m = lineMatch(folded, m.index + m[0].length)) {
    const { nameEnd } = partsOf(m);
    for (let l = lineAt(nameEnd - m[2].length), last = lineAt(m.index + m[0].length); l <= last; l++) covered.add(l);
  }
  const out: number[] = [];
  folded.split('\n').forEach((line, i) => {
    if (!covered.has(i + 1) && /^\s*(?:export\s+)?[^\s=:#'"`]+\s*(?:=|:\s)\s*\S/.test(line)) out.push(i + 1);
  });
  return out;
}
