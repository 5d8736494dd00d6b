/**
 * The image service: names → images on top of the content store (blobs) and the snapshotter
 * (unpacked layers). Every image it records is complete and unpacked, ready to run: a pull,
 * load or import stores blobs, unpacks each missing layer stack (by chainID, so images sharing
 * a base share its snapshots) and only then binds the name. Removing the last name of an image
 * deletes it, and what nothing else references (blobs, snapshots) goes with it.
 *
 * An image's identity is its config digest (docker's image ID). A name points at a manifest or
 * an index (then the platform manifest chosen at pull time is recorded beside it).
 */

import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { MediaType, isIndexMediaType, type Descriptor, type Digest, type HistoryEntry, type ImageConfig, type ImageRunConfig, type Index, type Manifest } from '../../oci/image-spec.ts';
import { EngineError, conflict, invalidArgument, notFound } from '../../util/errors.ts';
import { LocalContentStore, shortDigest, type ContentStore, type Lease } from '../../content/index.ts';
import { OverlaySnapshotter, type Snapshotter } from '../../snapshot/index.ts';
import { familiar, familiarName, formatReference, parseReference, repositoryName, type Reference } from '../reference/index.ts';
import { chainIds, defaultPlatform, parseManifest, parsePlatform, selectManifest, type PlatformSpec } from '../manifest/index.ts';
import { RegistryClient, type CredentialStore, type PushProgress, type PushResult } from '../registry/index.ts';
import { LayerUnpacker } from '../unpack/index.ts';
import { importRootfs, loadArchive, saveArchive, type ArchiveFormat, type SaveImage } from '../archive/index.ts';
import { ContentBlobStore } from './blob-sink.ts';
import { labelsAllowed, matchesReference, prunableImage } from './filters.ts';
import { acquireLockFile } from './lock-file.ts';
import { RecordFile } from './records.ts';
import type { DeleteItem, DiskUsage, HistoryItem, ImageInspect, ImageRecord, ImageSummary, ListFilters, PruneFilters, PruneReport } from './types.ts';

export const DEFAULT_DATA_ROOT = '/var/lib/berth';

/** Pull progress: the registry's per-layer events plus extraction (docker's statuses). */
export interface ImageProgress {
  id: string;
  status: string;
  current?: number;
  total?: number;
}

export interface ImageStoreOptions {
  /** data root: content/, snapshots/, images/ live under it (default /var/lib/berth) */
  root?: string;
  insecureRegistries?: readonly string[];
  credentials?: CredentialStore;
  /** answers whether a container uses the image (containers come later; default: none do) */
  isInUse?: (imageId: Digest) => boolean | Promise<boolean>;
  /**
   * Hold the data root for this process until `close()`. Until the daemon owns the data root,
   * every `berth` process opens it in-process, and the snapshotter's metadata (read once at
   * open, which also clears what it does not know) tolerates one process at a time.
   */
  exclusive?: boolean | { onWait?: (ownerPid: number | undefined) => void; timeoutMs?: number };
}

export interface PullImageResult {
  reference: Reference;
  /** what the name now points at (index or manifest) */
  digest: Digest;
  id: Digest;
  /** false when the name already pointed at this digest */
  updated: boolean;
}

export interface LoadResult {
  /** familiar names, or the ID of an image loaded without a name */
  name?: string;
  id: Digest;
}

/** An image as the store sees it: its records and what they resolve to. */
interface Image {
  id: Digest;
  records: ImageRecord[];
  target: Descriptor;
  manifestDesc: Descriptor;
  manifest: Manifest;
  config: ImageConfig;
  chain: Digest[];
}

const ID_RE = /^(sha256:)?[0-9a-f]{1,64}$/;
/** two per image: a few hundred images before the oldest is read again */
const PARSED_CACHE_LIMIT = 512;

export class ImageStore {
  readonly root: string;
  readonly content: ContentStore;
  readonly snapshotter: Snapshotter;
  readonly registry: RegistryClient;
  #records: RecordFile;
  #isInUse: (imageId: Digest) => boolean | Promise<boolean>;
  #usage = new Map<string, number>();
  /** parsed manifests and configs by digest: content-addressed, so never stale */
  #parsed = new Map<Digest, Promise<unknown>>();
  #release: () => Promise<void>;

