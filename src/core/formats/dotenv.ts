/**
 * Where the values of a `.env` file are, by the same rule as the `dotenv` package's `parse`:
 * its LINE expression (dotenv 16/17, lib/main.js), run over the text with CRLF and CR folded
 * to LF exactly as `parse` does, with offsets mapped back to the original text. The
 * expression is repeated here because dotenv does not export it and we need match offsets,
 * not values; a property test checks that both agree on every generated file.
 */
export interface DotenvEntry {
  readonly name: string;
  /** The value as written (quotes included), as offsets into the original text; empty values have start === end. */
  readonly start: number;
  readonly end: number;
}

const LINE =
  /(?:^|^)\s*(?:export\s+)?([\w.-]+)(?:\s*=\s*?|:\s+?)(\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?(?:$|$)/dgm;

/** dotenv's `\r\n?` → `\n` folding, with a map from folded offsets back to original ones. */
function fold(text: string): { folded: string; toOriginal: (i: number) => number } {
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

export function dotenvEntries(text: string): DotenvEntry[] {
  const { folded, toOriginal } = fold(text);
  const entries: DotenvEntry[] = [];
  LINE.lastIndex = 0;
  for (let m = LINE.exec(folded); m; m = LINE.exec(folded)) {
    const [, name, raw] = m;
    const span = m.indices![2];
    if (raw === undefined || !span || raw.trim() === '') {
      const at = toOriginal(m.indices![1][1]);
      entries.push({ name, start: at, end: at });
      continue;
    }
    // The value proper: without surrounding blanks, which stay as layout. Leading blanks that
    // hold a line break (a quoted value on the line after `=`) stay inside, or the token that
    // replaces the value would land on a line of its own and lose its name.
    const lead = /^\s*/.exec(raw)![0];
    const start = span[0] + (/[\r\n]/.test(lead) ? 0 : lead.length);
    const end = span[0] + raw.trimEnd().length;
    entries.push({ name, start: toOriginal(start), end: toOriginal(end) });
  }
  return entries;
}
