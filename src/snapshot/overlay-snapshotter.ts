/**
 * Snapshots as overlayfs layers (containerd's overlay snapshotter, Docker's overlay2). Every
 * snapshot is a directory `snapshots/<id>/` holding `fs/` (its layer, or an active snapshot's
 * upper dir) and, while active, `work/` (overlayfs's scratch dir). Committed snapshots are
 * read-only lowerdirs shared by every image and container stacked on them; image layers are
 * committed under their chainID, so two images with the same base store it once.
 *
 * Metadata (keys, kinds, parents) lives in one JSON file replaced atomically. Ids are short
 * sequence numbers so that deep stacks keep their lowerdir option short (see mount.ts).
 * Crash safety: directories are created before the metadata names them and removed after it
 * forgets them; `open()` deletes directories no metadata names.
 */

import { execFile } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { atomicWrite } from '../util/atomic-write.ts';
import { removeInBackground, sweepTrash } from '../util/trash.ts';
import { EngineError, errorCode, failedPrecondition, invalidArgument, notFound } from '../util/errors.ts';
import { writeDiff } from './diff.ts';
import type { DiffResult, Mount, SnapshotInfo, SnapshotKind, SnapshotUsage, Snapshotter } from './snapshotter.ts';

export const DEFAULT_SNAPSHOT_ROOT = '/var/lib/berth/snapshots';

interface SnapshotRecord {
  id: string;
  kind: SnapshotKind;
  parent?: string;
  labels: Record<string, string>;
  created: string;
  updated: string;
  usage?: SnapshotUsage;
}

interface Metadata {
  version: 1;
  nextId: number;
  snapshots: Record<string, SnapshotRecord>;
}

/** Removed snapshots on their way out (util/trash.ts): not in snapshots/, which lists live ones. */
const TRASH_DIR = 'trash';

function alreadyExists(message: string): EngineError {
  return new EngineError('already-exists', message);
}

