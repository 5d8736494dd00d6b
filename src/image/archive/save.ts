/**
 * `docker save`: writes images as one tar stream. 'oci-archive' is an OCI image layout;
 * 'docker-archive' is what docker ≥ 25 writes — the same OCI layout plus a `manifest.json`
 * pointing into `blobs/`, which docker (old and new), podman and skopeo all load. Blobs are
 * written as stored, never recompressed, so loading the archive gives back the same digests.
 * Output is deterministic: fixed mtimes, blobs in first-use order.
 */

import { Readable } from 'node:stream';
import type { Descriptor, Digest, Index, Manifest } from '../../oci/image-spec.ts';
import { isIndexMediaType, MediaType } from '../../oci/image-spec.ts';
import { invalidArgument } from '../../util/errors.ts';
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from '../../snapshot/index.ts';
import type { BlobSource } from '../unpack/index.ts';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME } from './load.ts';

export type ArchiveFormat = 'docker-archive' | 'oci-archive';

export interface SaveImage {
  /** full reference (`docker.io/library/busybox:latest`); omitted for an image saved by id */
  name?: string;
  manifest: Descriptor;
}

async function readAll(source: BlobSource, digest: Digest): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of await source.readStream(digest)) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

function blobPath(digest: Digest): string {
  return `blobs/${digest.replace(':', '/')}`;
}

/** The tag of a reference, for org.opencontainers.image.ref.name (`…/busybox:1.35` → `1.35`). */
function tagOf(name: string): string | undefined {
  const withoutDigest = name.split('@')[0] ?? name;
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(colon + 1) : undefined;
}

function fileEntry(name: string, data: Buffer): Buffer[] {
  return [encodeTarHeader({ name, type: 'file', size: data.length, mode: 0o644 }), data, tarPadding(data.length)];
}

async function* saveEntries(images: SaveImage[], source: BlobSource, format: ArchiveFormat): AsyncGenerator<Buffer> {
  if (images.length === 0) throw invalidArgument('save images: no images given');
  const blobs = new Map<Digest, number>();
  const dockerEntries: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  const byManifest = new Map<Digest, { Config: string; RepoTags: string[]; Layers: string[] }>();

  // Walk every manifest first: the blob list and manifest.json need them, and they are small.
  async function visit(desc: Descriptor, depth: number): Promise<Manifest | undefined> {
    if (depth > 8) throw invalidArgument('save images: index nesting too deep');
    blobs.set(desc.digest, desc.size);
    if (isIndexMediaType(desc.mediaType)) {
      const index = JSON.parse((await readAll(source, desc.digest)).toString('utf8')) as Index;
      let first: Manifest | undefined;
      for (const child of index.manifests) {
        const manifest = await visit(child, depth + 1);
        const platform = child.platform;
        const native = platform?.os === 'linux' && platform.architecture === (process.arch === 'x64' ? 'amd64' : process.arch);
        if (manifest && (first === undefined || native)) first = manifest;
      }
      return first;
    }
    if (desc.mediaType !== MediaType.ociManifest && desc.mediaType !== MediaType.dockerManifest) return undefined;
    const manifest = JSON.parse((await readAll(source, desc.digest)).toString('utf8')) as Manifest;
    blobs.set(manifest.config.digest, manifest.config.size);
    for (const layer of manifest.layers) if (!layer.urls?.length) blobs.set(layer.digest, layer.size);
    return manifest;
  }

  const indexEntries: Descriptor[] = [];
  for (const image of images) {
    const manifest = await visit(image.manifest, 0);
    // names come from `image.name` alone, never from wherever the descriptor was loaded
    const { [ANNOTATION_IMAGE_NAME]: _name, [ANNOTATION_REF_NAME]: _ref, ...annotations } = image.manifest.annotations ?? {};
    if (image.name !== undefined) {
      annotations[ANNOTATION_IMAGE_NAME] = image.name;
      const tag = tagOf(image.name);
      if (tag !== undefined) annotations[ANNOTATION_REF_NAME] = tag;
    }
    indexEntries.push({ ...image.manifest, ...(Object.keys(annotations).length > 0 ? { annotations } : {}) });
    if (manifest === undefined) continue;
    let entry = byManifest.get(manifest.config.digest);
    if (entry === undefined) {
      entry = { Config: blobPath(manifest.config.digest), RepoTags: [], Layers: manifest.layers.map((l) => blobPath(l.digest)) };
      byManifest.set(manifest.config.digest, entry);
      dockerEntries.push(entry);
    }
    if (image.name !== undefined && !entry.RepoTags.includes(image.name)) entry.RepoTags.push(image.name);
  }

  yield* fileEntry('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  yield encodeTarHeader({ name: 'blobs/', type: 'dir', mode: 0o755 });
  const algorithms = new Set([...blobs.keys()].map((d) => d.split(':')[0]));
  for (const algorithm of algorithms) yield encodeTarHeader({ name: `blobs/${algorithm}/`, type: 'dir', mode: 0o755 });
  for (const [digest, size] of blobs) {
    yield encodeTarHeader({ name: blobPath(digest), type: 'file', size, mode: 0o644 });
    let written = 0;
    for await (const chunk of await source.readStream(digest)) {
      written += chunk.byteLength;
      if (written > size) break;
      yield Buffer.from(chunk);
    }
    if (written !== size) throw invalidArgument(`save images: blob ${digest} has ${written > size ? 'more' : 'fewer'} bytes than its descriptor's ${size}`);
    yield tarPadding(size);
  }
  const index: Index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: indexEntries };
  yield* fileEntry('index.json', Buffer.from(JSON.stringify(index)));
  if (format === 'docker-archive') yield* fileEntry('manifest.json', Buffer.from(JSON.stringify(dockerEntries)));
  yield END_OF_ARCHIVE;
}

/** The archive of `images` as a stream; blobs are read from `source` as the stream is consumed. */
export function saveArchive(images: SaveImage[], source: BlobSource, options: { format: ArchiveFormat }): Readable {
  return Readable.from(saveEntries(images, source, options.format), { objectMode: false });
}
