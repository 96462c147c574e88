/**
 * What aws-kms.ts imports as './sdk' in the CLI's bundle (scripts/build.mjs): each name of
 * core/kms/sdk.ts, read from the SDK's own bundle beside the CLI (dist/kms-runtime.js, through
 * V8's code cache) the first time it is used. A command that makes no KMS call (a key from the
 * agent, --version, check) never loads the SDK.
 */
import type * as Sdk from '../core/kms/sdk';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { kmsRuntime } = require('./kms-runtime') as typeof import('./kms-runtime');

const NAMES = ['DecryptCommand', 'DescribeKeyCommand', 'EncryptCommand', 'GenerateDataKeyCommand', 'KMSClient', 'ListAliasesCommand', 'ReEncryptCommand', 'fromNodeProviderChain', 'fromTemporaryCredentials'] as const;
// every name of sdk.ts is here (a name added there and not here does not compile)
const complete: Exclude<keyof typeof Sdk, (typeof NAMES)[number]> extends never ? true : never = true;
void complete;

for (const name of NAMES) Object.defineProperty(module.exports, name, { enumerable: true, get: () => kmsRuntime()[name] });
