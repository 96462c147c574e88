#!/usr/bin/env node
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
  // required here, not imported at the top: esbuild then initialises the commands only on this path
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  void (require('./main') as typeof import('./main')).main(argv).then((code) => {
    process.exitCode = code;
  });
}
