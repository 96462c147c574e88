/**
 * The SOPS store's surface: what the rest of kms-envelope uses of it (detect.ts, small and
 * import-free, is imported on its own). The CLI's and the extension's builds load this module from
 * its own bundle, dist/sops-runtime.js, the first time a SOPS file is met (scripts/build.mjs), so
 * that its YAML, JSON and dotenvx parsers cost nothing to anyone without SOPS files.
 */
export { openSops, readBack, sealSops, wipeSops } from './document';
export type { SopsOpened } from './document';
export { openableStore, openSopsFile, readSopsFile, sopsAccessLines, sopsKmsKeys, sopsProblem, sopsSealable, sopsUnwrap, sopsVariables, withSops } from './files';
export type { OpenableStore } from './files';
export { mergeSops } from './merge';
export { findCreationRule } from './creation-rules';
export { addSopsKey, encryptSopsFile, planSopsKeys, removeSopsKey, rotateSopsFile, setSopsValue } from './recipients';
export { importFile } from '../convert/import';
export type { ImportTarget } from '../convert/import';
