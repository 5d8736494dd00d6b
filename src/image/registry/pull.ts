/**
 * Pull (OCI distribution spec, "pulling"): tag → manifest (or index → the platform's manifest)
 * → config and layers, every byte verified against its digest before it becomes visible.
 *
 * Order matters for crash safety: blobs are committed leaves first (layers, config), then the
 * manifest, then the index, so the store never holds a manifest whose blobs are missing.
 * A pull that meets content it cannot trust (a digest or size mismatch, a malformed manifest)
 * removes everything it committed (unless another lease holds it): from a lying registry we
 * store nothing. After other failures (network, cancel) verified blobs and partial downloads
 * are kept, so the next pull (even from another process, after kill -9) downloads only what
 * is missing and continues partial blobs with a ranged GET.
 */

import { EngineError, invalidArgument, notFound } from '../../util/errors.ts';
import { isDigest, type Descriptor, type Digest, type Manifest } from '../../oci/image-spec.ts';
import { algorithmOf, hasherFor, sha256Digest, shortDigest, toDigest, type ContentStore, type ContentWriter, type Lease } from '../../content/index.ts';
import { familiar, parseReference, type Reference } from '../reference/index.ts';
import { MANIFEST_ACCEPT, defaultPlatform, parseManifest, parsePlatform, selectManifest, type PlatformSpec } from '../manifest/index.ts';
import { forEachLimit, type PullProgress } from './progress.ts';
import { registryError, type RegistryResponse, type RegistryTransport } from './transport.ts';

/** Registries cap manifests at 4 MiB; anything bigger is not a manifest. */
export const MAX_MANIFEST_BYTES = 4 << 20;

export interface RegistryContext {
  transport: RegistryTransport;
  store: ContentStore;
  concurrency: number;
  /** Remembers which repositories hold a blob, for cross-repository mounts on push. */
  sources: BlobSources;
}

export interface PullOptions {
  /** `os/arch[/variant]` or a parsed platform; default linux/<this machine's arch>. */
  platform?: PlatformSpec | string;
  onProgress?: (event: PullProgress) => void;
  signal?: AbortSignal;
  /**
   * Keeps the pulled blobs safe from gc until the caller has recorded the image; without one
   * the pull uses its own, released when it returns.
   */
  lease?: Lease;
  /**
   * Called once the manifest and config are in, before any layer moves; may return a consumer
   * that gets each layer's bytes while they download (to unpack them on the fly). See LayerConsumer.
   */
  layerConsumer?: (image: { manifest: Manifest; config: Descriptor }) => LayerConsumer | undefined | Promise<LayerConsumer | undefined>;
}

/**
 * Receives layer `index` of the manifest exactly once: `bytes` follow the download as it lands
 * in the store (or, for a blob already there, are read back verified from the store), from
 * byte 0 even when the download resumes a partial ingest. They end only once the blob's digest
 * has been checked, so a consumer that reads to the end has seen verified bytes; on a mismatch
 * they fail instead. The pull waits for every consumer; one that
 * fails stops the pull (a refused layer: invalid-argument, and the pull stores nothing).
 * A consumer that needs no bytes (its layer is already unpacked) simply does not read them.
 */
export type LayerConsumer = (layer: Descriptor, index: number, bytes: AsyncIterable<Uint8Array>) => Promise<void>;

export interface PullResult {
  reference: Reference;
  /** Digest of what the reference names: the index for multi-platform images, else the manifest. */
  digest: Digest;
  mediaType: string;
  index?: Descriptor;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
}

export interface FetchedManifest {
  bytes: Buffer;
  desc: Descriptor;
}

export class BlobSources {
  #repos = new Map<Digest, Set<string>>();

  add(digest: Digest, host: string, path: string): void {
    let set = this.#repos.get(digest);
    if (!set) this.#repos.set(digest, (set = new Set()));
    set.add(`${host}/${path}`);
  }

  /** Repositories on `host` other than `exceptPath` known to hold the blob. */
  on(digest: Digest, host: string, exceptPath: string): string[] {
    const out: string[] = [];
    for (const entry of this.#repos.get(digest) ?? []) {
      if (entry.startsWith(`${host}/`) && entry !== `${host}/${exceptPath}`) out.push(entry.slice(host.length + 1));
    }
    return out;
  }
}

export function pullScope(path: string): string {
  return `repository:${path}:pull`;
}

