// Bundles with esbuild. The extension's entry stays small: the commands and the decrypted view
// (extension-engine.js) and the AWS SDK (kms-runtime.js) live in files of their own that it
// requires on first use, by a path computed at run time, so activation parses neither.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const production = !process.argv.includes('--dev');
// mainFields: the AWS SDK's ES module builds, which esbuild can tree-shake (its CommonJS builds
// carry every protocol of @smithy/core: the SDK bundle is 335 KB instead of 520 KB)
const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: !production, minify: production, legalComments: 'none', logLevel: 'warning', mainFields: ['module', 'main'] };

/**
 * Resolves sdk-transport.ts's './sdk' to src/cli/sdk-from-runtime.ts: the CLI's commands bundle
 * then holds no SDK code, nor does the extension's (whose KMS requests go to its worker thread).
 */
const sdkFromRuntime = {
  name: 'sdk-from-runtime',
  setup(b) {
    b.onResolve({ filter: /^\.\/sdk$/ }, (args) => (args.importer.endsWith(path.join('core', 'kms', 'sdk-transport.ts')) ? { path: path.resolve('src/cli/sdk-from-runtime.ts') } : undefined));
  },
};

/**
 * Resolves core/sops (the SOPS store's surface) to src/sops-from-runtime.ts outside the store
 * itself: the CLI's and the extension's bundles then hold none of it, and load dist/sops-runtime.js
 * when a SOPS file is first met.
 */
const sopsFromRuntime = {
  name: 'sops-from-runtime',
  setup(b) {
    const surface = path.resolve('src/core/sops/index.ts');
    b.onResolve({ filter: /(?:^|\/)sops$/ }, (args) => {
      const target = path.resolve(args.resolveDir, args.path) + '.ts';
      const target2 = path.join(path.resolve(args.resolveDir, args.path), 'index.ts');
      const inside = args.importer.startsWith(path.resolve('src/core/sops') + path.sep) || args.importer.startsWith(path.resolve('src/core/convert') + path.sep);
      return (target === surface || target2 === surface) && !inside ? { path: path.resolve('src/sops-from-runtime.ts') } : undefined;
    });
  },
};

await Promise.all([
  // declarations of the Node API (package.json exports: kms-envelope, kms-envelope/config)
  // (typescript resolved the way Node would: in Stryker's sandbox node_modules is linked only after the build)
  promisify(execFile)(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', 'tsconfig.types.json']),
  build({ ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] }),
  // import() as require(): the extension loads this bundle through a V8 code cache too (src/extension/bundles.ts)
  build({ ...common, entryPoints: ['src/extension/engine.ts'], outfile: 'dist/extension-engine.js', external: ['vscode'], plugins: [sdkFromRuntime, sopsFromRuntime], supported: { 'dynamic-import': false } }),
  // the extension's KMS worker thread: loads the SDK bundle beside it and serves KMS requests
  build({ ...common, entryPoints: ['src/kms-worker.ts'], outfile: 'dist/kms-worker.js' }),
  // the SOPS store and import (yaml, jsonc-parser, eciesjs), required by the two above on the first SOPS file
  build({ ...common, entryPoints: ['src/sops-runtime.ts'], outfile: 'dist/sops-runtime.js' }),
  // import() as require(): the CLI and the extension load this bundle through a V8 code cache (src/code-cache.ts), and Node 20
  // cannot resolve an import() in a script compiled from a code cache ("Invalid host defined options")
  build({ ...common, entryPoints: ['src/kms-runtime.ts'], outfile: 'dist/kms-runtime.js', supported: { 'dynamic-import': false } }),
  // the CLI: a small entry (--version) and its commands, which it loads through the code cache too
  build({ ...common, entryPoints: ['src/cli/index.ts'], outfile: 'dist/cli.js' }),
  // the commands hold the KMS provider but not the SDK: its './sdk' is the SDK bundle, required on the first KMS call
  build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli-main.js', supported: { 'dynamic-import': false }, plugins: [sdkFromRuntime, sopsFromRuntime] }),
  build({ ...common, entryPoints: ['src/api.ts'], outfile: 'dist/api.js' }),
  build({ ...common, entryPoints: ['src/config.ts'], outfile: 'dist/config.js' }),
  build({ ...common, entryPoints: ['src/config-worker.ts'], outfile: 'dist/config-worker.js' }),
  // the GitHub Action: one file, committed (a runner runs it from the checked-out tag, with no install step);
  // a test checks that the committed file is this build
  build({ ...common, entryPoints: ['src/action/main.ts'], outfile: 'action/index.js' }),
  build({ ...common, minify: false, entryPoints: ['test/local-kms/main.ts'], outfile: 'dist/local-kms.js' }),
]);

// The Node API's ES module entry (package exports "import"): the CommonJS bundle's own exports,
// named, so that `import { load } from 'kms-envelope'` needs no CommonJS guesswork from Node.
const apiNames = Object.keys(createRequire(import.meta.url)('../dist/api.js')).filter((n) => n !== 'default' && n !== '__esModule').sort();
writeFileSync('dist/api.mjs', `import api from './api.js';\nexport const { ${apiNames.join(', ')} } = api;\nexport default api;\n`);
