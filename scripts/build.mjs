// Bundles with esbuild. The extension's entry stays small: the commands and the decrypted view
// (extension-engine.js) and the AWS SDK (kms-runtime.js) live in files of their own that it
// requires on first use, by a path computed at run time, so activation parses neither.
import { build } from 'esbuild';

const production = !process.argv.includes('--dev');
// mainFields: the AWS SDK's ES module builds, which esbuild can tree-shake (its CommonJS builds
// carry every protocol of @smithy/core: the SDK bundle is 335 KB instead of 520 KB)
const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: !production, minify: production, legalComments: 'none', logLevel: 'warning', mainFields: ['module', 'main'] };

await Promise.all([
  build({ ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] }),
  build({ ...common, entryPoints: ['src/extension/engine.ts'], outfile: 'dist/extension-engine.js', external: ['vscode'] }),
  build({ ...common, entryPoints: ['src/kms-runtime.ts'], outfile: 'dist/kms-runtime.js' }),
  build({ ...common, entryPoints: ['src/cli/index.ts'], outfile: 'dist/cli.js', external: ['./kms-runtime.js'] }),
  build({ ...common, entryPoints: ['src/api.ts'], outfile: 'dist/api.js' }),
  build({ ...common, minify: false, entryPoints: ['test/local-kms/main.ts'], outfile: 'dist/local-kms.js' }),
]);