export async function pullImage(ctx: RegistryContext, input: string | Reference, options: PullOptions = {}): Promise<PullResult> {
  const ref = typeof input === 'string' ? parseReference(input) : input;
  const platform = typeof options.platform === 'string' ? parsePlatform(options.platform) : (options.platform ?? defaultPlatform());
  const lease = options.lease ?? ctx.store.lease();
  const committed: Digest[] = [];
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = abort.signal;
  try {
    const top = await fetchManifest(ctx, ref, ref.digest ?? ref.tag ?? 'latest', signal);
    const parsed = parseManifest(top.bytes, top.desc.mediaType);
    let manifestFetched = top;
    let index: Descriptor | undefined;
    if (parsed.kind === 'index') {
      index = top.desc;
      const chosen = selectManifest(parsed.index, platform);
      manifestFetched = await fetchManifest(ctx, ref, chosen.digest, signal);
      if (manifestFetched.bytes.length !== chosen.size) {
        throw invalidArgument(`pull ${familiar(ref)}: manifest ${chosen.digest} is ${manifestFetched.bytes.length} bytes, index says ${chosen.size}`);
      }
      manifestFetched.desc = { ...chosen };
    }
    const manifestParsed = parseManifest(manifestFetched.bytes, manifestFetched.desc.mediaType);
    if (manifestParsed.kind !== 'manifest') {
      throw invalidArgument(`pull ${familiar(ref)}: ${manifestFetched.desc.digest} is an index inside an index, which is not supported`);
    }
    const { manifest } = manifestParsed;
    const layers = manifest.layers;
    const progress = options.onProgress ?? (() => {});
    for (const layer of layers) progress({ id: shortDigest(layer.digest), status: 'Waiting' });

    const fetchOne = async (desc: Descriptor, report: boolean, consume?: (bytes: AsyncIterable<Uint8Array>) => Promise<void>): Promise<void> => {
      let consumed = false;
      try {
        await fetchBlob(ctx, ref, desc, {
          signal,
          lease,
          onCommitted: () => committed.push(desc.digest),
          ...(report ? { onProgress: progress } : {}),
          ...(consume
            ? {
                consume: (bytes) => {
                  consumed = true;
                  return consume(bytes);
                },
              }
            : {}),
        });
      } catch (err) {
        // Every layer started reaches its consumer, if only to fail: layers above it may be waiting for it.
        if (consume && !consumed) await consume(failing(err)).catch(() => {});
        // One layer failed: stop the others now instead of finishing downloads nobody will use.
        if (!signal.aborted) abort.abort(new EngineError('unavailable', `pull ${familiar(ref)}: stopped after another layer failed`));
        throw err;
      }
    };
    await fetchOne(manifest.config, false);
    const consumer = await options.layerConsumer?.({ manifest, config: manifest.config });
    // by index, not by descriptor: a manifest may name the same blob twice
    await forEachLimit([...layers.keys()], ctx.concurrency, (i) =>
      fetchOne(layers[i]!, true, consumer && ((bytes) => consumer(layers[i]!, i, bytes))),
    );

    // Leaves are in; now the documents that point at them, innermost first.
    if (await storeDocument(ctx.store, manifestFetched, lease)) committed.push(manifestFetched.desc.digest);
    if (index && (await storeDocument(ctx.store, top, lease))) committed.push(top.desc.digest);
    for (const d of [manifest.config.digest, ...layers.map((l) => l.digest), manifestFetched.desc.digest, top.desc.digest]) {
      ctx.sources.add(d, ref.domain, ref.path);
    }
    const result: PullResult = {
      reference: ref,
      digest: top.desc.digest,
      mediaType: top.desc.mediaType,
      manifest: manifestFetched.desc,
      config: manifest.config,
      layers,
    };
    if (index) result.index = index;
    return result;
  } catch (err) {
    if (err instanceof EngineError && err.kind === 'invalid-argument') await rollback(ctx.store, committed, lease);
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
    if (!options.lease) lease.release();
  }
}

/** Bytes that never come: the blob failed before it moved. */
async function* failing(err: unknown): AsyncGenerator<Uint8Array> {
  throw err;
}

/** Deletes what a failed pull committed, unless someone else's lease still needs it. */
async function rollback(store: ContentStore, committed: readonly Digest[], lease: Lease): Promise<void> {
  for (const digest of [...committed].reverse()) {
    if (store.isLeased(digest, lease)) continue;
    try {
      await store.delete(digest);
    } catch (err) {
      if (!(err instanceof EngineError && err.kind === 'not-found')) throw err;
    }
  }
}

