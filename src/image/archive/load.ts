/**
 * `docker load`: reads an image archive stream and stores its blobs. Two formats, told apart by
 * their files, not their names: an OCI layout (`oci-layout` + `index.json` + `blobs/`, as
 * `docker save` ≥ 25, containerd and skopeo's oci-archive write) and the older docker-archive
 * (`manifest.json` + per-layer tars, possibly symlinks, as skopeo and docker < 25 write).
 * When a tar holds both, the OCI index wins: its manifests are stored verbatim, so save → load
 * keeps every digest. A docker-archive has no manifest blob; one is synthesised in OCI form,
 * layers referenced as stored (uncompressed, `<diffid>.tar`), so their digests equal the diffIDs.
 *
 * The archive is read once, front to back: blobs stream into the sink as they come, small JSON
 * files are kept in memory because manifest.json may come last.
 */

import { posix } from 'node:path';
import type { Descriptor, Digest, ImageConfig, Index, Manifest } from '../../oci/image-spec.ts';
import { isDigest, isIndexMediaType, MediaType } from '../../oci/image-spec.ts';
import { invalidArgument } from '../../util/errors.ts';
import { readTar } from '../../snapshot/index.ts';
import type { BlobSink } from '../unpack/index.ts';
import { decompress, detectCompression } from '../unpack/index.ts';
import type { Compression } from '../unpack/index.ts';

export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

export interface LoadedImage {
  /** the name the archive gives the image, as written (the caller normalises it) */
  name?: string;
  manifest: Descriptor;
}

interface StoredFile {
  digest: Digest;
  size: number;
  compression: Compression;
  /** the content, for files small enough to be JSON metadata */
  bytes?: Buffer;
}

interface DockerArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

const METADATA_FILES = new Set(['manifest.json', 'repositories', 'index.json', 'oci-layout']);
const KEEP_IN_MEMORY = 1024 * 1024;
const LEGACY_V1_FILE = /^[0-9a-f]{64}\/(json|VERSION)$/;

function cleanPath(name: string): string {
  return posix.normalize(`/${name}`).slice(1).replace(/\/$/, '');
}

async function collect(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk);
  return Buffer.concat(parts);
}

function parseJson<T>(bytes: Buffer | undefined, what: string): T {
  if (bytes === undefined) throw invalidArgument(`load archive: ${what} is missing`);
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw invalidArgument(`load archive: ${what} is not valid JSON`, err);
  }
}

function layerMediaType(compression: Compression): string {
  return compression === 'gzip' ? MediaType.ociLayerGzip : compression === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
}

/** Loads every image of an archive (optionally gzip/zstd-compressed) into `sink`. */
export async function loadArchive(archive: AsyncIterable<Uint8Array>, sink: BlobSink, options: { signal?: AbortSignal } = {}): Promise<LoadedImage[]> {
  const { stream } = await decompress(archive);
  const metadata = new Map<string, Buffer>();
  const files = new Map<string, StoredFile>();
  const links = new Map<string, string>();

  for await (const { header, body } of readTar(stream)) {
    options.signal?.throwIfAborted();
    const name = cleanPath(header.name);
    if (header.type === 'symlink') {
      links.set(name, cleanPath(posix.join(posix.dirname(name), header.linkname)));
      continue;
    }
    if (header.type === 'link') {
      links.set(name, cleanPath(header.linkname));
      continue;
    }
    if (header.type !== 'file') continue;
    if (METADATA_FILES.has(name)) {
      metadata.set(name, await collect(body));
      continue;
    }
    if (LEGACY_V1_FILE.test(name)) continue; // docker's v1 compatibility files: nothing reads them
    const match = /^blobs\/(sha256|sha512)\/([0-9a-f]+)$/.exec(name);
    const expected = match ? `${match[1]}:${match[2]}` : undefined;
    if (expected !== undefined && !isDigest(expected)) throw invalidArgument(`load archive: blob ${JSON.stringify(name)} is not named by a digest`);
    let head: Buffer | undefined;
    const kept: Buffer[] = [];
    let keptSize = 0;
    async function* tee(): AsyncGenerator<Buffer> {
      for await (const chunk of body) {
        head ??= chunk.subarray(0, 4);
        if (keptSize + chunk.length <= KEEP_IN_MEMORY) kept.push(chunk);
        keptSize += chunk.length;
        yield chunk;
      }
    }
    const put = await sink.put(tee(), { ...(expected ? { digest: expected as Digest } : {}), size: header.size });
    files.set(name, {
      ...put,
      compression: detectCompression(head ?? Buffer.alloc(0)),
      ...(keptSize <= KEEP_IN_MEMORY ? { bytes: Buffer.concat(kept) } : {}),
    });
  }

  function resolve(path: string): StoredFile {
    let current = cleanPath(path);
    for (let hops = 0; hops < 40 && !files.has(current); hops++) {
      const next = links.get(current);
      if (next === undefined) break;
      current = next;
    }
    const file = files.get(current);
    if (file === undefined) throw invalidArgument(`load archive: ${JSON.stringify(path)} is not in the archive`);
    return file;
  }

  if (metadata.has('index.json') && metadata.has('oci-layout')) return loadOciLayout(metadata, files, resolve, sink);
  if (metadata.has('manifest.json')) return loadDockerArchive(metadata, resolve, sink);
  throw invalidArgument('load archive: neither an OCI layout (oci-layout, index.json) nor a docker archive (manifest.json)');
}

