import { version } from '../../package.json';

/** The CLI's version (the package's, or KMS_ENVELOPE_VERSION for a build that stamps its own). */
export const VERSION: string = process.env.KMS_ENVELOPE_VERSION ?? version;
