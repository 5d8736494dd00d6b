/**
 * Content store on a local directory, laid out like containerd's local store so the files are
 * familiar to anyone who has looked inside /var/lib/containerd:
 *
 *   <root>/blobs/<alg>/<hex>                committed, immutable, verified blobs
 *   <root>/ingest/<sha256(ref)>/data        bytes received so far for one ref
 *   <root>/ingest/<sha256(ref)>/ref         the ref in clear text (for listing)
 *   <root>/ingest/<sha256(ref)>/expected    {"digest","size"} the data must end up as
 *
 * A blob appears in blobs/ only through rename(2) of a fully written, fsynced, digest-checked
 * ingest file, so a crash at any instant leaves either no blob or a complete one. Partial
 * ingests survive a crash on purpose: the next writer for the same ref continues from their
 * length (a ranged GET), re-hashing what is already there because hash state cannot be saved.
 */

import { closeSync, createReadStream, openSync, readSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Hash } from 'node:crypto';
import { EngineError, errorCode, invalidArgument, notFound } from '../util/errors.ts';
import { isDigest, isIndexMediaType, isManifestMediaType, type Descriptor, type Digest } from '../oci/image-spec.ts';
import type {
  BlobInfo,
  ContentStore,
  ContentWriter,
  FsckReport,
  GcReport,
  IngestInfo,
  Lease,
  ReadOptions,
} from './content-store.ts';
import { algorithmOf, encodedOf, hasherFor, sha256Digest, toDigest } from './digest.ts';

export const DEFAULT_CONTENT_ROOT = '/var/lib/berth/content';

/** Manifests and indexes larger than this are not walked by gc (they are not real manifests). */
const MAX_MANIFEST_BYTES = 8 << 20;

/** Bytes a follower reads at a time: big enough that a layer costs few hops, small enough to stream. */
const FOLLOW_CHUNK = 256 * 1024;

export class LocalContentStore implements ContentStore {
  readonly root: string;
  #locks = new Map<string, Promise<void>>();
  #leases = new Set<MemoryLease>();

  constructor(root: string = DEFAULT_CONTENT_ROOT) {
    this.root = root;
  }

