/**
 * The text armour of a whole-file payload: standard base64 (with `=` padding) in lines of
 * exactly 64 characters, the last one 1 to 64, each ending in `\n`. Text tools (an editor
 * re-encoding invalid UTF-8, a formatter trimming, git's end-of-line filters) cannot silently
 * damage ASCII lines the way they damage raw binary; and there is one spelling of each payload,
 * so any changed byte is refused. Both directions stream.
 */
import { fromB64 } from '../bytes';

export const ARMOR_LINE_CHARS = 64;
const LINE_BYTES = (ARMOR_LINE_CHARS / 4) * 3; // 48
/** Bytes encoded per output piece: a whole number of lines, about 64 KiB of text. */
const BLOCK_BYTES = LINE_BYTES * 1024;

const FULL_LINES = /^(?:[A-Za-z0-9+/]{64}\n)*$/;
const LAST_LINE = /^[A-Za-z0-9+/]{2,64}={0,2}\n$/;

function encodeLines(bytes: Buffer): Buffer {
  const text = bytes.toString('base64');
  const out = Buffer.allocUnsafe(text.length + Math.ceil(text.length / ARMOR_LINE_CHARS));
  let o = 0;
  for (let i = 0; i < text.length; i += ARMOR_LINE_CHARS) {
    o += out.write(text.slice(i, i + ARMOR_LINE_CHARS), o, 'latin1');
    out[o++] = 0x0a;
  }
  return out;
}

export async function* armor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
  let pending = Buffer.alloc(0);
  for await (const piece of source) {
    pending = pending.length ? Buffer.concat([pending, piece]) : Buffer.from(piece);
    const whole = pending.length - (pending.length % BLOCK_BYTES);
    if (whole > 0) {
      yield encodeLines(pending.subarray(0, whole));
      pending = Buffer.from(pending.subarray(whole));
    }
  }
  if (pending.length) yield encodeLines(pending);
}

/**
 * The bytes of an armoured payload. Throws `onError(what)` for anything but the one canonical
 * spelling: another line length or ending, a character outside base64, padding before the
 * last line, non-zero unused bits, nothing at all.
 */
export async function* dearmor(source: AsyncIterable<Uint8Array>, onError: (what: string) => Error): AsyncGenerator<Buffer> {
  let pending = '';
  let line = 1;
  for await (const piece of source) {
    pending += Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength).toString('latin1');
    // Whole 64-character lines, but never the last line of the input (it may carry padding).
    let end = 0;
    while (end + 2 * (ARMOR_LINE_CHARS + 1) <= pending.length && pending.charCodeAt(end + ARMOR_LINE_CHARS) === 0x0a) end += ARMOR_LINE_CHARS + 1;
    if (end === 0) {
      if (pending.length > 4 * (ARMOR_LINE_CHARS + 1)) throw onError(`payload armour line ${line} (not a line of 64 base64 characters)`);
      continue;
    }
    const block = pending.slice(0, end);
    if (!FULL_LINES.test(block)) throw onError(`payload armour near line ${line} (not lines of 64 base64 characters)`);
    pending = pending.slice(end);
    line += end / (ARMOR_LINE_CHARS + 1);
    yield Buffer.from(block, 'base64'); // Node's decoder skips the `\n`s, which were checked above
  }
  // What is left: at most one full line and the last line.
  if (pending === '') throw onError('payload (file truncated: no payload)');
  const lines = pending.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  for (const [i, l] of lines.entries()) {
    const last = i === lines.length - 1;
    const ok = last ? LAST_LINE.test(l) && l.length <= ARMOR_LINE_CHARS + 1 : FULL_LINES.test(l) && l.length === ARMOR_LINE_CHARS + 1;
    const bytes = ok ? fromB64(l.slice(0, -1)) : null;
    if (!bytes) throw onError(`payload armour line ${line + i} (not canonical base64 in lines of 64 ending in "\\n")`);
    yield bytes;
  }
}
