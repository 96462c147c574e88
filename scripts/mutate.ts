/**
 * `npm run mutate [-- --mutate src/core/cipher.ts]`: runs StrykerJS (stryker.config.mjs), then
 * writes docs/MUTATION.md from its JSON report (.cache/stryker/report.json): the score of each
 * file of src/core, every mutant that no test killed, and every mutant left out by a
 * `// Stryker disable` comment with the reason that comment gives (the one place reasons live).
 * Generated, like docs/RELIABILITY.md: `npm run mutate` writes it. A run of some files keeps the
 * other files' results: from Stryker's report before it, or on a fresh checkout (no .cache) from
 * the committed document itself.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { matchesGlob } from '../src/core/glob';

interface Mutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: 'Killed' | 'Survived' | 'NoCoverage' | 'Timeout' | 'CompileError' | 'RuntimeError' | 'Ignored' | 'Pending';
  /** For Ignored: the reason written in the source's `// Stryker disable` comment. */
  statusReason?: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}
interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}

const ROOT = path.join(__dirname, '..');
const REPORT = path.join(ROOT, '.cache/stryker/report.json');
/** The files the issue wants without any survivor. */
const STRICT = ['src/core/cipher.ts', 'src/core/envelope.ts', 'src/core/header.ts', 'src/core/whole-file.ts', 'src/core/kms/allow-list.ts', 'src/core/kms/cache.ts'];

/** Stryker's record of the last run (stryker.config.mjs, incremental): mutants whose code and covering tests did not change keep their result. */
const INCREMENTAL = path.join(ROOT, '.cache/stryker/incremental.json');
const incremental = existsSync(INCREMENTAL);
/**
 * The reason a `// Stryker disable` comment gives for leaving a mutant out: the `next-line`
 * comment right above it, or the nearest range comment above it not closed by a `restore`.
 * Read from the source, since an incremental run's carried-over results lose Stryker's own note.
 */
function disableReason(lines: readonly string[], m: Mutant): string | undefined {
  const names = (list: string) => list.split(',').map((x) => x.trim());
  const above = lines[m.location.start.line - 2] ?? '';
  const next = /\/\/\s*Stryker disable next-line ([\w,\s]+?):\s*(.*)$/.exec(above);
  if (next && (names(next[1]).includes(m.mutatorName) || names(next[1]).includes('all'))) return next[2];
  for (let i = m.location.start.line - 2; i >= 0; i--) {
    if (/\/\/\s*Stryker restore/.test(lines[i]) && (lines[i].includes(m.mutatorName) || lines[i].includes('all'))) return undefined;
    const range = /\/\/\s*Stryker disable (?!next-line)([\w,\s]+?):\s*(.*)$/.exec(lines[i]);
    if (range && (names(range[1]).includes(m.mutatorName) || names(range[1]).includes('all'))) return range[2];
  }
  return undefined;
}

// `--report-only --took <minutes>`: writes MUTATION.md from the last report without running Stryker
const reportOnly = process.argv.includes('--report-only');
const took = process.argv.indexOf('--took');
const args = process.argv.slice(2).filter((a, i) => a !== '--report-only' && a !== '--took' && i + 2 !== took + 1);
const partial = args.includes('--mutate') || args.includes('-m');
// a run of some files keeps the others' results from the report before it, marked as such
const EARLIER = path.join(ROOT, '.cache/stryker/report.earlier.json');
if (partial && !reportOnly && existsSync(REPORT)) copyFileSync(REPORT, EARLIER);
const earlier: Report | undefined = partial && existsSync(EARLIER) ? (JSON.parse(readFileSync(EARLIER, 'utf8')) as Report) : undefined;

