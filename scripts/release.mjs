// npm run release: the npm package and the .vsix of this version, side by side with their
// SHA-256 sums, in release/ — after checking that package.json, CHANGELOG.md, the CLI and the
// extension agree on the version, and listing what each artefact holds.
//
// Two manifests, one source: package.json is the extension's (VS Code reads `main` and
// `contributes` from it). npm always packs the file named by `main`, so packing this manifest
// would ship the extension to npm users with 600 lines of `contributes`; the npm package gets
// a manifest derived from it instead (npmManifest below): the same name, version, license,
// keywords, bin and exports, and bugs and homepage made from `repository` (as vsce makes the
// Marketplace's links), so a fork edits one place: package.json's repository.
//
//   node scripts/release.mjs            build, check, pack both, sums
//   node scripts/release.mjs --npm-only --out DIR   only the npm tarball (the tests use this)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** What the npm package holds besides package.json: the CLI, the Node API (CJS, ESM, types), the preload. */
export const NPM_FILES = [
  'dist/cli.js',
  'dist/cli-main.js',
  'dist/kms-runtime.js',
  'dist/sops-runtime.js',
  'dist/api.js',
  'dist/api.mjs',
  'dist/config.js',
  'dist/config-worker.js',
  'README.md',
  'LICENSE',
  'CHANGELOG.md',
];
/** The packed tarball's budget (issue 23): bundles of the AWS SDK, the CLI and the API, gzipped. */
export const NPM_BUDGET_BYTES = 700 * 1024;

/** The npm package's manifest, derived from the extension's. */
export function npmManifest(source = pkg) {
  const repo = source.repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
  return {
    name: source.name,
    version: source.version,
    description: 'Envelope-encrypt .env files and other secrets with AWS KMS: a CLI (decrypt, run, encrypt, rotate), a Node API and a preload (node -r kms-envelope/config), the same format as the KMS Envelope VS Code extension.',
    keywords: source.keywords,
    license: source.license,
    repository: source.repository,
    bugs: { url: `${repo}/issues` },
    homepage: `${repo}#readme`,
    engines: { node: source.engines.node },
    bin: source.bin,
    main: source.exports['.'].require,
    types: source.types,
    exports: source.exports,
    files: [...NPM_FILES.filter((f) => f.startsWith('dist/')), 'dist/types/**/*.d.ts', 'CHANGELOG.md'],
    // everything is bundled: an install fetches nothing else, and runs no script
    dependencies: {},
  };
}

const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], ...opts });
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

function filesUnder(dir) {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => statSync(path.join(dir, f)).isFile())
    .sort();
}

/** Stages the npm package in `stage` and packs it into `out`; returns the tarball's path and its file list. */
export function packNpm(out) {
  const stage = path.join(out, 'npm-package');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  for (const f of [...NPM_FILES, ...filesUnder(path.join(ROOT, 'dist/types')).filter((f) => f.endsWith('.d.ts')).map((f) => `dist/types/${f}`)]) {
    mkdirSync(path.dirname(path.join(stage, f)), { recursive: true });
    copyFileSync(path.join(ROOT, f), path.join(stage, f));
  }
  writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(npmManifest(), null, 2)}\n`);
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', out], { cwd: stage }));
  rmSync(stage, { recursive: true, force: true });
  return { tarball: path.join(out, packed.filename), files: packed.files.map((f) => f.path).sort(), size: packed.size };
}

/** The environment without KMS_ENVELOPE_VERSION, which a stamped build's CLI would print instead. */
function withoutVersionStamp() {
  const env = { ...process.env };
  delete env.KMS_ENVELOPE_VERSION;
  return env;
}

/** The version every part states; throws naming the one that differs. */
export function checkVersions(vsix) {
  const v = pkg.version;
  const top = /^## \[(\d[^\]]*)\]/m.exec(readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8'));
  const stated = {
    'package.json': v,
    'CHANGELOG.md (first release heading)': top?.[1],
    'the CLI (kms-envelope --version)': run(process.execPath, ['dist/cli.js', '--version'], { env: withoutVersionStamp() }).trim(),
    ...(vsix ? { 'the extension (.vsix manifest)': JSON.parse(run('unzip', ['-p', vsix, 'extension/package.json'])).version } : {}),
  };
  const wrong = Object.entries(stated).filter(([, s]) => s !== v);
  if (wrong.length) throw new Error(`version ${v} of package.json is not what ${wrong.map(([where, s]) => `${where} says (${s ?? 'nothing'})`).join(', ')}`);
  return v;
}

async function main() {
  const args = process.argv.slice(2);
  const outArg = args.indexOf('--out');
  const out = path.resolve(outArg >= 0 ? args[outArg + 1] : path.join(ROOT, 'release'));
  mkdirSync(out, { recursive: true });
  if (!existsSync(path.join(ROOT, 'dist/cli.js')) || !args.includes('--no-build')) run('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });

  const npm = packNpm(out);
  if (npm.size > NPM_BUDGET_BYTES) throw new Error(`the npm tarball is ${npm.size} bytes, over its budget of ${NPM_BUDGET_BYTES}`);
  if (args.includes('--npm-only')) {
    checkVersions();
    process.stdout.write(`${npm.tarball}\n`);
    return;
  }
  const vsix = path.join(out, `${pkg.name}-${pkg.version}.vsix`);
  run('npx', ['vsce', 'package', '--no-dependencies', '--no-rewrite-relative-links', '--out', vsix], { stdio: ['ignore', 'ignore', 'inherit'] });
  const version = checkVersions(vsix);
  const vsixFiles = run('unzip', ['-Z1', vsix]).split('\n').filter((f) => f && !f.endsWith('/')).sort();

  const artefacts = [npm.tarball, vsix];
  writeFileSync(path.join(out, 'SHA256SUMS'), artefacts.map((f) => `${sha256(f)}  ${path.basename(f)}\n`).join(''));
  const kb = (f) => `${Math.round(statSync(f).size / 1024)} KB`;
  process.stdout.write(
    [
      `kms-envelope ${version} in ${path.relative(ROOT, out) || '.'}/`,
      `  ${path.basename(npm.tarball)} (${kb(npm.tarball)} packed; budget ${NPM_BUDGET_BYTES / 1024} KB):`,
      ...npm.files.map((f) => `    ${f}`),
      `  ${path.basename(vsix)} (${kb(vsix)}):`,
      ...vsixFiles.map((f) => `    ${f}`),
      `  SHA256SUMS`,
      '',
    ].join('\n'),
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    process.stderr.write(`release: ${err.message}\n`);
    process.exitCode = 1;
  });
}