async function loadOciLayout(
  metadata: Map<string, Buffer>,
  files: Map<string, StoredFile>,
  resolve: (path: string) => StoredFile,
  sink: BlobSink,
): Promise<LoadedImage[]> {
  const layout = parseJson<{ imageLayoutVersion?: string }>(metadata.get('oci-layout'), 'oci-layout');
  if (layout.imageLayoutVersion !== '1.0.0') throw invalidArgument(`load archive: unsupported image layout version ${JSON.stringify(layout.imageLayoutVersion)}`);
  const index = parseJson<Index>(metadata.get('index.json'), 'index.json');
  const blobPath = (digest: Digest): string => `blobs/${digest.replace(':', '/')}`;

  // Every blob a manifest names must be in the archive or already stored.
  async function check(desc: Descriptor, depth: number): Promise<Buffer | undefined> {
    if (depth > 8) throw invalidArgument('load archive: index nesting too deep');
    const file = files.get(blobPath(desc.digest));
    if (file === undefined && !(await sink.has(desc.digest))) throw invalidArgument(`load archive: blob ${desc.digest} is missing`);
    const isManifest = desc.mediaType === MediaType.ociManifest || desc.mediaType === MediaType.dockerManifest;
    if (!isIndexMediaType(desc.mediaType) && !isManifest) return undefined;
    if (file?.bytes === undefined) return undefined; // stored earlier: it was checked then
    if (isIndexMediaType(desc.mediaType)) {
      for (const child of parseJson<Index>(file.bytes, `index ${desc.digest}`).manifests) await check(child, depth + 1);
    } else {
      const manifest = parseJson<Manifest>(file.bytes, `manifest ${desc.digest}`);
      for (const child of [manifest.config, ...manifest.layers]) {
        if (!files.has(blobPath(child.digest)) && !(await sink.has(child.digest)) && !(child.urls?.length)) throw invalidArgument(`load archive: blob ${child.digest} of manifest ${desc.digest} is missing`);
      }
      return file.bytes;
    }
    return undefined;
  }

  // docker save ≥ 25 names images in both files; use manifest.json's RepoTags for unnamed entries.
  const repoTags = new Map<string, string[]>();
  if (metadata.has('manifest.json')) {
    for (const entry of parseJson<DockerArchiveEntry[]>(metadata.get('manifest.json'), 'manifest.json')) {
      repoTags.set(resolve(entry.Config).digest, entry.RepoTags ?? []);
    }
  }

  const images: LoadedImage[] = [];
  for (const desc of index.manifests) {
    const manifestBytes = await check(desc, 0);
    const name = desc.annotations?.[ANNOTATION_IMAGE_NAME] ?? desc.annotations?.[ANNOTATION_REF_NAME];
    if (name !== undefined) {
      images.push({ name, manifest: desc });
      continue;
    }
    const configDigest = manifestBytes ? parseJson<Manifest>(manifestBytes, 'manifest').config.digest : undefined;
    const tags = configDigest ? (repoTags.get(configDigest) ?? []) : [];
    if (tags.length === 0) images.push({ manifest: desc });
    for (const tag of tags) images.push({ name: tag, manifest: desc });
  }
  return images;
}

async function loadDockerArchive(metadata: Map<string, Buffer>, resolve: (path: string) => StoredFile, sink: BlobSink): Promise<LoadedImage[]> {
  const entries = parseJson<DockerArchiveEntry[]>(metadata.get('manifest.json'), 'manifest.json');
  if (!Array.isArray(entries)) throw invalidArgument('load archive: manifest.json is not a list');
  const images: LoadedImage[] = [];
  for (const entry of entries) {
    const configFile = resolve(entry.Config);
    const config = parseJson<ImageConfig>(configFile.bytes, `config ${entry.Config}`);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== entry.Layers.length) {
      throw invalidArgument(`load archive: ${entry.Config} lists ${diffIds.length} diff_ids for ${entry.Layers.length} layers`);
    }
    const layers = entry.Layers.map((path, i) => {
      const layer = resolve(path);
      if (layer.compression === 'none' && layer.digest !== diffIds[i]) {
        throw invalidArgument(`load archive: layer ${path} has digest ${layer.digest}, the config says ${diffIds[i]}`);
      }
      return { mediaType: layerMediaType(layer.compression), digest: layer.digest, size: layer.size };
    });
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configFile.digest, size: configFile.size },
      layers,
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const put = await sink.put(bytes);
    const desc: Descriptor = { mediaType: MediaType.ociManifest, digest: put.digest, size: put.size };
    const tags = entry.RepoTags ?? [];
    if (tags.length === 0) images.push({ manifest: desc });
    for (const name of tags) images.push({ name, manifest: desc });
  }
  return images;
}