  private constructor(root: string, content: ContentStore, snapshotter: Snapshotter, options: ImageStoreOptions, release: () => Promise<void>) {
    this.root = root;
    this.#release = release;
    this.content = content;
    this.snapshotter = snapshotter;
    this.#records = new RecordFile(join(root, 'images'));
    this.#isInUse = options.isInUse ?? (() => false);
    this.registry = new RegistryClient(content, {
      ...(options.insecureRegistries ? { insecureRegistries: options.insecureRegistries } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
  }

  static async open(options: ImageStoreOptions = {}): Promise<ImageStore> {
    const root = options.root ?? DEFAULT_DATA_ROOT;
    let release = async (): Promise<void> => {};
    if (options.exclusive) {
      await mkdir(root, { recursive: true, mode: 0o711 });
      const lock = typeof options.exclusive === 'object' ? options.exclusive : {};
      release = await acquireLockFile(join(root, 'berth.lock'), { timeoutMs: lock.timeoutMs ?? 30 * 60_000, ...(lock.onWait ? { onWait: lock.onWait } : {}) });
      // spool files of a process that died mid-load: nobody else can be using them now
      await rm(join(root, 'tmp'), { recursive: true, force: true });
    }
    try {
      const content = new LocalContentStore(join(root, 'content'));
      const snapshotter = await OverlaySnapshotter.open(join(root, 'snapshots'));
      return new ImageStore(root, content, snapshotter, options, release);
    } catch (err) {
      await release();
      throw err;
    }
  }

  /** Lets another process open the data root (see `exclusive`). */
  close(): Promise<void> {
    return this.#release();
  }

  #sink(lease?: Lease): ContentBlobStore {
    return new ContentBlobStore(this.content, join(this.root, 'tmp'), lease);
  }

  // ---- pull, push --------------------------------------------------------------------------

  async pull(input: string, options: { platform?: string | PlatformSpec; onProgress?: (event: ImageProgress) => void; signal?: AbortSignal } = {}): Promise<PullImageResult> {
    const ref = parseReference(input);
    const lease = this.content.lease();
    const report = options.onProgress ?? (() => {});
    // Extraction progress is shown once a layer's download is complete, as docker shows it,
    // although the layer is unpacked while it downloads; and `Pull complete` comes after
    // `Download complete`, although the unpack may finish while the blob is still being synced.
    const downloaded = new Set<string>();
    const completeLater = new Set<string>();
    const unpackReport = (event: ImageProgress): void => {
      if (event.status === 'Pull complete' && !downloaded.has(event.id)) completeLater.add(event.id);
      else report(event);
    };
    let unpacker: LayerUnpacker | undefined;
    try {
      const result = await this.registry.pull(ref, {
        lease,
        ...(options.platform !== undefined ? { platform: options.platform } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (event) => {
          report(event);
          if (event.status === 'Download complete' || event.status === 'Already exists') {
            downloaded.add(event.id);
            if (completeLater.delete(event.id)) report({ id: event.id, status: 'Pull complete' });
          }
        },
        layerConsumer: async ({ manifest, config }) => {
          const layers = this.#unpacker(manifest, await this.content.readJson<ImageConfig>(config.digest), { ...options, onProgress: unpackReport });
          unpacker = layers;
          return (layer, index, bytes) => layers.unpack(index, extracting(layer, bytes, report, downloaded), layer.digest);
        },
      });
      if (unpacker === undefined) throw new EngineError('internal', `pull ${familiar(ref)}: the layers were never unpacked`);
      await unpacker.top();
      const target: Descriptor = result.index ?? result.manifest;
      const previous = await this.#bind(formatReference(ref), target, result.manifest);
      const same = previous?.target.digest === target.digest && previous.manifest.digest === result.manifest.digest;
      return { reference: ref, digest: target.digest, id: result.config.digest, updated: !same };
    } finally {
      lease.release();
    }
  }

  /** Pushes a named image; returns the digest the registry now holds for the tag. */
  async push(input: string, options: { onProgress?: (event: PushProgress) => void; signal?: AbortSignal } = {}): Promise<PushResult> {
    const ref = parseReference(input);
    const name = formatReference(ref);
    const record = (await this.#records.read()).find((r) => r.name === name);
    if (!record) throw notFound(`no such image: ${familiar(ref)}`);
    // An index whose other platforms were never pulled cannot be pushed whole: push the manifest we have.
    const digest = (await this.#complete(record.target)) ? record.target.digest : record.manifest.digest;
    return this.registry.push(ref, digest, options);
  }

  async #complete(desc: Descriptor): Promise<boolean> {
    if (!isIndexMediaType(desc.mediaType)) return true;
    const index = await this.content.readJson<Index>(desc.digest);
    for (const child of index.manifests) if (!(await this.content.has(child.digest))) return false;
    return true;
  }

  /** Unpacks each layer stack that has no snapshot yet from the store, reporting docker's extraction statuses. */
  async #unpack(manifest: Manifest, config: ImageConfig, options: { onProgress?: (event: ImageProgress) => void; signal?: AbortSignal } = {}): Promise<Digest> {
    const unpacker = this.#unpacker(manifest, config, options);
    const report = options.onProgress ?? (() => {});
    for (const [i, desc] of manifest.layers.entries()) {
      await unpacker.unpack(i, extracting(desc, storedBlob(this.content, desc.digest), report), desc.digest);
    }
    return unpacker.top();
  }

  /** An unpacker for the image's layers (chainID snapshots), reporting `Pull complete` per layer. */
  #unpacker(manifest: Manifest, config: ImageConfig, options: { onProgress?: (event: ImageProgress) => void; signal?: AbortSignal }): LayerUnpacker {
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) {
      throw invalidArgument(`unpack image: manifest has ${manifest.layers.length} layers but config has ${diffIds.length} diff_ids`);
    }
    const report = options.onProgress ?? (() => {});
    return new LayerUnpacker(this.snapshotter, diffIds, {
      ...(options.signal ? { signal: options.signal } : {}),
      onLayerDone: (i) => report({ id: shortDigest(manifest.layers[i]!.digest), status: 'Pull complete' }),
    });
  }

  /**
   * Points `name` at an image (or records a dangling one when `name` is undefined). An image
   * that loses its last name this way stays, dangling, as docker keeps it. Returns the digest
   * what the name pointed at before.
   */
  async #bind(name: string | undefined, target: Descriptor, manifest: Descriptor): Promise<ImageRecord | undefined> {
    if (name !== undefined) {
      // Already bound so (a pull of an image that is up to date): nothing to rewrite. The file
      // is only ever replaced whole, so reading it without the lock sees a consistent list.
      const current = (await this.#records.read()).find((r) => r.name === name);
      if (current?.target.digest === target.digest && current.manifest.digest === manifest.digest) return current;
    }
    const configOf = await this.#configDigests();
    const newId = await configOf(manifest.digest);
    return this.#records.update(async (records) => {
      const now = new Date().toISOString();
      const previous = name === undefined ? undefined : records.find((r) => r.name === name);
      let out = records.filter((r) => r !== previous);
      const ids = await Promise.all(out.map((r) => configOf(r.manifest.digest)));
      // an image that is already recorded needs no dangling record, named or not
      if (name === undefined && ids.includes(newId)) return { records, result: undefined };
      // and once it has a name, it no longer needs its dangling record
      out = out.filter((r, i) => !(r.name === undefined && ids[i] === newId));
      // the same index pulled for another platform is another image
      const sameName = previous?.target.digest === target.digest && previous.manifest.digest === manifest.digest;
      out.push({
        ...(name !== undefined ? { name } : {}),
        target,
        manifest,
        created: sameName ? previous!.created : now,
        updated: now,
      });
      if (previous && !sameName) {
        const oldId = await configOf(previous.manifest.digest);
        const stillNamed = (await Promise.all(out.map((r) => configOf(r.manifest.digest)))).includes(oldId);
        if (!stillNamed) out.push({ target: previous.target, manifest: previous.manifest, created: previous.created, updated: now });
      }
      return { records: out, result: previous };
    });
  }

  /** manifest digest → config digest, memoised for one operation. */
  async #configDigests(): Promise<(manifest: Digest) => Promise<Digest>> {
    const memo = new Map<Digest, Promise<Digest>>();
    return (manifest) => {
      let p = memo.get(manifest);
      if (!p) memo.set(manifest, (p = this.content.readJson<Manifest>(manifest).then((m) => m.config.digest)));
      return p;
    };
  }

  // ---- lookup ------------------------------------------------------------------------------

  /** A manifest or config of a recorded image, read and verified once per daemon. */
  #readJson<T>(digest: Digest): Promise<T> {
    let parsed = this.#parsed.get(digest) as Promise<T> | undefined;
    if (parsed === undefined) {
      parsed = this.content.readJson<T>(digest);
      // a failed read (a blob removed meanwhile) is not remembered
      parsed.catch(() => this.#parsed.delete(digest));
      if (this.#parsed.size >= PARSED_CACHE_LIMIT) this.#parsed.delete(this.#parsed.keys().next().value!);
      this.#parsed.set(digest, parsed);
    }
    return parsed;
  }

  async #images(): Promise<Image[]> {
    const records = await this.#records.read();
    const byId = new Map<Digest, Image>();
    const manifests = new Map<Digest, Promise<{ manifest: Manifest; config: ImageConfig }>>();
    for (const record of records) {
      let loaded = manifests.get(record.manifest.digest);
      if (!loaded) {
        loaded = (async () => {
          const manifest = await this.#readJson<Manifest>(record.manifest.digest);
          return { manifest, config: await this.#readJson<ImageConfig>(manifest.config.digest) };
        })();
        manifests.set(record.manifest.digest, loaded);
      }
      const { manifest, config } = await loaded;
      const id = manifest.config.digest;
      const image = byId.get(id);
      if (image) image.records.push(record);
      else byId.set(id, { id, records: [record], target: record.target, manifestDesc: record.manifest, manifest, config, chain: chainIds(config.rootfs?.diff_ids ?? []) });
    }
    return [...byId.values()];
  }

  /** Finds an image by name, `name@digest`, full ID or ID prefix (docker's lookup order). */
  async #find(input: string, images?: Image[]): Promise<{ image: Image; record?: ImageRecord }> {
    const all = images ?? (await this.#images());
    let ref: Reference | undefined;
    try {
      ref = parseReference(input);
    } catch {
      ref = undefined;
    }
    if (ref) {
      const name = formatReference(ref);
      for (const image of all) {
        const record = image.records.find((r) => r.name === name);
        if (record) return { image, record };
      }
      if (ref.digest) {
        const repo = repositoryName(ref);
        for (const image of all) {
          const record = image.records.find((r) => r.name !== undefined && repositoryName(parseReference(r.name)) === repo && (r.target.digest === ref!.digest || r.manifest.digest === ref!.digest));
          if (record) return { image, record };
        }
      }
    }
    if (ID_RE.test(input)) {
      const hex = input.replace(/^sha256:/, '');
      const matches = all.filter((i) => i.id.slice('sha256:'.length).startsWith(hex));
      if (matches.length > 1) throw invalidArgument(`multiple IDs found with provided prefix: ${input}`);
      if (matches[0]) return { image: matches[0] };
    }
    throw notFound(`no such image: ${input}`);
  }

  /** The chainID of the image's top layer: the committed snapshot a container's rootfs is prepared on. */
  async chainId(input: string): Promise<Digest> {
    const { image } = await this.#find(input);
    const top = image.chain.at(-1);
    if (top === undefined) throw invalidArgument(`image ${input}: no layers`);
    return top;
  }

  /** What a container is created from: the image's ID, run config and top layer, without inspect's sizes and overlay view. */
  async runConfig(input: string): Promise<{ Id: Digest; Config: ImageRunConfig; ChainId: Digest }> {
    const { image } = await this.#find(input);
    const top = image.chain.at(-1);
    if (top === undefined) throw invalidArgument(`image ${input}: no layers`);
    return { Id: image.id, Config: image.config.config ?? {}, ChainId: top };
  }

  /** The image ID (config digest) of a name, digest reference or ID prefix. */
  async resolveId(input: string): Promise<Digest> {
    return (await this.#find(input)).image.id;
  }

  // ---- sizes -------------------------------------------------------------------------------

  async #layerSize(chainId: string): Promise<number> {
    let size = this.#usage.get(chainId);
    if (size === undefined) {
      try {
        size = (await this.snapshotter.usage(chainId)).size;
      } catch (err) {
        if (!(err instanceof EngineError && err.kind === 'not-found')) throw err;
        size = 0;
      }
      this.#usage.set(chainId, size);
    }
    return size;
  }

  async #size(image: Image): Promise<number> {
    let total = 0;
    for (const chainId of new Set(image.chain)) total += await this.#layerSize(chainId);
    return total;
  }

  // ---- list, inspect, history --------------------------------------------------------------

  #repoTags(image: Image): string[] {
    return image.records.filter((r) => r.name !== undefined && parseReference(r.name).tag !== undefined).map((r) => familiar(parseReference(r.name!)));
  }

  #repoDigests(image: Image): string[] {
    const out = new Set<string>();
    for (const r of image.records) {
      if (r.name === undefined) continue;
      const ref = parseReference(r.name);
      out.add(`${familiarName(ref)}@${ref.digest ?? r.target.digest}`);
    }
    return [...out];
  }

  async #summary(image: Image): Promise<ImageSummary> {
    return {
      Id: image.id,
      ParentId: '',
      RepoTags: this.#repoTags(image),
      RepoDigests: this.#repoDigests(image),
      Created: createdSeconds(image),
      Size: await this.#size(image),
      SharedSize: -1,
      Labels: image.config.config?.Labels ?? {},
      Containers: -1,
    };
  }

  async list(options: { filters?: ListFilters } = {}): Promise<ImageSummary[]> {
    const filters = options.filters ?? {};
    const images = await this.#images();
    const before = filters.before !== undefined ? createdSeconds((await this.#find(filters.before, images)).image) : undefined;
    const since = filters.since !== undefined ? createdSeconds((await this.#find(filters.since, images)).image) : undefined;
    const out: ImageSummary[] = [];
    for (const image of images) {
      const dangling = image.records.every((r) => r.name === undefined);
      if (filters.dangling !== undefined && filters.dangling !== dangling) continue;
      if (before !== undefined && !(createdSeconds(image) < before)) continue;
      if (since !== undefined && !(createdSeconds(image) > since)) continue;
      if (!labelsAllowed(filters, image.config.config?.Labels)) continue;
      if (filters.until !== undefined && createdMs(image) > filters.until) continue;
      if (filters.reference) {
        const names = image.records.filter((r) => r.name !== undefined).map((r) => {
          const ref = parseReference(r.name!);
          return { repository: familiarName(ref), ...(ref.tag !== undefined ? { tag: ref.tag } : {}) };
        });
        if (!matchesReference(filters.reference, names)) continue;
      }
      const summary = await this.#summary(image);
      if (filters.reference) {
        // docker shows only the names that matched
        const keep = (name: string): boolean => {
          const at = name.indexOf('@');
          const colon = name.lastIndexOf(':');
          const repository = at !== -1 ? name.slice(0, at) : colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
          const tag = at === -1 && colon > name.lastIndexOf('/') ? name.slice(colon + 1) : undefined;
          return matchesReference(filters.reference!, [{ repository, ...(tag !== undefined ? { tag } : {}) }]);
        };
        summary.RepoTags = summary.RepoTags.filter(keep);
        summary.RepoDigests = summary.RepoDigests.filter(keep);
      }
      out.push(summary);
    }
    return out.sort((a, b) => b.Created - a.Created || a.Id.localeCompare(b.Id));
  }

  async inspect(input: string): Promise<ImageInspect> {
    const { image } = await this.#find(input);
    const lastTag = image.records.reduce((latest, r) => (r.name !== undefined && r.updated > latest ? r.updated : latest), '');
    return {
      Id: image.id,
      RepoTags: this.#repoTags(image),
      RepoDigests: this.#repoDigests(image),
      Parent: '',
      Comment: image.config.history?.at(-1)?.comment ?? '',
      Created: image.config.created ?? new Date(0).toISOString(),
      DockerVersion: '',
      Author: image.config.author ?? '',
      Config: image.config.config ?? {},
      Architecture: image.config.architecture,
      ...(image.config.variant !== undefined ? { Variant: image.config.variant } : {}),
      Os: image.config.os,
      Size: await this.#size(image),
      GraphDriver: { Name: 'overlay2', Data: await this.#graphDriverData(image) },
      RootFS: { Type: 'layers', Layers: [...(image.config.rootfs?.diff_ids ?? [])] },
      Metadata: { LastTagTime: lastTag || '0001-01-01T00:00:00Z' },
      Descriptor: image.target,
    };
  }

  /** docker shows the lower dirs of the image's overlay; a short-lived view reveals them. */
  async #graphDriverData(image: Image): Promise<Record<string, string> | null> {
    const top = image.chain.at(-1);
    if (top === undefined) return null;
    const key = `inspect-${randomBytes(6).toString('hex')}`;
    try {
      const mounts = await this.snapshotter.view(key, top);
      const mount = mounts[0];
      if (!mount) return null;
      const lower = mount.options.find((o) => o.startsWith('lowerdir='));
      return { LowerDir: lower ? lower.slice('lowerdir='.length) : mount.source };
    } catch (err) {
      if (err instanceof EngineError && err.kind === 'not-found') return null;
      throw err;
    } finally {
      await this.snapshotter.remove(key).catch(() => {});
    }
  }

  async history(input: string): Promise<HistoryItem[]> {
    const { image } = await this.#find(input);
    const layers = image.chain;
    const entries: HistoryEntry[] = image.config.history?.length
      ? image.config.history
      : layers.map(() => ({ ...(image.config.created !== undefined ? { created: image.config.created } : {}), created_by: '' }));
    const items: HistoryItem[] = [];
    let layer = 0;
    for (const entry of entries) {
      let size = 0;
      if (!entry.empty_layer && layer < layers.length) size = await this.#layerSize(layers[layer++]!);
      items.push({
        Id: '<missing>',
        Created: entry.created ? Math.floor(Date.parse(entry.created) / 1000) : 0,
        CreatedBy: entry.created_by ?? '',
        Tags: null,
        Size: size,
        Comment: entry.comment ?? '',
      });
    }
    items.reverse();
    if (items[0]) {
      items[0].Id = image.id;
      const tags = this.#repoTags(image);
      items[0].Tags = tags.length > 0 ? tags : null;
    }
    return items;
  }

  // ---- tag, remove, prune ------------------------------------------------------------------

  async tag(source: string, target: string): Promise<void> {
    const { image, record } = await this.#find(source);
    const ref = parseReference(target);
    if (ref.digest !== undefined) throw invalidArgument('refusing to create a tag with a digest reference');
    const from = record ?? image.records[0]!;
    await this.#bind(formatReference(ref), from.target, from.manifest);
  }

  /** docker rmi: untag, and delete the image when no name is left. */
  async remove(input: string, options: { force?: boolean } = {}): Promise<DeleteItem[]> {
    const images = await this.#images();
    const { image, record } = await this.#find(input, images);
    const short = image.id.slice('sha256:'.length, 'sha256:'.length + 12);
    const inUse = await this.#isInUse(image.id);
    const named = image.records.filter((r) => r.name !== undefined);
    let untag: ImageRecord[];
    if (record?.name !== undefined && !(record.name.includes('@') && named.length === 1)) {
      // by name: only that name goes, unless it is the last one
      untag = [record];
    } else {
      const repos = new Set(named.map((r) => repositoryName(parseReference(r.name!))));
      if (repos.size > 1 && !options.force) {
        throw conflict(`conflict: unable to delete ${short} (must be forced) - image is referenced in multiple repositories`);
      }
      untag = named;
    }
    let remaining = named.filter((r) => !untag.includes(r));
    // docker: once no tag is left, the digest references go too and the image is deleted
    if (remaining.every((r) => r.name!.includes('@'))) {
      untag = [...untag, ...remaining];
      remaining = [];
    }
    if (remaining.length === 0 && inUse && !options.force) {
      const what = record?.name !== undefined ? `remove repository reference "${familiar(parseReference(record.name))}"` : `delete ${short}`;
      throw conflict(`conflict: unable to ${what} (must force) - container is using its referenced image ${short}`);
    }
    const items: DeleteItem[] = [];
    const drop = new Set<ImageRecord>(untag);
    if (remaining.length === 0 && !inUse) for (const r of image.records) drop.add(r);
    await this.#records.update((records) => ({
      records: records.filter((r) => ![...drop].some((d) => d.name === r.name && d.manifest.digest === r.manifest.digest)),
      result: undefined,
    }));
    for (const r of untag) items.push({ Untagged: familiar(parseReference(r.name!)) });
    if (remaining.length === 0 && !inUse) {
      items.push({ Deleted: image.id });
      await this.#collect();
    } else if (remaining.length === 0 && inUse) {
      // forced off a used image: it stays, dangling, for the container
      await this.#bind(undefined, image.target, image.manifestDesc);
    }
    return items;
  }

  async prune(options: PruneFilters = {}): Promise<PruneReport> {
    const images = await this.#images();
    const deleted: DeleteItem[] = [];
    const drop: Image[] = [];
    for (const image of images) {
      const dangling = image.records.every((r) => r.name === undefined);
      if (!dangling && !options.all) continue;
      if (!prunableImage(options, createdMs(image), image.config.config?.Labels)) continue;
      if (await this.#isInUse(image.id)) continue;
      drop.push(image);
    }
    if (drop.length === 0) return { ImagesDeleted: [], SpaceReclaimed: 0 };
    const dropped = new Set(drop.flatMap((i) => i.records));
    await this.#records.update((records) => ({
      records: records.filter((r) => ![...dropped].some((d) => d.name === r.name && d.manifest.digest === r.manifest.digest)),
      result: undefined,
    }));
    for (const image of drop) {
      for (const r of image.records) if (r.name !== undefined) deleted.push({ Untagged: familiar(parseReference(r.name)) });
      deleted.push({ Deleted: image.id });
    }
    const reclaimed = await this.#collect();
    return { ImagesDeleted: deleted, SpaceReclaimed: reclaimed };
  }

  /**
   * Removes blobs no image references and committed snapshots no image's chain uses (leaf
   * first; a snapshot a container's layer sits on stays). Returns the bytes freed.
   */
  async #collect(): Promise<number> {
    const images = await this.#images();
    const roots = new Set<Digest>();
    const chains = new Set<string>();
    for (const image of images) {
      for (const r of image.records) roots.add(r.target.digest).add(r.manifest.digest);
      for (const c of image.chain) chains.add(c);
    }
    const gc = await this.content.gc([...roots]);
    let freed = gc.bytes;
    for (let progress = true; progress; ) {
      progress = false;
      const candidates: string[] = [];
      const parents = new Set<string>();
      await this.snapshotter.walk((info) => {
        if (info.parent !== undefined) parents.add(info.parent);
        if (info.kind === 'committed' && !chains.has(info.name)) candidates.push(info.name);
      });
      for (const name of candidates) {
        if (parents.has(name)) continue;
        const size = await this.#layerSize(name);
        try {
          await this.snapshotter.remove(name);
          this.#usage.delete(name);
          freed += size;
          progress = true;
        } catch (err) {
          if (!(err instanceof EngineError && (err.kind === 'failed-precondition' || err.kind === 'not-found'))) throw err;
        }
      }
    }
    return freed;
  }

  // ---- save, load, import ------------------------------------------------------------------

  save(inputs: string[], options: { format?: ArchiveFormat } = {}): Promise<Readable> {
    return (async () => {
      const images = await this.#images();
      const entries: SaveImage[] = [];
      for (const input of inputs) {
        const { image, record } = await this.#find(input, images);
        const chosen = record ? [record] : image.records.filter((r) => r.name !== undefined);
        if (chosen.length === 0) chosen.push(image.records[0]!);
        for (const r of chosen) {
          const manifest = (await this.#complete(r.target)) ? r.target : r.manifest;
          const name = r.name !== undefined && parseReference(r.name).tag !== undefined ? r.name : undefined;
          entries.push({ ...(name !== undefined ? { name } : {}), manifest });
        }
      }
      return saveArchive(entries, this.#sink(), { format: options.format ?? 'docker-archive' });
    })();
  }

  /** docker load: stores every image of the archive, unpacks it, binds its names. */
  async load(archive: AsyncIterable<Uint8Array>, options: { platform?: string; signal?: AbortSignal } = {}): Promise<LoadResult[]> {
    const lease = this.content.lease();
    try {
      const loaded = await loadArchive(archive, this.#sink(lease), options.signal ? { signal: options.signal } : {});
      const out: LoadResult[] = [];
      for (const entry of loaded) {
        const manifestDesc = await this.#platformManifest(entry.manifest, options.platform);
        const manifest = await this.content.readJson<Manifest>(manifestDesc.digest);
        const config = await this.content.readJson<ImageConfig>(manifest.config.digest);
        await this.#unpack(manifest, config, options.signal ? { signal: options.signal } : {});
        let name: string | undefined;
        if (entry.name !== undefined) name = formatReference(parseReference(entry.name));
        // the archive's naming annotations describe the archive, not the image
        const { annotations: _annotations, ...target } = entry.manifest;
        await this.#bind(name, target, manifestDesc);
        out.push({ ...(name !== undefined ? { name: familiar(parseReference(name)) } : {}), id: manifest.config.digest });
      }
      return out;
    } finally {
      lease.release();
    }
  }

  async #platformManifest(desc: Descriptor, platform?: string): Promise<Descriptor> {
    if (!isIndexMediaType(desc.mediaType)) return desc;
    const parsed = parseManifest(await this.content.readBytes(desc.digest), desc.mediaType);
    if (parsed.kind !== 'index') return desc;
    const wanted = platform !== undefined ? parsePlatform(platform) : defaultPlatform();
    const present: Descriptor[] = [];
    for (const m of parsed.index.manifests) if (await this.content.has(m.digest)) present.push(m);
    return selectManifest({ ...parsed.index, manifests: present }, wanted);
  }

  /** docker import: a one-layer image from a rootfs tarball; returns its ID. */
  async import(rootfs: AsyncIterable<Uint8Array>, options: { ref?: string; changes?: string[]; message?: string; created?: Date } = {}): Promise<Digest> {
    const name = options.ref !== undefined ? formatReference(parseReference(options.ref)) : undefined;
    if (name !== undefined && parseReference(name).digest !== undefined) throw invalidArgument('import image: a digest reference cannot name an imported image');
    const lease = this.content.lease();
    try {
      const result = await importRootfs(rootfs, this.#sink(lease), {
        ...(options.changes ? { changes: options.changes } : {}),
        ...(options.message !== undefined ? { message: options.message } : {}),
        ...(options.created !== undefined ? { created: options.created } : {}),
      });
      const manifest = await this.content.readJson<Manifest>(result.manifest.digest);
      const config = await this.content.readJson<ImageConfig>(result.config.digest);
      await this.#unpack(manifest, config);
      await this.#bind(name, result.manifest, result.manifest);
      return result.config.digest;
    } finally {
      lease.release();
    }
  }

  /**
   * docker commit: a new image made of `parent`'s layers plus one more (a gzip layer tar whose
   * uncompressed digest is `diffId`, known when the layer has been written), with `runConfig`
   * and its history entries (the layer's last; a build adds the empty-layer entries of the
   * config-only steps before it). The layer is stored, then unpacked like any pulled layer
   * (which checks `diffId`) before the name is bound.
   */
  async commit(parent: string, layer: AsyncIterable<Uint8Array>, options: { diffId: Digest | Promise<Digest>; runConfig: ImageRunConfig; history: HistoryEntry | readonly HistoryEntry[]; author?: string; ref?: string }): Promise<Digest> {
    return this.#derive(parent, { layer, diffId: options.diffId }, options);
  }

  /** A new image of `parent`'s layers with another run config and more empty-layer history (a build's config-only steps). */
  async reconfigure(parent: string, options: { runConfig: ImageRunConfig; history: readonly HistoryEntry[]; author?: string; ref?: string }): Promise<Digest> {
    return this.#derive(parent, undefined, { ...options, history: options.history.map((h) => ({ ...h, empty_layer: true })) });
  }

  async #derive(
    parent: string,
    added: { layer: AsyncIterable<Uint8Array>; diffId: Digest | Promise<Digest> } | undefined,
    options: { runConfig: ImageRunConfig; history: HistoryEntry | readonly HistoryEntry[]; author?: string; ref?: string },
  ): Promise<Digest> {
    const name = options.ref !== undefined ? formatReference(parseReference(options.ref)) : undefined;
    const { image } = await this.#find(parent);
    const lease = this.content.lease();
    try {
      const sink = this.#sink(lease);
      const layerPut = added === undefined ? undefined : await sink.put(added.layer);
      const diffId = added === undefined ? undefined : await added.diffId;
      const docker = image.manifest.mediaType === MediaType.dockerManifest;
      const entries: readonly HistoryEntry[] = Array.isArray(options.history) ? options.history : [options.history as HistoryEntry];
      const created = entries.at(-1)?.created ?? new Date().toISOString();
      const author = options.author ?? entries.at(-1)?.author;
      const config: ImageConfig = {
        ...image.config,
        created,
        ...(author ? { author } : {}),
        config: options.runConfig,
        rootfs: { type: 'layers', diff_ids: [...(image.config.rootfs?.diff_ids ?? []), ...(diffId !== undefined ? [diffId] : [])] },
        history: [...(image.config.history ?? []), ...entries.map((h) => ({ ...h, created: h.created ?? created }))],
      };
      const configPut = await sink.put(Buffer.from(JSON.stringify(config)));
      const layers = layerPut === undefined ? image.manifest.layers : [...image.manifest.layers, { mediaType: docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip, ...layerPut }];
      const manifest: Manifest = {
        schemaVersion: 2,
        mediaType: docker ? MediaType.dockerManifest : MediaType.ociManifest,
        config: { mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig, ...configPut },
        layers,
      };
      const manifestPut = await sink.put(Buffer.from(JSON.stringify(manifest)));
      const desc: Descriptor = { mediaType: manifest.mediaType!, ...manifestPut };
      await this.#unpack(manifest, config);
      await this.#bind(name, desc, desc);
      return configPut.digest;
    } finally {
      lease.release();
    }
  }

  // ---- system df ---------------------------------------------------------------------------

  async systemDf(): Promise<DiskUsage> {
    const images = await this.#images();
    const users = new Map<string, number>();
    for (const image of images) for (const c of new Set(image.chain)) users.set(c, (users.get(c) ?? 0) + 1);
    let layersSize = 0;
    for (const c of users.keys()) layersSize += await this.#layerSize(c);
    const active = new Set<string>();
    const summaries: ImageSummary[] = [];
    for (const image of images) {
      const summary = await this.#summary(image);
      let shared = 0;
      for (const c of new Set(image.chain)) if ((users.get(c) ?? 0) > 1) shared += await this.#layerSize(c);
      const used = await this.#isInUse(image.id);
      if (used) for (const c of image.chain) active.add(c);
      summaries.push({ ...summary, SharedSize: shared, Containers: used ? 1 : 0 });
    }
    let activeSize = 0;
    for (const c of active) activeSize += await this.#layerSize(c);
    return { LayersSize: layersSize, Images: summaries.sort((a, b) => b.Created - a.Created), Reclaimable: layersSize - activeSize };
  }
}

