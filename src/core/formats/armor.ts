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
const EQ = 0x3d;
/** Lines decoded from one string into one buffer (32 KiB of text, 24 KiB of bytes): see decodeLines. */
const DECODE_LINES = 512;

const LAST_LINE = /^[A-Za-z0-9+/]{2,64}={0,2}\n$/;

/** Whole 48-byte lines of `bytes` as armour text (the last line may be short). */
function encodeLines(bytes: Buffer): Buffer {
  const text = bytes.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += ARMOR_LINE_CHARS) lines.push(text.slice(i, i + ARMOR_LINE_CHARS));
  lines.push(''); // the last '\n' from the join itself: no second copy of the text to append it
  return Buffer.from(lines.join('\n'), 'latin1');
}

export async function* armor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Buffer> {
  /** Bytes short of a whole line, left by the last piece. */
  let pending: Buffer = Buffer.alloc(0);
  for await (const piece of source) {
    let buf = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    if (pending.length) {
      // the line the last piece began, completed from this one: the rest is encoded where it lies
      const need = Math.min(buf.length, LINE_BYTES - pending.length);
      pending = Buffer.concat([pending, buf.subarray(0, need)]);
      buf = buf.subarray(need);
      if (pending.length < LINE_BYTES) continue;
      yield encodeLines(pending);
    }
    const whole = buf.length - (buf.length % LINE_BYTES);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent — no byte encodes to no text
    if (whole > 0) yield encodeLines(buf.subarray(0, whole));
    pending = Buffer.from(buf.subarray(whole)); // a copy: the caller may reuse its buffer
  }
  // Stryker disable next-line ConditionalExpression: equivalent — no byte encodes to no text
  if (pending.length) yield encodeLines(pending);
}

/**
 * The bytes of an armoured payload. Throws `onError(what)` for anything but the one canonical
 * spelling: another line length or ending, a character outside base64 (the URL-safe `-` and `_`
 * included), padding before the last line, non-zero unused bits, nothing at all.
 *
 * Whole lines are decoded where they lie in the piece that was read: only a line cut between two
 * pieces is copied (copying every piece onto the previous one's tail cost as much as the decode).
 */
export async function* dearmor(source: AsyncIterable<Uint8Array>, onError: (what: string) => Error): AsyncGenerator<Buffer> {
  /** What follows the last decoded line: a line cut by the end of a piece, or a line held back (see `lines`). */
  let pending: Buffer = Buffer.alloc(0);
  let line = 1;
  let decoded = false;
  /** Decodes the whole lines `block` starts with (checked, one spelling); the rest becomes `pending`. */
  const lines = (block: Buffer): Buffer[] => {
    let n = Math.floor(block.length / LINE);
    // a line whose last character is padding can only be the payload's last line: it waits for
    // the end of the stream (or for more bytes, which make it an error below)
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent — holding back any other last line too only defers it to the end's check, which accepts and refuses the same lines
    if (n > 0 && block[n * LINE - 2] === EQ) n--;
    pending = Buffer.from(block.subarray(n * LINE)); // a copy: the caller may reuse its buffer
    if (n === 0) return [];
    const whole = block.subarray(0, n * LINE);
    for (let i = 0; i < n; i++) {
      if (whole[i * LINE + ARMOR_LINE_CHARS] !== NL) throw onError(`payload armour line ${line + i} (not a line of 64 base64 characters)`);
    }
    // Node's decoder takes the URL-safe alphabet too, stops at '=' and skips anything else: the
    // last two show as missing bytes below, the URL-safe letters must be looked for (one payload, one spelling)
    const odd = [0x2d, 0x5f].map((c) => whole.indexOf(c)).filter((at) => at >= 0);
    const bytes = odd.length ? undefined : decodeLines(whole);
    if (!bytes) {
      const at = odd.length ? Math.min(...odd) : firstInvalid(whole);
      throw onError(`payload armour line ${line + Math.floor(at / LINE)} (a character outside base64)`);
    }
    line += n;
    decoded = true;
    return bytes;
  };
  for await (const piece of source) {
    let buf = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    // Stryker disable next-line ConditionalExpression: equivalent — with nothing pending, the first line is decoded on its own instead of with the rest, the same bytes
    if (pending.length) {
      // the line cut at the end of the last piece (or held back), completed from this one
      // Stryker disable next-line MethodExpression: equivalent — taking the whole piece into the joined block decodes the same lines (only copying more)
      const need = Math.min(buf.length, LINE - (pending.length % LINE));
      const joined = Buffer.concat([pending, buf.subarray(0, need)]);
      buf = buf.subarray(need);
      if (buf.length === 0) {
        yield* lines(joined);
        continue;
      }
      // more follows: none of these lines is the last, so none may hold padding (the same
      // message as for padding found inside a block: one file, one error, however it is read)
      const bytes = lines(joined);
      if (pending.length) throw onError(`payload armour line ${line} (a character outside base64)`);
      yield* bytes;
    }
    yield* lines(buf);
  }
  // What is left: the last line, if it was not decoded with the others (it holds padding, or is short).
  if (pending.length === 0) {
    if (!decoded) throw onError('payload (file truncated: no payload)');
    return;
  }
  // One line, which only a held-back line with padding or a short line can be: anything after
  // either (another line, an empty one, a line without its '\n') is not the canonical spelling.
  const last = pending.toString('latin1');
  const bytes = LAST_LINE.test(last) ? fromB64(last.slice(0, -1)) : null;
  if (!bytes) throw onError(`payload armour line ${line} (not canonical base64 in lines of 64 ending in "\\n")`);
  yield bytes;
}

/**
 * Decodes whole lines, a few at a time, each few into a buffer of its own; undefined when a line
 * decodes short (Node's decoder skips what is not base64 and stops at '='). Node decodes base64
 * only from a string, and both the strings and the buffers are kept small: strings of a megabyte
 * are made in fresh memory each time (three times the cost), and so are buffers of a megabyte,
 * whose every page then faults in as it is written (more than the decoding); small ones reuse
 * memory just freed.
 */
function decodeLines(whole: Buffer): Buffer[] | undefined {
  const parts: Buffer[] = [];
  // Stryker disable next-line EqualityOperator: equivalent — one more round decodes an empty string
  for (let at = 0; at < whole.length; at += DECODE_LINES * LINE) {
    const text = whole.subarray(at, at + DECODE_LINES * LINE);
    const part = Buffer.allocUnsafe((text.length / LINE) * LINE_BYTES);
    if (part.write(text.toString('latin1'), 'base64') !== part.length) return undefined;
    parts.push(part);
  }
  return parts;
}

/** Where the first byte outside the base64 alphabet is (for the message only). */
function firstInvalid(block: Buffer): number {
  const m = /[^A-Za-z0-9+/\n]/.exec(block.toString('latin1'));
  return m ? m.index : 0;
}
