/**
 * The parts of the AWS SDK that KMS calls need, in one module that aws-kms.ts requires on its
 * first KMS call, not at load: a command answered from the cache or the key agent never parses
 * the SDK. (The CLI's build points this module at the SDK bundle, dist/kms-runtime.js, which it
 * loads through V8's code cache: scripts/build.mjs.)
 */
export { DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient, ListAliasesCommand, ReEncryptCommand } from '@aws-sdk/client-kms';
export { fromNodeProviderChain } from '@aws-sdk/credential-providers';