export class OverlaySnapshotter implements Snapshotter {
  readonly root: string;
  #meta: Metadata;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(root: string, meta: Metadata) {
    this.root = root;
    this.#meta = meta;
  }

  /** Opens (creating if needed) a snapshotter rooted at `root` and clears leftovers of a crash. */
  static async open(root: string = DEFAULT_SNAPSHOT_ROOT): Promise<OverlaySnapshotter> {
    // overlayfs splits its options on ',' and lowerdir on ':', with no escaping mount(8) passes on
    if (/[,:]/.test(root)) throw invalidArgument(`open snapshotter ${root}: the path must not contain ',' or ':'`);
    const created = await mkdir(join(root, 'snapshots'), { recursive: true, mode: 0o700 });
    if (created !== undefined) await markTopOfHierarchies(join(root, 'snapshots'));
    let meta: Metadata = { version: 1, nextId: 1, snapshots: {} };
    try {
      meta = JSON.parse(await readFile(join(root, 'metadata.json'), 'utf8')) as Metadata;
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw new EngineError('internal', `read snapshot metadata: ${(err as Error).message}`, { cause: err });
    }
    await sweepTrash(join(root, TRASH_DIR));
    const known = new Set(Object.values(meta.snapshots).map((s) => s.id));
    for (const id of await readdir(join(root, 'snapshots'))) {
      if (!known.has(id)) await rm(join(root, 'snapshots', id), { recursive: true, force: true });
    }
    return new OverlaySnapshotter(root, meta);
  }

  /** The layer directory of a snapshot: its upper dir while active. */
  #fsDir(id: string): string {
    return join(this.root, 'snapshots', id, 'fs');
  }

  #get(key: string): SnapshotRecord {
    const record = this.#meta.snapshots[key];
    if (record === undefined) throw notFound(`snapshot ${key}: not found`);
    return record;
  }

  /** Serialises metadata changes: each sees the previous one's result and persists before the next. */
  #mutate<T>(fn: (meta: Metadata) => Promise<T> | T, options: { durable?: boolean } = {}): Promise<T> {
    const next = this.#queue.then(async () => {
      const draft = structuredClone(this.#meta);
      const result = await fn(draft);
      const path = join(this.root, 'metadata.json');
      const text = JSON.stringify(draft, null, 1);
      await atomicWrite(path, text, { durable: options.durable !== false });
      this.#meta = draft;
      return result;
    });
    this.#queue = next.catch(() => {});
    return next;
  }

  /** ids of the committed chain below `parent`, nearest first (overlayfs's lowerdir order). */
  #chain(parent: string | undefined): string[] {
    const ids: string[] = [];
    for (let name = parent; name !== undefined; ) {
      const record = this.#get(name);
      ids.push(record.id);
      name = record.parent;
    }
    return ids;
  }

  async stat(key: string): Promise<SnapshotInfo> {
    await this.#queue;
    return info(key, this.#get(key));
  }

  async walk(fn: (info: SnapshotInfo) => void | Promise<void>): Promise<void> {
    await this.#queue;
    for (const [key, record] of Object.entries(this.#meta.snapshots)) await fn(info(key, record));
  }

  async usage(key: string): Promise<SnapshotUsage> {
    await this.#queue;
    const record = this.#get(key);
    return record.usage ?? diskUsage(this.#fsDir(record.id));
  }

  async mounts(key: string): Promise<Mount[]> {
    await this.#queue;
    return this.#mounts(this.#get(key));
  }

  #mounts(record: SnapshotRecord): Mount[] {
    const lowers = this.#chain(record.parent).map((id) => this.#fsDir(id));
    if (record.kind === 'committed') throw failedPrecondition(`mount snapshot ${record.id}: committed snapshots are only mounted as parents`);
    if (record.kind === 'view') {
      if (lowers.length === 0) return [{ type: 'bind', source: this.#fsDir(record.id), options: ['ro', 'rbind'] }];
      if (lowers.length === 1) return [{ type: 'bind', source: lowers[0]!, options: ['ro', 'rbind'] }];
      return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`] }];
    }
    if (lowers.length === 0) return [{ type: 'bind', source: this.#fsDir(record.id), options: ['rw', 'rbind'] }];
    const dir = join(this.root, 'snapshots', record.id);
    return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`, `upperdir=${join(dir, 'fs')}`, `workdir=${join(dir, 'work')}`] }];
  }

  prepare(key: string, parent?: string, options: { labels?: Record<string, string>; durable?: boolean } = {}): Promise<Mount[]> {
    return this.#create('active', key, parent, options.labels ?? {}, options.durable ?? true);
  }

  view(key: string, parent?: string, options: { labels?: Record<string, string> } = {}): Promise<Mount[]> {
    return this.#create('view', key, parent, options.labels ?? {});
  }

  #create(kind: 'active' | 'view', key: string, parent: string | undefined, labels: Record<string, string>, durable = true): Promise<Mount[]> {
    if (key === '') throw invalidArgument('create snapshot: empty key');
    // what this create made on disk, undone when its metadata cannot be written (a full disk):
    // left, the directory would block its id for every create after
    const made: string[] = [];
    return this.#mutate(async (meta) => {
      if (meta.snapshots[key]) throw alreadyExists(`create snapshot ${key}: already exists`);
      if (parent !== undefined) {
        const p = meta.snapshots[parent];
        if (p === undefined) throw notFound(`create snapshot ${key}: parent ${parent} not found`);
        if (p.kind !== 'committed') throw invalidArgument(`create snapshot ${key}: parent ${parent} is not committed`);
      }
      const id = String(meta.nextId++);
      // Made under a unique name, then renamed: ext4 picks the block group of a directory under
      // a +T one (markTopOfHierarchies) from a hash of its name, and ids repeat in a store that
      // was removed and made again, landing every time in the group just emptied.
      const staging = join(this.root, 'snapshots', `new-${randomBytes(8).toString('hex')}`);
      made.push(staging);
      await mkdir(join(staging, 'fs'), { recursive: true, mode: 0o755 });
      if (kind === 'active') await mkdir(join(staging, 'work'), { mode: 0o700 });
      await rename(staging, join(this.root, 'snapshots', id));
      made.push(join(this.root, 'snapshots', id));
      const now = new Date().toISOString();
      const record: SnapshotRecord = { id, kind, labels, created: now, updated: now, ...(parent !== undefined ? { parent } : {}) };
      meta.snapshots[key] = record;
      return record;
    }, { durable }).then(
      (record) => this.#mounts(record),
      async (err: unknown) => {
        for (const dir of made) await rm(dir, { recursive: true, force: true }).catch(() => {});
        throw err;
      },
    );
  }

  async commit(name: string, key: string, options: { labels?: Record<string, string>; parent?: string } = {}): Promise<void> {
    if (name === '') throw invalidArgument('commit snapshot: empty name');
    await this.#mutate((meta) => {
      const record = meta.snapshots[key];
      if (record === undefined) throw notFound(`commit snapshot ${key}: not found`);
      if (record.kind !== 'active') throw failedPrecondition(`commit snapshot ${key}: it is a ${record.kind} snapshot, not an active one`);
      if (meta.snapshots[name]) throw alreadyExists(`commit snapshot ${key} as ${name}: already exists`);
      const { parent } = options;
      if (parent !== undefined) {
        if (record.parent !== undefined) throw failedPrecondition(`commit snapshot ${key} onto ${parent}: it already has parent ${record.parent}`);
        const p = meta.snapshots[parent];
        if (p === undefined) throw notFound(`commit snapshot ${key}: parent ${parent} not found`);
        if (p.kind !== 'committed') throw invalidArgument(`commit snapshot ${key}: parent ${parent} is not committed`);
      }
      const usage = diskUsage(this.#fsDir(record.id));
      delete meta.snapshots[key];
      meta.snapshots[name] = {
        ...record,
        kind: 'committed',
        labels: { ...record.labels, ...options.labels },
        updated: new Date().toISOString(),
        usage,
        ...(parent !== undefined ? { parent } : {}),
      };
    });
    // overlayfs's scratch dir is useless once nothing mounts this snapshot as an upper
    const id = this.#get(name).id;
    await rm(join(this.root, 'snapshots', id, 'work'), { recursive: true, force: true });
  }

  async flush(): Promise<void> {
    await this.#queue;
    // the file as the last change left it, then its directory entry (the rename)
    for (const path of [join(this.root, 'metadata.json'), this.root]) {
      const handle = await open(path, 'r').catch((err: unknown) => {
        if (errorCode(err) === 'ENOENT') return undefined; // nothing written yet
        throw err;
      });
      if (!handle) continue;
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }

  async remove(key: string, options: { durable?: boolean } = {}): Promise<void> {
    const id = await this.#mutate((meta) => {
      const record = meta.snapshots[key];
      if (record === undefined) throw notFound(`remove snapshot ${key}: not found`);
      const child = Object.entries(meta.snapshots).find(([, s]) => s.parent === key);
      if (child) throw failedPrecondition(`remove snapshot ${key}: snapshot ${child[0]} depends on it`);
      delete meta.snapshots[key];
      return record.id;
    }, options);
    // gone from the metadata, the directory is garbage: open() sweeps it if a crash interrupts this
    removeInBackground(join(this.root, 'snapshots', id), { trashDir: join(this.root, TRASH_DIR) }).done.catch(() => {});
  }

  async diff(key: string, out: Writable): Promise<DiffResult> {
    await this.#queue;
    const record = this.#get(key);
    if (record.kind === 'view') throw failedPrecondition(`diff snapshot ${key}: a view has no changes`);
    return writeDiff(this.#fsDir(record.id), out);
  }
}

