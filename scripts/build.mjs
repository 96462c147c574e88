// Bundles with esbuild. The extension's entry stays small: the AWS SDK lives in its own file
// (kms-runtime.js) that the extension requires on first use, so activation does not parse it.
import { build } from 'esbuild';

const production = !process.argv.includes('--dev');
// mainFields: the AWS SDK's ES module builds, which esbuild can tree-shake (its CommonJS builds
// carry every protocol of @smithy/core: the SDK bundle is 335 KB instead of 520 KB)
const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: !production, minify: production, legalComments: 'none', logLevel: 'warning', mainFields: ['module', 'main'] };

await Promise.all([
  build({ ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', './kms-runtime.js'] }),
  build({ ...common, entryPoints: ['src/kms-runtime.ts'], outfile: 'dist/kms-runtime.js' }),
  build({ ...common, entryPoints: ['src/cli/index.ts'], outfile: 'dist/cli.js', external: ['./kms-runtime.js'] }),
  build({ ...common, entryPoints: ['src/api.ts'], outfile: 'dist/api.js' }),
  build({ ...common, minify: false, entryPoints: ['test/local-kms/main.ts'], outfile: 'dist/local-kms.js' }),
]);
