import fc from 'fast-check';

/** .env-like text: real-world shapes (quotes, export, comments, CRLF, BOM, multi-line) and noise. */
export function dotenvText(): fc.Arbitrary<string> {
  const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,8}$/);
  const plain = fc.string({ unit: fc.constantFrom(...Array.from('abc XYZ019_-=:/\\$@!{}\'"`#\t')), maxLength: 12 });
  const inner = fc.string({ unit: fc.constantFrom(...Array.from('ab #=\\n\'"`\n\r\té€😀')), maxLength: 12 });
  const value = fc.oneof(
    plain,
    inner.map((s) => `"${s.replace(/"/g, '')}"`),
    inner.map((s) => `'${s.replace(/'/g, '')}'`),
    inner.map((s) => `\`${s.replace(/`/g, '')}\``),
    inner,
    fc.constant(''),
  );
  const assignment = fc
    .tuple(fc.constantFrom('', 'export ', '  ', '\t'), name, fc.constantFrom('=', ' = ', ': ', '= '), value, fc.constantFrom('', ' # note', '#x', '  '))
    .map(([pre, n, sep, v, post]) => `${pre}${n}${sep}${v}${post}`);
  // blank and whitespace-only lines, alone and in runs (where dotenv's own expression backtracks)
  const blank = fc.string({ unit: fc.constantFrom(' ', '\t', '\u00a0', '\ufeff', '\u2028', '\v', '\n'), maxLength: 6 });
  const line = fc.oneof(
    { weight: 6, arbitrary: assignment },
    fc.constant(''),
    blank,
    fc.array(blank, { maxLength: 5 }).map((b) => b.join('\n')),
    fc.constant('# comment = x'),
    fc.string({ maxLength: 10 }),
  );
  return fc
    .tuple(fc.boolean(), fc.array(line, { maxLength: 10 }), fc.constantFrom('\n', '\r\n', '\r'), fc.boolean())
    .map(([bom, lines, eol, finalEol]) => (bom ? '\uFEFF' : '') + lines.join(eol) + (finalEol && lines.length ? eol : ''));
}
