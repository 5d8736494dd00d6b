/**
 * Unpacks an image's layers into committed snapshots named by chainID, the identity of a
 * layer *stack* (image-spec config.md): images sharing a base share its snapshots, and a
 * layer already unpacked is skipped. Each layer is applied into a fresh active snapshot and
 * committed only once its diffID matches the config; any failure removes the partial snapshot.
 */

import { createHash, randomBytes } from 'node:crypto';
import type { Digest, ImageConfig, Manifest } from '../../oci/image-spec.ts';
import { EngineError, failedPrecondition, invalidArgument } from '../../util/errors.ts';
import type { Mount, Snapshotter } from '../../snapshot/index.ts';
import { applyLayer } from './apply-layer.ts';
import type { ApplyResult } from './apply-layer.ts';
import type { BlobSource } from './blob-source.ts';

/** chainIds[i] identifies layers 0..i: chainId(0) = diffId(0), chainId(n) = sha256(chainId(n-1) + " " + diffId(n)). */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const diffId of diffIds) {
    const previous = out[out.length - 1];
    out.push(previous === undefined ? diffId : `sha256:${createHash('sha256').update(`${previous} ${diffId}`).digest('hex')}`);
  }
  return out;
}

/** The directory a layer is written into: the upper of an overlay, or the bind source of a first layer. */
export function writableDir(mounts: Mount[]): string {
  const [mount] = mounts;
  if (mounts.length === 1 && mount !== undefined) {
    if (mount.type === 'bind' && !mount.options.includes('ro')) return mount.source;
    const upper = mount.options.find((o) => o.startsWith('upperdir='));
    if (mount.type === 'overlay' && upper) return upper.slice('upperdir='.length);
  }
  throw failedPrecondition('apply layer: snapshot mounts have no writable directory');
}

/** The read-only layers of an overlay mount, nearest first. */
function lowerDirs(mounts: Mount[]): string[] {
  const option = mounts[0]?.type === 'overlay' ? mounts[0].options.find((o) => o.startsWith('lowerdir=')) : undefined;
  return option ? option.slice('lowerdir='.length).split(':') : [];
}

async function exists(snapshotter: Snapshotter, key: string): Promise<boolean> {
  try {
    await snapshotter.stat(key);
    return true;
  } catch (err) {
    if (err instanceof EngineError && err.kind === 'not-found') return false;
    throw err;
  }
}

const EXTRACT_PREFIX = 'extract-';

/**
 * Removes the active snapshots (and views) of extractions a crash interrupted; for daemon
 * start-up, when no unpack can be running. Returns the keys removed.
 */
export async function removeStaleExtractions(snapshotter: Snapshotter): Promise<string[]> {
  const stale: string[] = [];
  await snapshotter.walk((info) => {
    // active: a layer being applied; view: the short-lived look at its lowers (committedLowerDirs)
    if (info.kind !== 'committed' && info.name.startsWith(EXTRACT_PREFIX)) stale.push(info.name);
  });
  for (const key of stale) await snapshotter.remove(key);
  return stale;
}

export interface UnpackLayerOptions {
  parent?: string;
  /**
   * Set when `parent` is still being unpacked: resolves once it is committed (rejects if it
   * fails). The layer is then applied into a snapshot of its own, side by side with its parent,
   * and stacked onto `parent` when it commits.
   */
  parentReady?: Promise<void>;
  /** the diffID the layer must have (from the image config) */
  expectedDiffId?: Digest;
  /** the committed name; defaults to the chainID computed from parent and the layer's diffID */
  name?: string;
  label?: string;
  signal?: AbortSignal;
}

/**
 * Applies one layer on top of the committed snapshot `parent` and commits it. Returns the
 * committed name and the apply result; on any failure nothing of the layer stays on disk.
 */
