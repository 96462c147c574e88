/**
 * SOPS's INI store (stores/ini/store.go over go-ini): each section a map of its keys, the keys
 * before the first section in `DEFAULT`, values as strings, full-line comments (`;` or `#`) as
 * comments of their section, the metadata flattened into a `[sops]` section
 * (`kms__list_0__map_arn = …`, `\n` for a line break).
 *
 * go-ini reads more than this (quoted and multi-line values, continuation lines, inline comments,
 * keys without a value); a file that uses any of those is refused with a message rather than read
 * differently from sops. What sops itself writes is within this subset.
 */
import { KmsEnvelopeError } from '../../errors';
import type { Branch, Comment, Leaf, Pair, Span } from '../tree';
import { unflatten } from './dotenv';
import type { MetadataText, SopsStore } from './store';

const refuse = (name: string, line: number, what: string): KmsEnvelopeError =>
  new KmsEnvelopeError('FORMAT', `${name}: line ${line}: ${what}`, 'kms-envelope reads INI files of [sections], key = value lines and ; or # comment lines (no quotes, continuation lines or inline comments).');

export const iniStore: SopsStore = {
  name: 'ini',

  parse(text, name) {
    const sections: { name: string; items: (Pair | Comment)[] }[] = [];
    let current: { name: string; items: (Pair | Comment)[] } | undefined;
    const meta = new Map<string, string>();
    const values = new Map<string, Span>();
    let metaStart = -1;
    /** Comment lines not yet given to a section: the next header's, or the current section's. */
    const pending: Comment[] = [];
    const lines = text.split('\n');
    let at = 0;
    for (let n = 1; n <= lines.length; n++) {
      const raw = lines[n - 1];
      const start = at;
      at += raw.length + 1;
      const line = raw.replace(/\r$/, '');
      const trimmed = line.trim();
      if (trimmed === '') continue;
      const header = /^\[([^\]]+)\]$/.exec(trimmed);
      if (header) {
        const section = header[1].trim();
        if (section === 'sops') metaStart = start;
        else if (metaStart >= 0) throw refuse(name, n, 'a section after [sops] (sops writes its metadata last)');
        if (sections.some((s) => s.name === section)) throw refuse(name, n, `the section [${section}] appears twice`);
        // go-ini gives the comment lines above a header to that section
        current = { name: section, items: section === 'sops' ? [] : pending.splice(0) };
        if (section !== 'sops') sections.push(current);
        continue;
      }
      const lead = line.length - line.trimStart().length;
      if (trimmed[0] === ';' || trimmed[0] === '#') {
        if (metaStart >= 0) continue;
        const body = trimmed.replace(/^[;#][;# ]*/, '');
        // the span is the comment's text after its leader, so the leader and spacing stay as written
        const textStart = start + lead + (trimmed.length - body.length);
        pending.push({ kind: 'comment', text: body, start: textStart, end: textStart + body.length });
        continue;
      }
      const eq = line.indexOf('=');
      if (eq === -1) throw refuse(name, n, 'no "=" (keys without a value are not supported)');
      const key = line.slice(0, eq).trim();
      const afterEq = line.slice(eq + 1);
      let value = afterEq.trim();
      const valueStart = start + eq + 1 + (afterEq.length - afterEq.trimStart().length);
      let valueEnd = valueStart + value.length;
      let style: string | undefined;
      if (key === '') throw refuse(name, n, 'an empty key');
      if (value.startsWith('"""')) {
        // go-ini's multi-line value: everything between the triple quotes, line breaks included
        let body = value.slice(3);
        while (!(body.endsWith('"""') && (body.length >= 3))) {
          if (n >= lines.length) throw refuse(name, n, 'a value in triple quotes that does not end');
          const next = lines[n++];
          at += next.length + 1;
          body += '\n' + next.replace(/\r$/, '');
        }
        value = body.slice(0, -3);
        valueEnd = at - 1 - (lines[n - 1].length - lines[n - 1].replace(/\r$/, '').trimEnd().length);
        style = 'triple';
      } else if (/^["'`]/.test(value) || /\\$/.test(value) || /\s[;#]/.test(value)) throw refuse(name, n, 'a quoted value, a continuation line or an inline comment');
      if (metaStart >= 0) {
        meta.set(key, value.replace(/\\n/g, '\n'));
        values.set(key, { start: valueStart, end: valueEnd });
        continue;
      }
      if (!current) {
        current = { name: 'DEFAULT', items: [] };
        sections.push(current);
      }
      current.items.push(...pending.splice(0));
      if (current.items.some((i) => i.kind === 'pair' && i.key === key)) throw refuse(name, n, `the key ${key} appears twice in [${current.name}]`);
      const leaf: Leaf = { kind: 'leaf', value: { type: 'str', text: value }, start: valueStart, end: valueEnd, style };
      current.items.push({ kind: 'pair', key, value: leaf });
    }
    if (pending.length) {
      if (!current || current.name === 'sops') sections.push((current = { name: 'DEFAULT', items: [] }));
      current.items.push(...pending.splice(0));
    }
    const root: Branch = { kind: 'branch', items: sections.map((s) => ({ kind: 'pair', key: s.name, value: { kind: 'branch', items: s.items } })) };
    if (metaStart < 0) return { roots: [root] };
    const field = (f: string): Span => {
      const s = values.get(f);
      if (!s) throw refuse(name, 0, `the [sops] section has no ${f}`);
      return s;
    };
    // the blank lines above [sops] go with it: the view ends where the data does
    let spanStart = metaStart;
    while (spanStart > 1 && text[spanStart - 1] === '\n' && text[spanStart - 2] === '\n') spanStart--;
    const metadata: MetadataText = {
      value: unflatten(meta),
      spans: [{ start: spanStart, end: text.length }],
      lastModified: field('lastmodified'),
      mac: field('mac'),
    };
    return { roots: [root], metadata };
  },

  valueText(_leaf, value) {
    const text = typeof value === 'string' ? value : value.text;
    if (text.includes('\n') && !text.includes('"""')) return `"""${text}"""`;
    if (text !== text.trim() || /^["'`]/.test(text) || /\n|\s[;#]|\\$/.test(text)) {
      throw new KmsEnvelopeError('USAGE', 'an INI value with surrounding spaces, quotes, a line break or " ;"/" #" cannot be written so that sops reads it back the same', 'Change that value.');
    }
    return text;
  },

  commentText: (_comment, text) => text,

  metadataScalar: (text) => text,

  placeMetadata(view, _parsed, metadata) {
    return { at: view.length, text: (view === '' || view.endsWith('\n') ? '' : '\n') + metadata };
  },
};
