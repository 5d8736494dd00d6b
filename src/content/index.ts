/**
 * Public surface of the content store: the `ContentStore` contract, its local-directory
 * implementation, and the digest helpers every user of blobs needs.
 */

export type {
  BlobInfo,
  ContentStore,
  ContentWriter,
  FsckReport,
  GcReport,
  IngestInfo,
  Lease,
  ReadOptions,
} from './content-store.ts';
export { DEFAULT_CONTENT_ROOT, LocalContentStore } from './local-content-store.ts';
export { algorithmOf, encodedOf, hasherFor, parseDigest, sha256Digest, shortDigest, toDigest } from './digest.ts';