export async function unpackLayer(snapshotter: Snapshotter, layer: AsyncIterable<Uint8Array>, options: UnpackLayerOptions = {}): Promise<ApplyResult & { name: string }> {
  const { parent, parentReady } = options;
  // stacked now when the parent is there already; else side by side, stacked at commit
  const later = parent !== undefined && parentReady !== undefined && !(await exists(snapshotter, parent));
  const key = `${EXTRACT_PREFIX}${randomBytes(8).toString('hex')}`;
  const mounts = await snapshotter.prepare(key, later ? undefined : parent);
  try {
    const result = await applyLayer(writableDir(mounts), layer, {
      hasParent: parent !== undefined,
      lowerDirs: later
        ? async () => {
            await parentReady;
            return committedLowerDirs(snapshotter, parent, key);
          }
        : lowerDirs(mounts),
      ...(options.label !== undefined ? { label: options.label } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (options.expectedDiffId !== undefined && result.diffId !== options.expectedDiffId) {
      throw invalidArgument(`layer ${options.label ?? 'stream'}: diffID ${result.diffId} does not match the config's ${options.expectedDiffId}`);
    }
    const name = options.name ?? chainIds(parent === undefined ? [result.diffId] : [parent as Digest, result.diffId]).at(-1)!;
    if (later) await parentReady;
    try {
      await snapshotter.commit(name, key, later ? { parent } : {});
    } catch (err) {
      // Someone unpacked the same stack meanwhile: theirs is as good as ours.
      if (!(err instanceof EngineError && err.kind === 'already-exists')) throw err;
      await snapshotter.remove(key);
    }
    return { ...result, name };
  } catch (err) {
    await snapshotter.remove(key).catch((cleanupErr: unknown) => {
      if (!(cleanupErr instanceof EngineError && cleanupErr.kind === 'not-found')) throw new EngineError('internal', `remove partial snapshot ${key}: ${(cleanupErr as Error).message}`, { cause: err });
    });
    throw err;
  }
}

/** The layer directories of the committed snapshot `parent` and below, nearest first, through a short-lived view. */
async function committedLowerDirs(snapshotter: Snapshotter, parent: string, forKey: string): Promise<string[]> {
  const viewKey = `${forKey}-lowers`;
  const mounts = await snapshotter.view(viewKey, parent);
  try {
    const [mount] = mounts;
    return mount?.type === 'bind' ? [mount.source] : lowerDirs(mounts);
  } finally {
    await snapshotter.remove(viewKey);
  }
}

interface Settled {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
  started: boolean;
}

/**
 * Unpacks an image's layers as their bytes become available, in any order and side by side:
 * each layer is applied into a snapshot of its own while the layers below may still be
 * unpacking (overlay layers are separate directories), and is stacked and committed strictly
 * in chain order. A layer whose chainID snapshot exists is skipped without reading its bytes.
 * A layer fails when any layer below it fails.
 */
export class LayerUnpacker {
  readonly chain: Digest[];
  #snapshotter: Snapshotter;
  #diffIds: readonly Digest[];
  #layers: Settled[];
  #signal: AbortSignal | undefined;
  #onDone: (index: number) => void;

  constructor(snapshotter: Snapshotter, diffIds: readonly Digest[], options: { signal?: AbortSignal; onLayerDone?: (index: number) => void } = {}) {
    if (diffIds.length === 0) throw invalidArgument('unpack image: image has no layers');
    this.#snapshotter = snapshotter;
    this.#diffIds = diffIds;
    this.chain = chainIds(diffIds);
    this.#signal = options.signal;
    this.#onDone = options.onLayerDone ?? (() => {});
    this.#layers = diffIds.map(() => {
      const layer = { started: false } as Settled;
      layer.promise = new Promise<void>((resolve, reject) => {
        layer.resolve = resolve;
        layer.reject = reject;
      });
      layer.promise.catch(() => {}); // a failure is reported by unpack(); waiting layers see it too
      return layer;
    });
  }

  /** Unpacks layer `index` from `bytes` (unless its snapshot exists); resolves once it is committed. */
  async unpack(index: number, bytes: AsyncIterable<Uint8Array>, label: string): Promise<void> {
    const layer = this.#layers[index];
    if (layer === undefined || layer.started) throw new EngineError('internal', `unpack layer ${index}: ${layer ? 'already started' : 'no such layer'}`);
    layer.started = true;
    try {
      const name = this.chain[index]!;
      if (!(await exists(this.#snapshotter, name))) {
        await unpackLayer(this.#snapshotter, bytes, {
          ...(index > 0 ? { parent: this.chain[index - 1]!, parentReady: this.#layers[index - 1]!.promise } : {}),
          expectedDiffId: this.#diffIds[index]!,
          name,
          label,
          ...(this.#signal ? { signal: this.#signal } : {}),
        });
      } else if (index > 0) {
        await this.#layers[index - 1]!.promise; // chain order, also for what is already there
      }
      layer.resolve();
      this.#onDone(index);
    } catch (err) {
      layer.reject(err);
      throw err;
    }
  }

  /** The top layer's chainID once every layer is committed: the parent of a container's snapshot. */
  async top(): Promise<Digest> {
    await Promise.all(this.#layers.map((l) => l.promise));
    return this.chain.at(-1)!;
  }
}

/**
 * Unpacks every layer of an image whose snapshot is missing; returns the chainID of the top
 * layer, the parent a container's snapshot is prepared on.
 */
export async function unpackImage(
  snapshotter: Snapshotter,
  image: { manifest: Manifest; config: ImageConfig },
  source: BlobSource,
  options: { signal?: AbortSignal } = {},
): Promise<Digest> {
  const diffIds = image.config.rootfs.diff_ids;
  if (diffIds.length !== image.manifest.layers.length) {
    throw invalidArgument(`unpack image: manifest has ${image.manifest.layers.length} layers but config has ${diffIds.length} diff_ids`);
  }
  const chain = chainIds(diffIds);
  let parent: string | undefined;
  for (const [i, desc] of image.manifest.layers.entries()) {
    const name = chain[i]!;
    if (!(await exists(snapshotter, name))) {
      await unpackLayer(snapshotter, await source.readStream(desc.digest), {
        ...(parent !== undefined ? { parent } : {}),
        expectedDiffId: diffIds[i]!,
        name,
        label: desc.digest,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    }
    parent = name;
  }
  if (parent === undefined) throw invalidArgument('unpack image: image has no layers');
  return parent as Digest;
}


