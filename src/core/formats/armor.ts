/**
 * The text armour of a whole-file payload: standard base64 (with `=` padding) in lines of
 * exactly 64 characters, the last one 4 to 64, each ending in `\n`. Text tools (an editor
 * re-encoding invalid UTF-8, a formatter, git's end-of-line filters) cannot silently damage
 * ASCII lines the way they damage raw binary; and there is one spelling of each payload, so any
 * changed byte is refused. Both directions stream, a block of whole lines at a time: per-line
 * work in JavaScript would cost more than the encryption.
 */
import { fromB64 } from '../bytes';

export const ARMOR_LINE_CHARS = 64;
const LINE = ARMOR_LINE_CHARS + 1; // with its '\n'
const LINE_BYTES = (ARMOR_LINE_CHARS / 4) * 3; // 48
const NL = 0x0a;

const LAST_LINE = /^[A-Za-z0-9+/]{2,64}={0,2}\n$/;
const FULL_LINE = /^[A-Za-z0-9+/]{64}\n$/;

/** Whole 48-byte lines of `bytes` as armour text. */
function encodeLines(bytes: Buffer): Buffer {
  const text = bytes.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += ARMOR_LINE_CHARS) lines.push(text.slice(i, i + ARMOR_LINE_CHARS));
  return Buffer.from(`${lines.join('\n')}\n`, 'latin1');
}

export async function* armor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const piece of source) {
    const buf = pending.length ? Buffer.concat([pending, piece]) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    const whole = buf.length - (buf.length % LINE_BYTES);
    if (whole > 0) yield encodeLines(buf.subarray(0, whole));
    pending = Buffer.from(buf.subarray(whole)); // a copy: the caller may reuse its buffer
  }
  if (pending.length) yield encodeLines(pending);
}

/**
 * The bytes of an armoured payload. Throws `onError(what)` for anything but the one canonical
 * spelling: another line length or ending, a character outside base64 (the URL-safe `-` and `_`
 * included), padding before the last line, non-zero unused bits, nothing at all.
 */
export async function* dearmor(source: AsyncIterable<Uint8Array>, onError: (what: string) => Error): AsyncGenerator<Buffer> {
  let pending: Buffer = Buffer.alloc(0);
  let line = 1;
  for await (const piece of source) {
    pending = pending.length ? Buffer.concat([pending, piece]) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    // whole lines, but never the last complete one: it may be the final line, with padding
    const lines = Math.floor(pending.length / LINE) - 1;
    // Stryker disable next-line EqualityOperator: equivalent — with no whole line to take, the block is empty and yields no bytes
    if (lines <= 0) continue;
    const block = pending.subarray(0, lines * LINE);
    for (let i = 0; i < lines; i++) {
      if (block[i * LINE + ARMOR_LINE_CHARS] !== NL) throw onError(`payload armour line ${line + i} (not a line of 64 base64 characters)`);
    }
    // Node's decoder takes the URL-safe alphabet too, stops at '=' and skips anything else: the
    // last two show as missing bytes below, the URL-safe letters must be looked for (one payload, one spelling)
    const odd = [0x2d, 0x5f].map((c) => block.indexOf(c)).filter((at) => at >= 0);
    const bytes = odd.length ? undefined : Buffer.from(block.toString('latin1'), 'base64');
    if (!bytes || bytes.length !== lines * LINE_BYTES) {
      const at = odd.length ? Math.min(...odd) : firstInvalid(block);
      throw onError(`payload armour line ${line + Math.floor(at / LINE)} (a character outside base64)`);
    }
    yield bytes;
    pending = pending.subarray(lines * LINE);
    line += lines;
  }
  // What is left: at most one full line and the last line.
  if (pending.length === 0) throw onError('payload (file truncated: no payload)');
  const rest = pending.toString('latin1').split(/(?<=\n)/); // each line with its '\n', if it has one
  for (const [i, l] of rest.entries()) {
    const last = i === rest.length - 1;
    const ok = last ? LAST_LINE.test(l) : FULL_LINE.test(l);
    const bytes = ok ? fromB64(l.slice(0, -1)) : null;
    if (!bytes) throw onError(`payload armour line ${line + i} (not canonical base64 in lines of 64 ending in "\\n")`);
    yield bytes;
  }
}

/** Where the first byte outside the base64 alphabet is (for the message only). */
function firstInvalid(block: Buffer): number {
  const m = /[^A-Za-z0-9+/\n]/.exec(block.toString('latin1'));
  return m ? m.index : 0;
}
