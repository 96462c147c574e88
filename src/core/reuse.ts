/**
 * The tokens of an opened file by entry name and plaintext, for its next save: a value that did
 * not change keeps its token, byte for byte (no churn in git's diffs, one encryption per changed
 * value). A (name, value) recorded twice keeps the later token.
 *
 * Recorded by appending, indexed on the first look-up: an open records every value of the file
 * (10,000 for a large `.env`), and a map keyed by `name\0value` built as it went cost a tenth of a
 * cold open in the strings it made and hashed. Names are short and each is hashed once.
 */
export class ReuseMap implements Iterable<readonly [name: string, value: string, token: string]> {
  private readonly names: string[] = [];
  private readonly values: string[] = [];
  private readonly tokens: string[] = [];
  /** name → its last record; `earlier[i]`: the record of the same name before record i, or -1. */
  private index?: { readonly last: Map<string, number>; readonly earlier: Int32Array };
  /** token → its last record. */
  private tokenIndex?: Map<string, number>;

  /** `maps`' records in order: a (name, value) in more than one keeps the last map's token. */
  static concat(...maps: readonly ReuseMap[]): ReuseMap {
    const all = new ReuseMap();
    for (const m of maps) for (const [name, value, token] of m) all.add(name, value, token);
    return all;
  }

  get size(): number {
    return this.tokens.length;
  }

  add(name: string, value: string, token: string): void {
    this.names.push(name);
    this.values.push(value);
    this.tokens.push(token);
    this.index = undefined;
    this.tokenIndex = undefined;
  }

  /** The token recorded for `value` under `name`, if any. */
  get(name: string, value: string): string | undefined {
    const { last, earlier } = (this.index ??= this.indexNames());
    for (let i = last.get(name) ?? -1; i !== -1; i = earlier[i]) if (this.values[i] === value) return this.tokens[i];
    return undefined;
  }

  /** The value `token` was recorded with, if it was recorded under `name` (a token moved to another name is not its value there). */
  valueOf(token: string, name: string): string | undefined {
    const i = (this.tokenIndex ??= this.indexTokens()).get(token);
    return i !== undefined && this.names[i] === name ? this.values[i] : undefined;
  }

  *[Symbol.iterator](): Iterator<readonly [name: string, value: string, token: string]> {
    for (let i = 0; i < this.tokens.length; i++) yield [this.names[i], this.values[i], this.tokens[i]];
  }

  private indexTokens(): Map<string, number> {
    const at = new Map<string, number>();
    this.tokens.forEach((token, i) => at.set(token, i));
    return at;
  }

  private indexNames(): { last: Map<string, number>; earlier: Int32Array } {
    const last = new Map<string, number>();
    const earlier = new Int32Array(this.names.length);
    this.names.forEach((name, i) => {
      earlier[i] = last.get(name) ?? -1;
      last.set(name, i);
    });
    return { last, earlier };
  }
}