async function storeDocument(store: ContentStore, doc: FetchedManifest, lease: Lease): Promise<boolean> {
  lease.add(doc.desc.digest);
  if (await store.has(doc.desc.digest)) return false;
  await store.put(doc.bytes, doc.desc.digest);
  return true;
}

/**
 * GETs a manifest by tag or digest and checks it is what was asked for: by digest, the body
 * must hash to it; by tag, it must hash to the registry's Docker-Content-Digest when given.
 */
export async function fetchManifest(ctx: RegistryContext, ref: Reference, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
  const byDigest = isDigest(reference);
  if (byDigest && (await ctx.store.has(reference))) {
    const bytes = await ctx.store.readBytes(reference);
    return { bytes, desc: { mediaType: parseManifest(bytes).mediaType, digest: reference, size: bytes.length } };
  }
  const res = await ctx.transport.request({
    method: 'GET',
    host: ref.domain,
    path: `/v2/${ref.path}/manifests/${reference}`,
    headers: { Accept: MANIFEST_ACCEPT.join(', ') },
    scopes: [pullScope(ref.path)],
    ...(signal ? { signal } : {}),
  });
  const shown = `${ref.domain}/${ref.path}${byDigest ? '@' : ':'}${reference}`;
  if (res.status === 404) {
    const err = await registryError(res, `manifest for ${familiarRef(ref, reference)} not found`);
    throw notFound(err.message, err);
  }
  if (res.status === 401 || res.status === 403) {
    throw await registryError(res, `pull access denied for ${familiarRef(ref)}, repository does not exist or may require 'docker login'`);
  }
  if (!res.ok) throw await registryError(res, `fetch manifest ${shown}`);
  const bytes = await readLimited(res, MAX_MANIFEST_BYTES, `fetch manifest ${shown}`);
  const header = res.headers.get('docker-content-digest') ?? undefined;
  let digest: Digest;
  if (byDigest) {
    digest = reference;
    const actual = toDigest(algorithmOf(digest), hasherFor(digest).update(bytes));
    if (actual !== digest) throw invalidArgument(`digest mismatch for ${digest}: got ${actual}`);
  } else if (header !== undefined && isDigest(header)) {
    digest = header;
    const actual = toDigest(algorithmOf(header), hasherFor(header).update(bytes));
    if (actual !== header) throw invalidArgument(`fetch manifest ${shown}: digest mismatch: registry says ${header}, content is ${actual}`);
  } else {
    digest = sha256Digest(bytes);
  }
  const contentType = res.headers.get('content-type')?.split(';')[0]?.trim();
  const mediaType = parseManifest(bytes, contentType).mediaType;
  return { bytes, desc: { mediaType, digest, size: bytes.length } };
}

function familiarRef(ref: Reference, reference?: string): string {
  const name = familiar({ domain: ref.domain, path: ref.path });
  if (reference === undefined) return name;
  return isDigest(reference) ? `${name}@${reference}` : `${name}:${reference}`;
}