  blobPath(digest: Digest): string {
    if (!isDigest(digest)) throw invalidArgument(`locate blob ${JSON.stringify(digest)}: invalid digest format`);
    return join(this.root, 'blobs', algorithmOf(digest), encodedOf(digest));
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      await stat(this.blobPath(digest));
      return true;
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  async info(digest: Digest): Promise<BlobInfo> {
    try {
      const st = await stat(this.blobPath(digest));
      return { digest, size: st.size };
    } catch (err) {
      if (errorCode(err) === 'ENOENT') throw notFound(`content ${digest}: not found`, err);
      throw err;
    }
  }

  async readStream(digest: Digest, options: ReadOptions = {}): Promise<Readable> {
    let file: FileHandle;
    try {
      file = await open(this.blobPath(digest), 'r');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') throw notFound(`content ${digest}: not found`, err);
      throw err;
    }
    const stream = file.createReadStream();
    if (options.verify === false) return stream;
    const verifier = new VerifyingTransform(digest);
    stream.on('error', (err) => verifier.destroy(err));
    return stream.pipe(verifier);
  }

  async readBytes(digest: Digest, options: ReadOptions = {}): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.blobPath(digest));
    } catch (err) {
      if (errorCode(err) === 'ENOENT') throw notFound(`content ${digest}: not found`, err);
      throw err;
    }
    if (options.verify !== false) {
      const actual = toDigest(algorithmOf(digest), hasherFor(digest).update(bytes));
      if (actual !== digest) throw corruptBlob(digest, actual);
    }
    return bytes;
  }

  async readJson<T>(digest: Digest, options: ReadOptions = {}): Promise<T> {
    const bytes = await this.readBytes(digest, options);
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch (err) {
      throw invalidArgument(`parse content ${digest}: ${(err as Error).message}`, err);
    }
  }

  async writer(ref: string, expected: BlobInfo): Promise<ContentWriter> {
    if (!isDigest(expected.digest)) throw invalidArgument(`open writer ${ref}: invalid digest ${JSON.stringify(expected.digest)}`);
    if (!Number.isSafeInteger(expected.size) || expected.size < 0) {
      throw invalidArgument(`open writer ${ref}: invalid size ${expected.size}`);
    }
    const release = await this.#lock(ref);
    try {
      if (await this.has(expected.digest)) {
        throw new EngineError('already-exists', `content ${expected.digest}: already exists`);
      }
      const dir = this.#ingestDir(ref);
      await mkdir(dir, { recursive: true });
      const previous = await readIngestExpected(dir);
      const same = previous !== undefined && previous.digest === expected.digest && previous.size === expected.size;
      if (!same) {
        await rm(join(dir, 'data'), { force: true });
        await writeFile(join(dir, 'ref'), ref);
        await writeFile(join(dir, 'expected'), JSON.stringify({ digest: expected.digest, size: expected.size }));
      }
      const file = await open(join(dir, 'data'), 'a');
      try {
        const hash = hasherFor(expected.digest);
        let offset = (await file.stat()).size;
        if (offset > expected.size) {
          await file.truncate(0);
          offset = 0;
        } else if (offset > 0) {
          await pipeline(createReadStream(join(dir, 'data'), { end: offset - 1 }), async function* (source) {
            for await (const chunk of source) hash.update(chunk as Buffer);
          });
        }
        return new LocalWriter(this, { ref, expected, dir, file, hash, offset, release });
      } catch (err) {
        await file.close();
        throw err;
      }
    } catch (err) {
      release();
      throw err;
    }
  }

  async put(bytes: Uint8Array, expected?: Digest): Promise<BlobInfo> {
    const digest = expected ?? sha256Digest(bytes);
    if (await this.has(digest)) return { digest, size: bytes.byteLength };
    let writer: ContentWriter;
    try {
      writer = await this.writer(`put-${digest}`, { digest, size: bytes.byteLength });
    } catch (err) {
      // Lost a race with another writer of the same bytes: the blob is there, which is all we want.
      if (err instanceof EngineError && err.kind === 'already-exists') return { digest, size: bytes.byteLength };
      throw err;
    }
    try {
      if (writer.offset > 0) await writer.truncate();
      await writer.write(bytes);
      return await writer.commit();
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }

  async delete(digest: Digest): Promise<void> {
    try {
      await rm(this.blobPath(digest));
    } catch (err) {
      if (errorCode(err) === 'ENOENT') throw notFound(`content ${digest}: not found`, err);
      throw err;
    }
  }

  async list(): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    for (const algorithm of ['sha256', 'sha512']) {
      const dir = join(this.root, 'blobs', algorithm);
      for (const name of await readdirOrEmpty(dir)) {
        const digest = `${algorithm}:${name}`;
        if (!isDigest(digest)) continue;
        try {
          out.push({ digest, size: (await stat(join(dir, name))).size });
        } catch (err) {
          if (errorCode(err) !== 'ENOENT') throw err; // deleted while listing
        }
      }
    }
    return out;
  }

  async ingests(): Promise<IngestInfo[]> {
    const out: IngestInfo[] = [];
    const base = join(this.root, 'ingest');
    for (const name of await readdirOrEmpty(base)) {
      const dir = join(base, name);
      const expected = await readIngestExpected(dir);
      if (!expected) continue;
      let ref = '';
      let offset = 0;
      try {
        ref = await readFile(join(dir, 'ref'), 'utf8');
        offset = (await stat(join(dir, 'data'))).size;
      } catch (err) {
        if (errorCode(err) !== 'ENOENT') throw err;
      }
      out.push({ ref, expected, offset });
    }
    return out;
  }

  async fsck(): Promise<FsckReport> {
    const corrupt: Digest[] = [];
    const blobs = await this.list();
    for (const { digest } of blobs) {
      const hash = hasherFor(digest);
      try {
        await pipeline(createReadStream(this.blobPath(digest)), async function* (source) {
          for await (const chunk of source) hash.update(chunk as Buffer);
        });
      } catch (err) {
        if (errorCode(err) === 'ENOENT') continue;
        throw err;
      }
      if (toDigest(algorithmOf(digest), hash) !== digest) corrupt.push(digest);
    }
    return { checked: blobs.length, corrupt, ingests: await this.ingests() };
  }

  async gc(roots: Digest[]): Promise<GcReport> {
    const live = new Set<Digest>();
    const pending: Array<{ digest: Digest; walk: boolean }> = roots.map((digest) => ({ digest, walk: true }));
    for (const ingest of await this.ingests()) pending.push({ digest: ingest.expected.digest, walk: true });
    for (const lease of this.#leases) for (const digest of lease.digests) pending.push({ digest, walk: true });
    while (pending.length > 0) {
      const { digest, walk } = pending.pop()!;
      if (live.has(digest)) continue;
      live.add(digest);
      if (!walk) continue;
      pending.push(...(await this.#children(digest)));
    }
    const removed: Digest[] = [];
    let bytes = 0;
    for (const blob of await this.list()) {
      if (live.has(blob.digest)) continue;
      try {
        await rm(this.blobPath(blob.digest));
        removed.push(blob.digest);
        bytes += blob.size;
      } catch (err) {
        if (errorCode(err) !== 'ENOENT') throw err;
      }
    }
    return { removed, bytes };
  }

  lease(): Lease {
    const lease = new MemoryLease((l) => this.#leases.delete(l));
    this.#leases.add(lease);
    return lease;
  }

  isLeased(digest: Digest, except?: Lease): boolean {
    for (const lease of this.#leases) if (lease !== except && lease.digests.has(digest)) return true;
    return false;
  }

  /**
   * What a manifest or index blob points at; nothing for other blobs. Only children that may
   * themselves be manifests (by media type, or without one) are walked further.
   */
  async #children(digest: Digest): Promise<Array<{ digest: Digest; walk: boolean }>> {
    let parsed: unknown;
    try {
      const info = await this.info(digest);
      if (info.size > MAX_MANIFEST_BYTES) return [];
      parsed = JSON.parse((await this.readBytes(digest, { verify: false })).toString('utf8'));
    } catch {
      return []; // absent or not JSON: a layer or a config, a leaf either way
    }
    if (typeof parsed !== 'object' || parsed === null) return [];
    const doc = parsed as { manifests?: unknown; config?: unknown; layers?: unknown };
    const out: Array<{ digest: Digest; walk: boolean }> = [];
    const take = (value: unknown, tree: boolean): void => {
      if (typeof value !== 'object' || value === null) return;
      const desc = value as Partial<Descriptor>;
      if (typeof desc.digest !== 'string' || !isDigest(desc.digest)) return;
      const walk = tree && (desc.mediaType === undefined || isManifestMediaType(desc.mediaType) || isIndexMediaType(desc.mediaType));
      out.push({ digest: desc.digest, walk });
    };
    if (Array.isArray(doc.manifests)) for (const m of doc.manifests) take(m, true);
    take(doc.config, false);
    if (Array.isArray(doc.layers)) for (const l of doc.layers) take(l, false);
    return out;
  }

  #ingestDir(ref: string): string {
    return join(this.root, 'ingest', encodedOf(sha256Digest(ref)));
  }

  /** Serialises writers of one ref inside this process; the second waits for the first to finish. */
  async #lock(ref: string): Promise<() => void> {
    for (;;) {
      const held = this.#locks.get(ref);
      if (!held) break;
      await held;
    }
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = () => {
        if (this.#locks.get(ref) === held) this.#locks.delete(ref);
        resolve();
      };
    });
    this.#locks.set(ref, held);
    return release;
  }

  /** Used by LocalWriter.commit: fsync the data, rename it into blobs/, drop the ingest. */
  async promote(dir: string, file: FileHandle, digest: Digest): Promise<void> {
    await file.sync();
    await file.close();
    const target = this.blobPath(digest);
    const blobDir = join(this.root, 'blobs', algorithmOf(digest));
    await mkdir(blobDir, { recursive: true });
    await rename(join(dir, 'data'), target);
    await syncDir(blobDir);
    await rm(dir, { recursive: true, force: true });
  }
}

