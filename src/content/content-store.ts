/**
 * The content store contract: immutable blobs addressed by their digest (containerd's
 * core/content). Glossary: `digest` = `sha256:<hex>` of the bytes; `ref` = a caller-chosen name
 * for one ingest (a write in progress), stable across restarts so an interrupted download
 * resumes where it stopped; `expected` = the digest and size the ingest must end up with.
 *
 * Writing a blob: `writer(ref, expected)` → `write()` chunks (starting at `offset`, which is
 * non-zero when a previous process left a partial ingest) → `commit()`, which verifies size and
 * digest and only then makes the blob visible. Nothing half-written is ever readable.
 */

import type { Readable } from 'node:stream';
import type { Digest } from '../oci/image-spec.ts';

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export interface ReadOptions {
  /** Re-hash while reading and fail at the end if the bytes do not match the digest. Default true. */
  verify?: boolean;
}

export interface ContentWriter {
  readonly ref: string;
  readonly expected: BlobInfo;
  /** Bytes already in the ingest: where the next write (and a ranged GET) starts. */
  readonly offset: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Drops the partial data so the next write starts at 0 (a server that ignored a Range). */
  truncate(): Promise<void>;
  /** Verifies size and digest, then makes the blob visible atomically. */
  commit(): Promise<BlobInfo>;
  /** Releases the writer, keeping the partial data for a later resume. */
  close(): Promise<void>;
  /** Releases the writer and deletes the partial data. */
  abort(): Promise<void>;
  /**
   * The ingest's bytes from offset 0 as they land: those already there (a resumed ingest's
   * included), then each write, ending once `commit()` has checked the digest (not waiting for
   * the fsync and rename that make the blob durable). Fails when the writer is aborted or closed
   * first, a digest mismatch included. Lets a consumer (an unpack) work on a blob while it
   * downloads without holding it in memory; after a `truncate()` it continues at its position
   * (bytes it saw are not re-delivered, so it must check what it made on its own: a diffID).
   */
  follow(): AsyncIterable<Uint8Array>;
}

export interface IngestInfo {
  ref: string;
  expected: BlobInfo;
  offset: number;
}

export interface FsckReport {
  checked: number;
  /** Blobs whose bytes no longer hash to their name. */
  corrupt: Digest[];
  /** Ingests left by interrupted writes (resumable, not errors). */
  ingests: IngestInfo[];
}

export interface GcReport {
  removed: Digest[];
  bytes: number;
}

/**
 * Keeps blobs alive against `gc()` and against another pull's rollback while an operation that
 * has not yet recorded them anywhere (a pull in progress) still needs them.
 */
export interface Lease {
  add(digest: Digest): void;
  release(): void;
}

export interface ContentStore {
  has(digest: Digest): Promise<boolean>;
  /** Throws `not-found` when the blob is absent. */
  info(digest: Digest): Promise<BlobInfo>;
  readStream(digest: Digest, options?: ReadOptions): Promise<Readable>;
  readBytes(digest: Digest, options?: ReadOptions): Promise<Buffer>;
  readJson<T>(digest: Digest, options?: ReadOptions): Promise<T>;
  /** Throws `already-exists` when the blob is already committed. Waits while another writer holds `ref`. */
  writer(ref: string, expected: BlobInfo): Promise<ContentWriter>;
  /** Stores bytes whose digest is computed here; storing an existing blob is a no-op. */
  put(bytes: Uint8Array, expected?: Digest): Promise<BlobInfo>;
  delete(digest: Digest): Promise<void>;
  list(): Promise<BlobInfo[]>;
  ingests(): Promise<IngestInfo[]>;
  fsck(): Promise<FsckReport>;
  /** Removes every blob not reachable from `roots` (index → manifests → config + layers). */
  gc(roots: Digest[]): Promise<GcReport>;
  lease(): Lease;
  /** True when some lease other than `except` holds the digest. */
  isLeased(digest: Digest, except?: Lease): boolean;
}