async function readLimited(res: RegistryResponse, limit: number, action: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body?.cancel();
    throw invalidArgument(`${action}: ${declared} bytes is more than the ${limit} allowed for a manifest`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  if (res.body) {
    for await (const chunk of res.body) {
      total += chunk.byteLength;
      if (total > limit) throw invalidArgument(`${action}: more than the ${limit} bytes allowed for a manifest`);
      chunks.push(Buffer.from(chunk));
    }
  }
  return Buffer.concat(chunks);
}

export interface FetchBlobOptions {
  signal?: AbortSignal;
  lease?: Lease;
  onProgress?: (event: PullProgress) => void;
  /** called once this call has committed the blob (not when it was already there) */
  onCommitted?: () => void;
  /** gets the blob's bytes while they download (see LayerConsumer); awaited before returning */
  consume?: (bytes: AsyncIterable<Uint8Array>) => Promise<void>;
}

/** A stored blob's bytes, verified on read; the file is opened only if somebody reads. */
async function* storedBlob(store: ContentStore, digest: Digest): AsyncGenerator<Uint8Array> {
  yield* await store.readStream(digest);
}

/**
 * Downloads one blob into the store, resuming a partial ingest with a ranged GET and retrying
 * interrupted transfers from where they stopped. 'exists' = it was already there.
 */
export async function fetchBlob(
  ctx: RegistryContext,
  ref: Reference,
  desc: Descriptor,
  options: FetchBlobOptions = {},
): Promise<'exists' | 'committed'> {
  const id = shortDigest(desc.digest);
  const report = options.onProgress ?? (() => {});
  options.lease?.add(desc.digest);
  const existing = async (): Promise<'exists'> => {
    report({ id, status: 'Already exists' });
    await options.consume?.(storedBlob(ctx.store, desc.digest));
    return 'exists';
  };
  if (await ctx.store.has(desc.digest)) return existing();
  let writer: ContentWriter;
  try {
    writer = await ctx.store.writer(`blob-${desc.digest}`, { digest: desc.digest, size: desc.size });
  } catch (err) {
    // Another pull of the same blob finished while we waited for its ingest lock.
    if (err instanceof EngineError && err.kind === 'already-exists') return existing();
    throw err;
  }
  // A consumer that fails does not stop the download: its bytes were not verified yet, and a
  // blob that turns out not to be what the manifest says is the error to report (and to roll
  // back), whatever the corrupt bytes made the unpack say.
  const consuming = options.consume?.(writer.follow());
  consuming?.catch(() => {}); // observed below, after the download
  try {
    for (let attempt = 1; writer.offset < desc.size; attempt++) {
      try {
        await downloadInto(ctx, ref, desc, writer, options.signal, (current) =>
          report({ id, status: 'Downloading', current, total: desc.size }),
        );
      } catch (err) {
        const retryable = !(err instanceof EngineError) || err.kind === 'unavailable';
        if (!retryable || options.signal?.aborted || attempt > ctx.transport.retries) throw err;
        await ctx.transport.backoff(attempt, options.signal);
      }
    }
    report({ id, status: 'Verifying Checksum' });
    await writer.commit();
    options.onCommitted?.();
    report({ id, status: 'Download complete', current: desc.size, total: desc.size });
  } catch (err) {
    // Bytes that cannot be the blob are useless for a resume; anything else is kept for one.
    if (err instanceof EngineError && err.kind === 'invalid-argument' && !options.signal?.aborted) await writer.abort();
    else await writer.close();
    await consuming?.catch(() => {}); // its clean-up (a partial snapshot) must be done before we return
    throw err;
  }
  await consuming;
  return 'committed';
}

async function downloadInto(
  ctx: RegistryContext,
  ref: Reference,
  desc: Descriptor,
  writer: ContentWriter,
  signal: AbortSignal | undefined,
  onBytes: (current: number) => void,
): Promise<void> {
  const start = writer.offset;
  const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
  if (start > 0) headers['Range'] = `bytes=${start}-`;
  const res = await ctx.transport.request({
    method: 'GET',
    host: ref.domain,
    path: `/v2/${ref.path}/blobs/${desc.digest}`,
    headers,
    scopes: [pullScope(ref.path)],
    ...(signal ? { signal } : {}),
  });
  if (res.status === 206) {
    const range = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
    if (!range || Number(range[1]) !== start) {
      // A range we did not ask for: start over rather than splice mismatched bytes.
      await res.body?.cancel();
      await writer.truncate();
      throw new EngineError('unavailable', `fetch blob ${desc.digest}: registry answered an unexpected range`);
    }
  } else if (res.status === 200) {
    if (start > 0) await writer.truncate(); // the server ignored Range and sends everything
  } else if (res.status === 416 && start >= desc.size) {
    await res.body?.cancel();
    return;
  } else {
    throw await registryError(res, `fetch blob ${desc.digest}`);
  }
  if (!res.body) throw new EngineError('unavailable', `fetch blob ${desc.digest}: empty response`);
  let last = 0;
  onBytes(writer.offset);
  try {
    for await (const chunk of res.body) {
      try {
        await writer.write(chunk);
      } catch (err) {
        // the disk, not the network: say so (ENOSPC, EIO…) instead of a lost connection
        throw new EngineError('unavailable', `store blob ${desc.digest}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      const now = Date.now();
      if (now - last >= 100) {
        last = now;
        onBytes(writer.offset);
      }
    }
  } catch (err) {
    if (err instanceof EngineError) throw err;
    if (signal?.aborted) throw signal.reason ?? err;
    throw new EngineError('unavailable', `fetch blob ${desc.digest}: connection lost at byte ${writer.offset}`, { cause: err });
  }
  onBytes(writer.offset);
  if (writer.offset < desc.size) {
    throw new EngineError('unavailable', `fetch blob ${desc.digest}: connection closed at byte ${writer.offset} of ${desc.size}`);
  }
}