/**
 * Sets ext2/3/4's "top of directory hierarchies" attribute (chattr +T) on the directory that
 * holds the snapshots: they are unrelated trees, and with it the Orlov allocator spreads each
 * new snapshot over the block groups with the most free inodes instead of packing it next to
 * its siblings. That matters on ext4 without a journal, where allocating an inode skips, one
 * buffer lookup each, every inode of the group deleted in the last 30 s: in a group where trees
 * were just removed (a pruned image, a test's store) a create cost 0.4–1 ms here, against
 * 40 µs in a fresh group (bench/README.md, issue 3). A hint only: other file systems refuse it
 * and lose nothing, so failures are ignored. Set when the directory is created.
 */
function markTopOfHierarchies(dir: string): Promise<void> {
  return new Promise((resolve) => {
    execFile('chattr', ['+T', dir], () => resolve());
  });
}

function info(key: string, record: SnapshotRecord): SnapshotInfo {
  return { name: key, kind: record.kind, labels: { ...record.labels }, created: record.created, updated: record.updated, ...(record.parent !== undefined ? { parent: record.parent } : {}) };
}

/**
 * Allocated bytes and inode count of a tree, hardlinks counted once (as du does). Synchronous:
 * a layer has thousands of entries, and an awaited lstat is a thread-pool round trip each
 * (tens of µs) against a few µs.
 */
function diskUsage(root: string): SnapshotUsage {
  const seen = new Set<string>();
  let size = 0;
  const visit = (path: string): void => {
    const stat = lstatSync(path);
    const inode = `${stat.dev}:${stat.ino}`;
    if (!seen.has(inode)) {
      seen.add(inode);
      size += stat.blocks * 512;
    }
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(root);
  return { size, inodes: seen.size };
}
