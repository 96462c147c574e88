/**
 * Setting one variable in `.env` text: the value written so that `dotenv.parse` reads back
 * exactly that value, replacing the last assignment of the name (the one dotenv uses) or
 * appending a new line. Pure; the CLI's `set` encrypts the result.
 */
import { parse } from 'dotenv';
import { KmsEnvelopeError } from '../errors';
import { dotenvEntries } from './dotenv';

const NAME = /^[\w.-]+$/;

/** The value as written after `=`: bare when safe, else in quotes that dotenv takes literally. */
export function quoteValue(value: string): string {
  if (/^[^\s#'"`\\]*$/.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('`')) return `\`${value}\``;
  if (!value.includes('"') && !/\\[nr]/.test(value)) return `"${value}"`;
  throw new KmsEnvelopeError('USAGE', 'the value holds all three quote characters, which a .env cannot express');
}

export function setVariable(text: string, name: string, value: string): string {
  if (!NAME.test(name)) throw new KmsEnvelopeError('USAGE', `"${name}" is not a variable name (letters, digits, _ . -)`);
  const written = quoteValue(value);
  if (parse(`${name}=${written}\n`)[name] !== value) throw new KmsEnvelopeError('USAGE', 'this value cannot be written so that dotenv reads it back unchanged');
  const last = dotenvEntries(text).filter((e) => e.name === name).pop();
  let out: string;
  if (last) out = text.slice(0, last.start) + written + text.slice(last.end);
  else {
    const eol = text.includes('\r\n') ? '\r\n' : '\n';
    out = `${text}${text === '' || text.endsWith('\n') ? '' : eol}${name}=${written}${eol}`;
  }
  // Checked, not assumed: malformed text nearby (an unclosed quote) can swallow a new line.
  const before = parse(text);
  const after = parse(out);
  const others = new Set([...Object.keys(before), ...Object.keys(after)]);
  others.delete(name);
  if (after[name] !== value || [...others].some((k) => before[k] !== after[k])) {
    throw new KmsEnvelopeError('USAGE', `setting ${name} here would change how other lines are read (an unclosed quote?)`, 'Fix the file\'s syntax first (Open Decrypted).');
  }
  return out;
}
