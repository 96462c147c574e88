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

/** dotenv's LINE after its `(?:^|^)\s*`, sticky. */
const REST =
  /(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/dym;
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

/** dotenv's `LINE.exec` loop over folded text, in linear time (see above). */
function* lineMatches(folded: string): Generator<RegExpExecArray> {
  // `from` is a line start, or a line's end where the last match ended: either way the first
  // non-blank character at or after it starts a line's name (line terminators are blanks)
  let from = 0;
  for (;;) {
    NON_BLANK.lastIndex = from;
    const first = NON_BLANK.exec(folded);
    if (!first) return;
    REST.lastIndex = first.index;
    const m = REST.exec(folded);
    if (m) {
      yield m;
      from = REST.lastIndex;
    } else {
      from = nextLineStart(folded, first.index);
      if (from === -1) return;
    }
  }
}

export const dotenvEntries = (text: string): DotenvEntry[] => [...scanDotenvEntries(text)];

/** The entries one by one, for a reader of a large file that pauses between them. */
export function* scanDotenvEntries(text: string): Generator<DotenvEntry, void> {
  const { folded, toOriginal } = fold(text);
  for (const m of lineMatches(folded)) {
    const [, name, raw] = m;
    const span = m.indices![2]; // undefined when the value is (and raw with it)
    if (!span || raw.trim() === '') {
      const at = toOriginal(m.indices![1][1]);
      yield { name, start: at, end: at };
      continue;
    }
    // The value proper: without surrounding blanks, which stay as layout. Leading blanks that
    // hold a line break (a quoted value on the line after `=`) stay inside, or the token that
    // replaces the value would land on a line of its own and lose its name.
    const lead = raw.slice(0, raw.length - raw.trimStart().length);
    const start = span[0] + (/[\r\n\u2028\u2029]/.test(lead) ? 0 : lead.length);
    const end = span[0] + raw.trimEnd().length;
    yield { name, start: toOriginal(start), end: toOriginal(end) };
  }
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
  for (const m of lineMatches(folded)) {
    for (let l = lineAt(m.indices![1][0]), last = lineAt(m.index + m[0].length); l <= last; l++) covered.add(l);
  }
  const out: number[] = [];
  folded.split('\n').forEach((line, i) => {
    if (!covered.has(i + 1) && /^\s*(?:export\s+)?[^\s=:#'"`]+\s*(?:=|:\s)\s*\S/.test(line)) out.push(i + 1);
  });
  return out;
}