/** A stored blob's bytes, verified on read; the file is opened only if the unpack reads them. */
async function* storedBlob(store: ContentStore, digest: Digest): AsyncGenerator<Uint8Array> {
  yield* await store.readStream(digest);
}

/**
 * Reports docker's `Extracting` progress (compressed bytes consumed) for a layer's bytes;
 * with `downloaded`, only once the layer is in that set (its download is complete).
 */
async function* extracting(desc: Descriptor, bytes: AsyncIterable<Uint8Array>, report: (event: ImageProgress) => void, downloaded?: ReadonlySet<string>): AsyncGenerator<Uint8Array> {
  const id = shortDigest(desc.digest);
  let current = 0;
  for await (const chunk of bytes) {
    current += chunk.byteLength;
    if (downloaded === undefined || downloaded.has(id)) report({ id, status: 'Extracting', current, total: desc.size });
    yield chunk;
  }
}

/** When the image was made (ms); one that does not say is never "before" a time, as moby has it. */
function createdMs(image: Image): number {
  const created = image.config.created ? Date.parse(image.config.created) : NaN;
  return Number.isNaN(created) ? Infinity : created;
}

function createdSeconds(image: Image): number {
  const created = image.config.created ? Date.parse(image.config.created) : NaN;
  return Number.isNaN(created) ? 0 : Math.floor(created / 1000);
}
