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
 * Removes the active snapshots of extractions a crash interrupted; for daemon start-up, when no
 * unpack can be running. Returns the keys removed.
 */
export async function removeStaleExtractions(snapshotter: Snapshotter): Promise<string[]> {
  const stale: string[] = [];
  await snapshotter.walk((info) => {
    if (info.kind === 'active' && info.name.startsWith(EXTRACT_PREFIX)) stale.push(info.name);
  });
  for (const key of stale) await snapshotter.remove(key);
  return stale;
}

export interface UnpackLayerOptions {
  parent?: string;
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
  const key = `${EXTRACT_PREFIX}${randomBytes(8).toString('hex')}`;
  const mounts = await snapshotter.prepare(key, options.parent);
  try {
    const result = await applyLayer(writableDir(mounts), layer, {
      hasParent: options.parent !== undefined,
      lowerDirs: lowerDirs(mounts),
      ...(options.label !== undefined ? { label: options.label } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (options.expectedDiffId !== undefined && result.diffId !== options.expectedDiffId) {
      throw invalidArgument(`layer ${options.label ?? 'stream'}: diffID ${result.diffId} does not match the config's ${options.expectedDiffId}`);
    }
    const name = options.name ?? chainIds(options.parent === undefined ? [result.diffId] : [options.parent as Digest, result.diffId]).at(-1)!;
    try {
      await snapshotter.commit(name, key);
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