interface WriterState {
  ref: string;
  expected: BlobInfo;
  dir: string;
  file: FileHandle;
  hash: Hash;
  offset: number;
  release: () => void;
}

class LocalWriter implements ContentWriter {
  #store: LocalContentStore;
  #state: WriterState;
  #done = false;
  /** how the ingest ended, for followers: they finish once it is verified and fail on anything else */
  #outcome: 'verified' | 'committed' | 'closed' | 'aborted' | undefined;
  #waiters: Array<() => void> = [];

  constructor(store: LocalContentStore, state: WriterState) {
    this.#store = store;
    this.#state = state;
  }

  get ref(): string {
    return this.#state.ref;
  }

  get expected(): BlobInfo {
    return this.#state.expected;
  }

  get offset(): number {
    return this.#state.offset;
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#assertOpen('write');
    const s = this.#state;
    if (s.offset + chunk.byteLength > s.expected.size) {
      throw invalidArgument(
        `write ${s.expected.digest}: size mismatch: got more than ${s.expected.size} bytes`,
      );
    }
    // Synchronous: a write into the page cache takes microseconds, an awaited one a thread-pool
    // round trip (tens of µs) per network chunk, thousands per layer.
    let written = 0;
    while (written < chunk.byteLength) written += writeSync(s.file.fd, chunk, written, chunk.byteLength - written);
    s.hash.update(chunk);
    s.offset += chunk.byteLength;
    this.#notify();
  }

  async truncate(): Promise<void> {
    this.#assertOpen('truncate');
    await this.#state.file.truncate(0);
    this.#state.hash = hasherFor(this.#state.expected.digest);
    this.#state.offset = 0;
    this.#notify();
  }

  follow(): AsyncIterable<Uint8Array> {
    return this.#follow();
  }

