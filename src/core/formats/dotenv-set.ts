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
  if (value.includes('"')) throw new KmsEnvelopeError('USAGE', 'the value holds all three quote characters, which a .env cannot express');
  // inside double quotes dotenv turns \n and \r into line breaks
  if (/\\[nr]/.test(value)) throw new KmsEnvelopeError('USAGE', 'the value holds \' and ` and a \\n or \\r, which a .env cannot express');
  return `"${value}"`;
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
  const expected: Record<string, string> = { ...parse(text), [name]: value };
  const after = parse(out);
  if ([...new Set([...Object.keys(expected), ...Object.keys(after)])].some((k) => after[k] !== expected[k])) {
    throw new KmsEnvelopeError('USAGE', `setting ${name} here would change how other lines are read (an unclosed quote?)`, 'Fix the file\'s syntax first (Open Decrypted).');
  }
  return out;
}
