/**
 * Everything that needs the AWS SDK, bundled on its own (dist/kms-runtime.js) and required on
 * first use: by the CLI's commands on their first KMS call (src/cli/sdk-from-runtime.ts), and by
 * the extension's KMS worker thread (src/kms-worker.ts), so that neither the CLI's start nor the
 * editor's host parses half a megabyte of SDK.
 */
export { serveKms } from './core/kms/serve-kms';
// the SDK's parts that sdk-transport.ts needs (the CLI's build requires them from here: src/cli/sdk-from-runtime.ts)
export * from './core/kms/sdk';
