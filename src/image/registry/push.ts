/**
 * Push (OCI distribution spec, "pushing"): blobs first (config, layers), then the manifest that
 * names them, then the tag; for an index, every child manifest before the index.
 *
 * Per blob, the cheapest way that works:
 *   1. HEAD /v2/<name>/blobs/<digest>                    → 200: the registry has it, done
 *   2. POST /v2/<name>/blobs/uploads/?mount=<d>&from=<r> → 201: linked from another repository
 *      of the same registry (no bytes sent); 202: mount refused, use the upload it opened
 *   3. POST /v2/<name>/blobs/uploads/ → 202 + Location, then either
 *      monolithic: PUT <location>?digest=<d> with the whole blob, or
 *      chunked:    PATCH <location> per chunk (Content-Range: start-end, inclusive; each answer
 *                  carries the next Location), then PUT <location>?digest=<d> with no body.
 */

import { Readable, Transform, type TransformCallback } from 'node:stream';
import { EngineError, notFound } from '../../util/errors.ts';
import { isDigest, type Descriptor, type Digest } from '../../oci/image-spec.ts';
import { shortDigest } from '../../content/index.ts';
import { familiar, parseReference, type Reference } from '../reference/index.ts';
import { parseManifest } from '../manifest/index.ts';
import { forEachLimit, type PushProgress } from './progress.ts';
import { pullScope, type RegistryContext } from './pull.ts';
import { registryError, RegistryError, type RegistryResponse } from './transport.ts';

export interface PushOptions {
  onProgress?: (event: PushProgress) => void;
  signal?: AbortSignal;
  /** Repositories on the same registry to try mounting blobs from (besides those seen in pulls). */
  mountFrom?: readonly string[];
  /** Blobs at least this big are uploaded in chunks (default 64 MiB). */
  chunkedThreshold?: number;
  /** Chunk size for chunked uploads (default 16 MiB). */
  chunkSize?: number;
}

export interface PushResult {
  reference: Reference;
  digest: Digest;
  size: number;
  mediaType: string;
}

export const DEFAULT_CHUNKED_THRESHOLD = 64 << 20;
export const DEFAULT_CHUNK_SIZE = 16 << 20;

function pushScope(path: string): string {
  return `repository:${path}:pull,push`;
}

export async function pushImage(
  ctx: RegistryContext,
  input: string | Reference,
  manifestDigest: Digest,
  options: PushOptions = {},
): Promise<PushResult> {
  const ref = typeof input === 'string' ? parseReference(input) : input;
  if (ref.digest !== undefined && ref.digest !== manifestDigest) {
    throw new EngineError('invalid-argument', `push ${familiar(ref)}: reference names ${ref.digest}, pushing ${manifestDigest}`);
  }
  const pushed = new Set<Digest>();

  const pushTree = async (digest: Digest, target: string): Promise<Descriptor> => {
    const bytes = await ctx.store.readBytes(digest);
    const parsed = parseManifest(bytes);
    if (parsed.kind === 'index') {
      for (const child of parsed.index.manifests) {
        if (!(await ctx.store.has(child.digest))) {
          throw notFound(`push ${familiar(ref)}: manifest ${child.digest} of index ${digest} is not in the content store`);
        }
        await pushTree(child.digest, child.digest);
      }
    } else {
      const { config, layers } = parsed.manifest;
      const report = options.onProgress ?? (() => {});
      for (const layer of layers) report({ id: shortDigest(layer.digest), status: 'Waiting' });
      await pushBlob(ctx, ref, config, { ...options, quiet: true });
      await forEachLimit(
        layers.filter((l) => !pushed.has(l.digest)),
        ctx.concurrency,
        async (layer) => {
          await pushBlob(ctx, ref, layer, options);
          pushed.add(layer.digest);
        },
      );
    }
    await putManifest(ctx, ref, target, bytes, parsed.mediaType, digest, options.signal);
    return { mediaType: parsed.mediaType, digest, size: bytes.length };
  };

  const top = await pushTree(manifestDigest, ref.tag ?? manifestDigest);
  return { reference: ref, digest: top.digest, size: top.size, mediaType: top.mediaType };
}

