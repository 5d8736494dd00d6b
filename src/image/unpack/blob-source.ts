/**
 * The narrow view of the content store that unpacking and archives need. Declared here rather
 * than imported so image/ can be built and tested before (and apart from) content/; the lead
 * wires the real store in, which only has to satisfy these shapes.
 */

import type { Digest } from '../../oci/image-spec.ts';

export interface BlobSource {
  /** the blob's bytes; rejects with `not-found` when the store lacks it */
  readStream(digest: Digest): Promise<AsyncIterable<Uint8Array>>;
}

export interface PutResult {
  digest: Digest;
  size: number;
}

export interface BlobSink {
  /** stores a blob, verifying it against `expected` when given; storing an existing blob is a no-op */
  put(data: Uint8Array | AsyncIterable<Uint8Array>, expected?: { digest?: Digest; size?: number }): Promise<PutResult>;
  has(digest: Digest): Promise<boolean>;
}

export type BlobStore = BlobSource & BlobSink;