  /**
   * Opens the data file on the first read, so a follower never iterated holds no descriptor.
   * Once open, the descriptor stays valid whatever commit (rename into blobs/) or abort
   * (unlink) does to the name; before, a committed ingest is found under its blob name.
   */
  #openData(): number {
    try {
      return openSync(join(this.#state.dir, 'data'), 'r');
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
    }
    try {
      return openSync(this.#store.blobPath(this.#state.expected.digest), 'r');
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
      throw new EngineError('unavailable', `follow ingest ${this.#state.expected.digest}: ingest ${this.#outcome ?? 'gone'} before it was read`, { cause: err });
    }
  }

  async *#follow(): AsyncGenerator<Uint8Array> {
    const fd = this.#openData();
    let position = 0;
    try {
      for (;;) {
        const end = this.#state.offset;
        if (position < end) {
          const buffer = Buffer.allocUnsafe(Math.min(FOLLOW_CHUNK, end - position));
          const n = readSync(fd, buffer, 0, buffer.length, position);
          if (n === 0) throw new EngineError('internal', `follow ingest ${this.#state.ref}: data file is shorter than the ${end} bytes written`);
          position += n;
          yield n === buffer.length ? buffer : buffer.subarray(0, n);
          continue;
        }
        if (this.#outcome === 'verified' || this.#outcome === 'committed') return;
        if (this.#outcome !== undefined) {
          throw new EngineError('unavailable', `follow ingest ${this.#state.expected.digest}: ingest ${this.#outcome} at byte ${end} of ${this.#state.expected.size}`);
        }
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
    } finally {
      closeSync(fd);
    }
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #settle(outcome: 'verified' | 'committed' | 'closed' | 'aborted'): void {
    this.#outcome = outcome;
    this.#notify();
  }

  async commit(): Promise<BlobInfo> {
    this.#assertOpen('commit');
    const s = this.#state;
    if (s.offset !== s.expected.size) {
      // Short: the transfer stopped early; the partial data stays for a resume.
      throw new EngineError(
        'failed-precondition',
        `commit ${s.expected.digest}: size mismatch: got ${s.offset} bytes, expected ${s.expected.size}`,
      );
    }
    const actual = toDigest(algorithmOf(s.expected.digest), s.hash);
    if (actual !== s.expected.digest) {
      await this.abort();
      throw invalidArgument(`digest mismatch for ${s.expected.digest}: got ${actual}`);
    }
    this.#done = true;
    // Followers may finish now: the bytes are the blob's. Making it durable (fsync, rename) is
    // the store's business and need not hold up what they build from it.
    this.#settle('verified');
    try {
      await this.#store.promote(s.dir, s.file, s.expected.digest);
      this.#settle('committed');
    } catch (err) {
      this.#settle('closed');
      throw err;
    } finally {
      s.release();
    }
    return { ...s.expected };
  }

  async close(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#settle('closed');
    try {
      await this.#state.file.close();
    } finally {
      this.#state.release();
    }
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.#settle('aborted');
    try {
      await this.#state.file.close();
      await rm(this.#state.dir, { recursive: true, force: true });
    } finally {
      this.#state.release();
    }
  }

  #assertOpen(verb: string): void {
    if (this.#done) throw new EngineError('failed-precondition', `${verb} ${this.#state.ref}: writer is closed`);
  }
}

class MemoryLease implements Lease {
  readonly digests = new Set<Digest>();
  #onRelease: (lease: MemoryLease) => void;

  constructor(onRelease: (lease: MemoryLease) => void) {
    this.#onRelease = onRelease;
  }

  add(digest: Digest): void {
    this.digests.add(digest);
  }

  release(): void {
    this.digests.clear();
    this.#onRelease(this);
  }
}

/** Hashes what flows through and fails the stream at the end when the bytes are not the blob. */
class VerifyingTransform extends Transform {
  #digest: Digest;
  #hash: Hash;

  constructor(digest: Digest) {
    super();
    this.#digest = digest;
    this.#hash = hasherFor(digest);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = toDigest(algorithmOf(this.#digest), this.#hash);
    callback(actual === this.#digest ? null : corruptBlob(this.#digest, actual));
  }
}

function corruptBlob(digest: Digest, actual: Digest): EngineError {
  return new EngineError('internal', `read content ${digest}: corrupt blob: content hashes to ${actual}`);
}

async function readIngestExpected(dir: string): Promise<BlobInfo | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, 'expected'), 'utf8')) as Partial<BlobInfo>;
    if (typeof parsed.digest === 'string' && isDigest(parsed.digest) && typeof parsed.size === 'number') {
      return { digest: parsed.digest, size: parsed.size };
    }
    return undefined;
  } catch {
    return undefined; // absent or torn by a crash: the ingest starts over
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return [];
    throw err;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
