/**
 * What aws-kms.ts requires as './sdk' in the CLI's bundle (scripts/build.mjs): the AWS SDK from
 * its own bundle beside the CLI (dist/kms-runtime.js), through V8's code cache, on the first KMS
 * call. A command that needs no KMS call (a key from the agent, --version, check) never loads it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { kmsRuntime } = require('./kms-runtime') as typeof import('./kms-runtime');
module.exports = kmsRuntime();
