#!/usr/bin/env node
/**
 * The `kms-envelope` command's entry (dist/cli.js): small, so that `--version` loads nothing
 * else; the commands (dist/cli-main.js) are required through the V8 code cache, like the SDK.
 */
import { VERSION } from './version';

// The SDK's notice that its 2027 releases drop Node 20 would otherwise end every command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// `kms-envelope --help | head`: a reader that stops early is not an error
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  // what scripts and CI call most for nothing: answered before the commands (and node:crypto) load
  process.stdout.write(`${VERSION}\n`);
} else {
  // required here, not imported at the top: esbuild then initialises the cache's code (and
  // node:crypto, node:vm) only on this path
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { requireCached } = require('../code-cache') as typeof import('../code-cache');
  void (requireCached(`${__dirname}/cli-main.js`) as typeof import('./main')).main(argv).then((code) => {
    process.exitCode = code;
  });
}
