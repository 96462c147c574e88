/**
 * Everything that needs the AWS SDK, bundled on its own (dist/kms-runtime.js) and required on
 * first use, so that activating the extension does not parse half a megabyte of SDK.
 */
export { KmsKeyProvider } from './core/kms/aws-kms';
export { DataKeyCache } from './core/kms/cache';
export { listProfiles } from './core/kms/profiles';
// the SDK's parts that aws-kms.ts needs (the CLI's build requires them from here: src/cli/sdk-from-runtime.ts)
export * from './core/kms/sdk';
