/**
 * The parts of the AWS SDK that KMS calls need, in one module: the CLI's build replaces it with
 * src/cli/sdk-from-runtime.ts, whose every name loads the SDK bundle (dist/kms-runtime.js) when
 * first used, so a command answered from the key agent never parses the SDK (scripts/build.mjs).
 */
export { DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient, ListAliasesCommand, ReEncryptCommand } from '@aws-sdk/client-kms';
export { fromNodeProviderChain, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