const started = Date.now();
if (!reportOnly) {
  const run = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/@stryker-mutator/core/bin/stryker.js'), 'run', ...args], { cwd: ROOT, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
const minutes = reportOnly && took !== -1 ? process.argv[took + 1] : ((Date.now() - started) / 60_000).toFixed(1);

const report = JSON.parse(readFileSync(REPORT, 'utf8')) as Report;
// Files outside `--mutate`: Stryker's incremental report carries their earlier results over (for
// the mutants whose code is unchanged), or the report before this one has them
const patterns = partial ? (args[args.findIndex((a) => a === '--mutate' || a === '-m') + 1] ?? '').split(',') : [];
const inRun = (file: string) => !partial || (patterns.some((p) => !p.startsWith('!') && matchesGlob(p, file)) && !patterns.some((p) => p.startsWith('!') && matchesGlob(p.slice(1), file)));
for (const f of Object.keys(earlier?.files ?? {})) if (!(f in report.files)) report.files[f] = earlier!.files[f];
const fromEarlier = new Set(Object.keys(report.files).filter((f) => !inRun(path.relative(ROOT, path.resolve(ROOT, f)).split(path.sep).join('/'))));

/** One file's row of the table and its entries in the two lists. */
interface FileResult {
  row: string;
  open: string[];
  ignored: string[];
  killed: number;
  scored: number;
  /** Unknown for a file carried over from the committed document. */
  timedOut?: number;
}
const results = new Map<string, FileResult>();
/** Rounded down: one survivor in 2,000 must not read as 100.0. */
const percent = (killed: number, scored: number) => (scored ? (Math.floor((1000 * killed) / scored) / 10).toFixed(1) : '–');
for (const [file, { source, mutants }] of Object.entries(report.files)) {
  const rel = path.relative(ROOT, path.resolve(ROOT, file)).split(path.sep).join('/');
  const count = (...s: Mutant['status'][]) => mutants.filter((m) => s.includes(m.status)).length;
  const killed = count('Killed', 'Timeout');
  const left = mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage');
  const row = `| ${STRICT.includes(rel) ? `**${rel}**` : rel}${fromEarlier.has(file) ? ' (earlier run)' : ''} | ${mutants.length} | ${killed} | ${count('Survived')} | ${count('NoCoverage')} | ${count('CompileError')} | ${count('Ignored')} | ${percent(killed, killed + left.length)} |`;
  const result: FileResult = { row, open: [], ignored: [], killed, scored: killed + left.length, timedOut: count('Timeout') };
  const lines = source.split('\n');
  for (const m of mutants.filter((x) => x.status === 'Ignored')) {
    const why = disableReason(lines, m) ?? 'a module-level constant, evaluated once at load (ignoreStatic: a static mutant would need every test run again)';
    result.ignored.push(`- \`${rel}:${m.location.start.line}\` ${m.mutatorName}: ${why}`);
  }
  for (const m of left) {
    const at = `${rel}:${m.location.start.line}`;
    const original = lines[m.location.start.line - 1]?.trim().slice(0, 90) ?? '';
    result.open.push(`- \`${at}\` ${m.mutatorName}${m.status === 'NoCoverage' ? ' (no test covers it)' : ''}: \`${original.replace(/`/g, "'")}\` → \`${(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 60).replace(/`/g, "'")}\``);
  }
  results.set(rel, result);
}
// A partial run would write a document of the files Stryker's reports here know: on a fresh clone
// (.cache is not committed) its own files alone, and after partial runs only theirs. The committed
// document's other files are carried over as they stand, with their rows and entries.
let carried = false;
if (partial) {
  for (const [rel, r] of Object.entries(committedResults())) {
    if (results.has(rel) || inRun(rel)) continue;
    results.set(rel, r);
    carried = true;
  }
}
const sorted = [...results].sort(([a], [b]) => a.localeCompare(b)).map(([, r]) => r);
const rows = sorted.map((r) => r.row);
const open = sorted.flatMap((r) => r.open);
const ignored = sorted.flatMap((r) => r.ignored);
const killedAll = sorted.reduce((n, r) => n + r.killed, 0);
const scoredAll = sorted.reduce((n, r) => n + r.scored, 0);
const timedOutAll = sorted.every((r) => r.timedOut !== undefined) ? String(sorted.reduce((n, r) => n + r.timedOut!, 0)) : 'some';

/** docs/MUTATION.md as committed, by file: each row (marked as an earlier run) and its list entries. */
function committedResults(): Record<string, FileResult> {
  const doc = path.join(ROOT, 'docs/MUTATION.md');
  const out: Record<string, FileResult> = {};
  if (!existsSync(doc)) return out;
  const text = readFileSync(doc, 'utf8');
  const openPart = text.slice(text.indexOf('## Mutants no test kills'), text.indexOf('## Mutants left out'));
  const ignoredPart = text.slice(text.indexOf('## Mutants left out'));
  const entriesOf = (part: string, rel: string) => part.split('\n').filter((l) => l.startsWith(`- \`${rel}:`));
  for (const m of text.matchAll(/^\| (?:\*\*)?(src\/[^ *|]+)(?:\*\*)?(?: \(earlier run\))? \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|.*$/gm)) {
    const [line, rel, , killed, survived, noCoverage] = m;
    const row = line.includes(' (earlier run) |') ? line : line.replace(/^(\| (?:\*\*)?src\/[^ *|]+(?:\*\*)?)/, '$1 (earlier run)');
    out[rel] = { row, open: entriesOf(openPart, rel), ignored: entriesOf(ignoredPart, rel), killed: Number(killed), scored: Number(killed) + Number(survived) + Number(noCoverage) };
  }
  return out;
}

writeFileSync(
  path.join(ROOT, 'docs/MUTATION.md'),
  `# Mutation testing of src/core

Generated by \`npm run mutate\` (StrykerJS with the mocha runner and the TypeScript checker, over
the node suites test/unit, test/kms and the CLI's test/cli/{cli,hostile-repository,hostile-repository-2,agent,sops,import}: the CLI runs
in child processes from a dist/ built from the mutated sources, test/support/mutants.ts).
Do not edit: edit the tests, or say why a mutant cannot be killed in a \`// Stryker disable\`
comment beside the code. This run${partial ? ` (of ${args.join(' ')} only; the rows marked "earlier run" are carried over from the last run that included those files, ${carried ? 'or as the committed document had them where this checkout had no earlier report of them' : 'for the mutants whose code has not changed since'})` : ''} took ${minutes} minutes on this machine
(2 cores, concurrency 3)${incremental ? ', incrementally: the mutants whose code and covering tests had not changed since the last run kept its result (.cache/stryker/incremental.json; delete it to start from scratch)' : ', from scratch'}.

Mutation score: **${percent(killedAll, scoredAll)}%** (${killedAll} of ${scoredAll} mutants killed, ${timedOutAll} of them by a
timeout: the mutant made a test hang, such as a loop that no longer ends or a promise never settled; compile errors, caught by the
TypeScript checker, are not counted). In bold, the files that must have no survivor.

| File | Mutants | Killed | Survived | No coverage | Compile errors | Left out | Score % |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

## Mutants no test kills

${open.length ? open.join('\n') : 'None.'}

## Mutants left out, with the reason written beside the code

A \`// Stryker disable next-line\` comment in the source, for a mutant no test can kill: an
equivalent one (the program behaves the same) or a defensive check that no input can reach.

${ignored.length ? [...new Set(ignored)].join('\n') : 'None.'}
`,
);
console.log(`docs/MUTATION.md: ${killedAll}/${scoredAll} killed, ${open.length} not killed`);