async function putManifest(
  ctx: RegistryContext,
  ref: Reference,
  target: string,
  bytes: Buffer,
  mediaType: string,
  digest: Digest,
  signal: AbortSignal | undefined,
): Promise<void> {
  const res = await ctx.transport.request({
    method: 'PUT',
    host: ref.domain,
    path: `/v2/${ref.path}/manifests/${target}`,
    headers: { 'Content-Type': mediaType },
    body: () => bytes,
    scopes: [pushScope(ref.path)],
    ...(signal ? { signal } : {}),
  });
  if (res.status !== 201 && res.status !== 200) throw await registryError(res, `push manifest ${ref.domain}/${ref.path}:${target}`);
  await res.body?.cancel();
  const echoed = res.headers.get('docker-content-digest');
  if (echoed && isDigest(echoed) && echoed !== digest) {
    throw new EngineError('internal', `push manifest ${ref.domain}/${ref.path}:${target}: registry stored ${echoed}, expected ${digest}`);
  }
  ctx.sources.add(digest, ref.domain, ref.path);
}

interface PushBlobOptions extends PushOptions {
  /** No progress events (the config blob, which docker does not show either). */
  quiet?: boolean;
}

export async function pushBlob(ctx: RegistryContext, ref: Reference, desc: Descriptor, options: PushBlobOptions = {}): Promise<'exists' | 'mounted' | 'pushed'> {
  const id = shortDigest(desc.digest);
  const report = options.quiet ? () => {} : (options.onProgress ?? (() => {}));
  const signal = options.signal;
  const base = { host: ref.domain, ...(signal ? { signal } : {}) };
  const head = await ctx.transport.request({ ...base, method: 'HEAD', path: `/v2/${ref.path}/blobs/${desc.digest}`, scopes: [pushScope(ref.path)] });
  await head.body?.cancel();
  if (head.status === 200) {
    report({ id, status: 'Layer already exists' });
    ctx.sources.add(desc.digest, ref.domain, ref.path);
    return 'exists';
  }
  if (head.status !== 404) throw await registryError(head, `check blob ${desc.digest} in ${ref.domain}/${ref.path}`);

  let location: string | undefined;
  const candidates = [...new Set([...(options.mountFrom ?? []), ...ctx.sources.on(desc.digest, ref.domain, ref.path)])].filter((r) => r !== ref.path);
  for (const from of candidates) {
    const mount = await ctx.transport.request({
      ...base,
      method: 'POST',
      path: `/v2/${ref.path}/blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`,
      headers: { 'Content-Length': '0' },
      scopes: [pushScope(ref.path), pullScope(from)],
    });
    await mount.body?.cancel();
    if (mount.status === 201) {
      report({ id, status: 'Mounted', from });
      ctx.sources.add(desc.digest, ref.domain, ref.path);
      return 'mounted';
    }
    if (mount.status === 202 && mount.headers.get('location')) {
      location = mount.headers.get('location')!;
      break;
    }
    // Anything else (no pull access to `from`, mount unsupported): try the next, then upload.
  }
  if (!location) location = await startUpload(ctx, ref, signal);

  const threshold = options.chunkedThreshold ?? DEFAULT_CHUNKED_THRESHOLD;
  report({ id, status: 'Pushing', current: 0, total: desc.size });
  if (desc.size >= threshold) {
    await uploadChunked(ctx, ref, desc, location, options.chunkSize ?? DEFAULT_CHUNK_SIZE, signal, (current) =>
      report({ id, status: 'Pushing', current, total: desc.size }),
    );
  } else {
    await uploadMonolithic(ctx, ref, desc, location, signal, (current) => report({ id, status: 'Pushing', current, total: desc.size }));
  }
  report({ id, status: 'Pushed', current: desc.size, total: desc.size });
  ctx.sources.add(desc.digest, ref.domain, ref.path);
  return 'pushed';
}

async function startUpload(ctx: RegistryContext, ref: Reference, signal: AbortSignal | undefined): Promise<string> {
  const res = await ctx.transport.request({
    host: ref.domain,
    method: 'POST',
    path: `/v2/${ref.path}/blobs/uploads/`,
    headers: { 'Content-Length': '0' },
    scopes: [pushScope(ref.path)],
    ...(signal ? { signal } : {}),
  });
  const location = res.headers.get('location');
  if (res.status !== 202 || !location) throw await registryError(res, `start upload to ${ref.domain}/${ref.path}`);
  await res.body?.cancel();
  return location;
}

