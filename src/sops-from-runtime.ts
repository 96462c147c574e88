/**
 * What the CLI's and the extension's bundles import as core/sops (scripts/build.mjs): each name of
 * its surface, read from dist/sops-runtime.js the first time it is used.
 */
import path = require('node:path');
import type * as Sops from './core/sops';
let loaded: typeof Sops | undefined;
// a path computed at run time: the bundler leaves dist/sops-runtime.js out of the bundle that requires it
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtime = (): typeof Sops => (loaded ??= require(path.join(__dirname, 'sops-runtime.js')) as typeof Sops);

const NAMES = [
  'openSops', 'readBack', 'sealSops', 'wipeSops', 'openableStore', 'openSopsFile', 'readSopsFile', 'sopsAccessLines', 'sopsKmsKeys', 'sopsProblem', 'sopsSealable',
  'sopsUnwrap', 'sopsVariables', 'withSops', 'mergeSops', 'findCreationRule', 'addSopsKey', 'encryptSopsFile', 'planSopsKeys', 'removeSopsKey', 'rotateSopsFile', 'setSopsValue', 'importFile',
] as const;
// every value the surface exports is here (a name added to core/sops/index.ts and not here does not compile)
const complete: Exclude<keyof typeof Sops, (typeof NAMES)[number]> extends never ? true : never = true;
void complete;

for (const name of NAMES) Object.defineProperty(module.exports, name, { enumerable: true, get: () => runtime()[name] });
