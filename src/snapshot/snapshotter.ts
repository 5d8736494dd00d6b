/**
 * The Snapshotter interface (containerd's shape) and the data it hands out. Glossary:
 * `key` names an active snapshot (writable, or a read-only view); `name` names a committed one
 * (immutable, the parent of others); `parent` is always a committed name. Snapshotters return
 * mounts as data: performing them is mount.ts's job, or the runtime's (a bundle's rootfs).
 *
 * Importing a layer: `prepare(tmpKey, parentChainId)` → apply the layer into the mount's
 * upper dir → `commit(chainId, tmpKey)`. Running a container: `prepare(containerId,
 * imageChainId)` → pass `mounts(containerId)` to the runtime → `remove(containerId)` afterwards.
 */

import type { Writable } from 'node:stream';
import type { Digest } from '../oci/image-spec.ts';

/** A mount to perform, as mount(8) spells it; `target` is chosen by whoever performs it. */
export interface Mount {
  type: string;
  source: string;
  options: string[];
}

export type SnapshotKind = 'active' | 'view' | 'committed';

export interface SnapshotInfo {
  /** the key (active, view) or name (committed) */
  name: string;
  kind: SnapshotKind;
  parent?: string;
  labels: Record<string, string>;
  created: string;
  updated: string;
}

export interface SnapshotUsage {
  /** bytes used by this snapshot's own layer (not its parents) */
  size: number;
  inodes: number;
}

export interface DiffResult {
  /** sha256 of the uncompressed tar */
  diffId: Digest;
  /** sha256 of the gzip stream written out */
  digest: Digest;
  /** bytes of the gzip stream */
  size: number;
}

export interface Snapshotter {
  stat(key: string): Promise<SnapshotInfo>;
  usage(key: string): Promise<SnapshotUsage>;
  mounts(key: string): Promise<Mount[]>;
  /**
   * an active, writable snapshot on top of the committed `parent`. `durable: false`: the metadata
   * is replaced atomically but not fsynced before this resolves (flush() does it) — after a host
   * crash the snapshot may be gone, for a caller that makes it again then (berthd: a container's
   * layer, at its first start).
   */
  prepare(key: string, parent?: string, options?: { labels?: Record<string, string>; durable?: boolean }): Promise<Mount[]>;
  /** a read-only snapshot of the committed `parent` */
  view(key: string, parent?: string, options?: { labels?: Record<string, string> }): Promise<Mount[]>;
  /**
   * turns the active snapshot `key` into the committed snapshot `name`; `key` is gone afterwards.
   * `parent` stacks a snapshot prepared without one onto the committed `parent`: an image's
   * layers are separate directories, so they can be unpacked side by side and committed in
   * chain order.
   */
  commit(name: string, key: string, options?: { labels?: Record<string, string>; parent?: string }): Promise<void>;
  /**
   * removes a snapshot; fails while committed children exist. `durable: false`: the metadata is
   * replaced atomically but not fsynced — after a host crash the snapshot may be listed again,
   * for a caller that removes what nothing uses at its start (berthd: containers' layers).
   */
  remove(key: string, options?: { durable?: boolean }): Promise<void>;
  /** makes every metadata change made so far durable (those made with `durable: false`) */
  flush(): Promise<void>;
  walk(fn: (info: SnapshotInfo) => void | Promise<void>): Promise<void>;
  /** a gzip layer of the active snapshot's changes against its parent, written to `out` */
  diff(key: string, out: Writable): Promise<DiffResult>;
}