function withDigestParam(ctx: RegistryContext, ref: Reference, location: string, digest: Digest): string {
  const url = new URL(location, ctx.transport.endpoint(ref.domain));
  url.searchParams.set('digest', digest);
  return url.toString();
}

async function finishUpload(res: RegistryResponse, ref: Reference, desc: Descriptor): Promise<void> {
  if (res.status !== 201) throw await registryError(res, `upload blob ${desc.digest} to ${ref.domain}/${ref.path}`);
  await res.body?.cancel();
  const echoed = res.headers.get('docker-content-digest');
  if (echoed && isDigest(echoed) && echoed !== desc.digest) {
    throw new RegistryError('internal', `upload blob ${desc.digest} to ${ref.domain}/${ref.path}: registry stored ${echoed}`, res.status);
  }
}

async function uploadMonolithic(
  ctx: RegistryContext,
  ref: Reference,
  desc: Descriptor,
  location: string,
  signal: AbortSignal | undefined,
  onBytes: (current: number) => void,
): Promise<void> {
  // Opened before the request so a missing blob fails here, not inside fetch.
  let first: Readable | undefined = await ctx.store.readStream(desc.digest);
  const res = await ctx.transport.request({
    host: ref.domain,
    method: 'PUT',
    path: withDigestParam(ctx, ref, location, desc.digest),
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(desc.size) },
    body: () => {
      // Retries need a fresh stream; the store opens files lazily enough for a sync factory.
      const stream = first ?? Readable.from(lazyBlob(ctx, desc.digest));
      first = undefined;
      return Readable.toWeb(stream.pipe(new CountingTransform(onBytes))) as unknown as ReadableStream<Uint8Array>;
    },
    scopes: [pushScope(ref.path)],
    ...(signal ? { signal } : {}),
  });
  await finishUpload(res, ref, desc);
}

async function* lazyBlob(ctx: RegistryContext, digest: Digest): AsyncGenerator<Buffer> {
  for await (const chunk of await ctx.store.readStream(digest)) yield chunk as Buffer;
}

async function uploadChunked(
  ctx: RegistryContext,
  ref: Reference,
  desc: Descriptor,
  firstLocation: string,
  chunkSize: number,
  signal: AbortSignal | undefined,
  onBytes: (current: number) => void,
): Promise<void> {
  let location = firstLocation;
  let offset = 0;
  for await (const chunk of chunksOf(await ctx.store.readStream(desc.digest), chunkSize)) {
    const end = offset + chunk.length - 1;
    const res = await ctx.transport.request({
      host: ref.domain,
      method: 'PATCH',
      path: new URL(location, ctx.transport.endpoint(ref.domain)).toString(),
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Range': `${offset}-${end}`,
        'Content-Length': String(chunk.length),
      },
      body: () => chunk,
      scopes: [pushScope(ref.path)],
      ...(signal ? { signal } : {}),
    });
    const next = res.headers.get('location');
    if (res.status !== 202 || !next) throw await registryError(res, `upload chunk ${offset}-${end} of ${desc.digest} to ${ref.domain}/${ref.path}`);
    await res.body?.cancel();
    location = next;
    offset = end + 1;
    onBytes(offset);
  }
  const res = await ctx.transport.request({
    host: ref.domain,
    method: 'PUT',
    path: withDigestParam(ctx, ref, location, desc.digest),
    headers: { 'Content-Length': '0' },
    scopes: [pushScope(ref.path)],
    ...(signal ? { signal } : {}),
  });
  await finishUpload(res, ref, desc);
}

async function* chunksOf(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const data of stream) {
    parts.push(data as Buffer);
    length += (data as Buffer).length;
    while (length >= size) {
      const all = Buffer.concat(parts);
      yield all.subarray(0, size);
      parts = [all.subarray(size)];
      length -= size;
    }
  }
  if (length > 0) yield Buffer.concat(parts);
}

class CountingTransform extends Transform {
  #count = 0;
  #last = 0;
  #onBytes: (current: number) => void;

  constructor(onBytes: (current: number) => void) {
    super();
    this.#onBytes = onBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#count += chunk.length;
    const now = Date.now();
    if (now - this.#last >= 100) {
      this.#last = now;
      this.#onBytes(this.#count);
    }
    callback(null, chunk);
  }
}
