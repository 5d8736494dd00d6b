/**
 * Public surface of manifests: parse and validate manifests and indexes, choose a platform's
 * manifest from an index, compute chain IDs.
 */

export type { ParsedManifest } from './manifest.ts';
export { MANIFEST_ACCEPT, SCHEMA1_MEDIA_TYPES, checkDescriptor, parseManifest } from './manifest.ts';
export type { PlatformSpec } from './platform.ts';
export {
  defaultPlatform,
  formatPlatform,
  normalizePlatform,
  parsePlatform,
  platformMatches,
  platformRank,
  selectManifest,
} from './platform.ts';
export { chainId, chainIds } from './chain-id.ts';
