/**
 * Public surface of image references: parse what users type, print it back the way docker does.
 */

export type { Reference } from './reference.ts';
export {
  DEFAULT_DOMAIN,
  DEFAULT_TAG,
  familiar,
  familiarName,
  formatReference,
  parseReference,
  repositoryName,
  withDigest,
  withTag,
} from './reference.ts';
