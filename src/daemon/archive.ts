/**
 * A container's file system from outside: `docker cp` both ways (archive GET/HEAD/PUT),
 * `docker diff` (changes from the snapshot's upper dir) and `docker export` (a tar of the whole
 * tree). A running container's rootfs is already mounted on the host; a stopped one is mounted
 * in the same place for the length of the operation, under the container's lifecycle lock so a
 * start waits for it. Paths are resolved the way the container sees them — symlinks stay inside
 * the container, and paths under a volume, bind or /etc file read from its source, as in Docker.
 */

import type { Stats } from 'node:fs';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { basename, join, posix } from 'node:path';
import { applyLayer, decompress, normalizeEntryPath } from '../image/unpack/index.ts';
import { shimMounter, unmountOnHost } from '../runtime/index.ts';
import { mountAll, readTar } from '../snapshot/index.ts';
import type { Mount } from '../snapshot/index.ts';
import { tarTree } from '../snapshot/tar/tree.ts';
import { EngineError, errorCode, invalidArgument, notFound } from '../util/errors.ts';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import { emitContainerEvent } from './events.ts';
import { etcFilePaths } from './etc-files.ts';
import { ContainerView, type FsMount } from './container-view.ts';
import { rootfsDir } from './paths.ts';
import { mountPointsOf } from './volumes.ts';
import { commitContainer, type CommitOptions } from './commit.ts';

/** What `X-Docker-Container-Path-Stat` carries (Go's os.FileMode bits in `mode`). */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

export interface Change {
  Path: string;
  /** 0 modified, 1 added, 2 deleted */
  Kind: 0 | 1 | 2;
}

// Go's os.FileMode type bits, which the docker CLI tests (IsDir, symlink) on the stat header.
const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 2 ** 27;
const GO_MODE_DEVICE = 2 ** 26;
const GO_MODE_PIPE = 2 ** 25;
const GO_MODE_SOCKET = 2 ** 24;
const GO_MODE_SETUID = 2 ** 23;
const GO_MODE_SETGID = 2 ** 22;
const GO_MODE_CHAR = 2 ** 21;
const GO_MODE_STICKY = 2 ** 20;

export function goFileMode(st: Stats): number {
  let mode = st.mode & 0o777;
  if (st.isDirectory()) mode += GO_MODE_DIR;
  if (st.isSymbolicLink()) mode += GO_MODE_SYMLINK;
  if (st.isBlockDevice()) mode += GO_MODE_DEVICE;
  if (st.isCharacterDevice()) mode += GO_MODE_DEVICE + GO_MODE_CHAR;
  if (st.isFIFO()) mode += GO_MODE_PIPE;
  if (st.isSocket()) mode += GO_MODE_SOCKET;
  if (st.mode & 0o4000) mode += GO_MODE_SETUID;
  if (st.mode & 0o2000) mode += GO_MODE_SETGID;
  if (st.mode & 0o1000) mode += GO_MODE_STICKY;
  return mode;
}

/** The view of a container's tree, its rootfs mounted while `fn` runs (and then unmounted unless it runs). */
export async function withContainerFs<T>(ctx: DaemonContext, c: Container, fn: (view: ContainerView) => Promise<T>): Promise<T> {
  const rootfs = rootfsDir(c.dir);
  const etc = etcFilePaths(c.dir);
  const mounts: FsMount[] = [
    ...mountPointsOf(c.record)
      .filter((m) => m.Type !== 'tmpfs')
      .map((m) => ({ destination: m.Destination, source: m.Source, rw: m.RW })),
    { destination: '/etc/hostname', source: etc.hostname, rw: true },
    { destination: '/etc/hosts', source: etc.hosts, rw: true },
    { destination: '/etc/resolv.conf', source: etc.resolvConf, rw: true },
  ];
  const view = new ContainerView(rootfs, mounts);
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let done: Promise<unknown> = Promise.resolve();
  const ready = new Promise<boolean>((resolve, reject) => {
    done = c.exclusive(async () => {
      if (c.running) {
        resolve(false);
        return;
      }
      try {
        await mkdir(rootfs, { recursive: true, mode: 0o755 });
        await mountAll(await ctx.images.snapshotter.mounts(c.record.SnapshotKey), rootfs, shimMounter);
      } catch (err) {
        reject(err);
        return;
      }
      resolve(true);
      await released;
      await unmountOnHost(rootfs).catch((err: unknown) => ctx.warn(`unmount rootfs of ${c.id}: ${err instanceof Error ? err.message : String(err)}`));
    });
  });
  const mounted = await ready;
  try {
    return await fn(view);
  } finally {
    if (mounted) {
      release();
      // the reply says the copy is over: the rootfs is unmounted by then, not a moment later
      await done;
    }
  }
}

/** Go's filepath.Base of the requested path: trailing slashes dropped, `/` for the root. */
function requestedBase(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' ? '/' : basename(trimmed);
}

function notInContainer(path: string, c: Container): EngineError {
  return notFound(`Could not find the file ${path} in container ${c.record.Name.slice(1)}`);
}

/** lstat of a resolved container path; a missing one is docker's "Could not find the file". */
async function lstatIn(view: ContainerView, c: Container, resolved: string, asked: string): Promise<Stats> {
  try {
    return await lstat(view.hostPath(resolved));
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') throw notInContainer(asked, c);
    throw err;
  }
}

/** lstat of a resolved container path, as the stat header Docker sends. */
async function pathStat(view: ContainerView, c: Container, path: string): Promise<{ stat: PathStat; resolved: string; st: Stats }> {
  const resolved = await view.resolve(path, false);
  const st = await lstatIn(view, c, resolved, path);
  let linkTarget = '';
  if (st.isSymbolicLink()) linkTarget = await view.resolve(resolved, true);
  const name = resolved === '/' ? '/' : basename(resolved);
  return { stat: { name, size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget }, resolved, st };
}

/**
 * Runs a generator inside `withContainerFs`, so the rootfs stays mounted until the consumer
 * has read the last chunk (or stopped reading).
 */
function streamInContainerFs(ctx: DaemonContext, c: Container, open: (view: ContainerView) => Promise<AsyncIterable<Buffer>>): Promise<AsyncIterable<Buffer>> {
  return new Promise((resolve, reject) => {
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    const viewDone: Promise<void> = withContainerFs(ctx, c, async (view) => {
      const source = await open(view);
      resolve(
        (async function* () {
          try {
            yield* source;
          } finally {
            finish();
            // the stream ends once the rootfs is unmounted again
            await viewDone.catch(() => {});
          }
        })(),
      );
      await finished;
    });
    viewDone.catch(reject);
  });
}

/** Docker's `noOverwriteDirNonDir`: an entry may not turn a directory into a file or back. */
async function checkDirNonDir(dest: string, containerDir: string, spool: string, label: string): Promise<void> {
  const { stream } = await decompress(createReadStream(spool));
  for await (const { header } of readTar(stream)) {
    const rel = normalizeEntryPath(header.name, label);
    if (rel === '') continue;
    let existing: Stats;
    try {
      existing = await lstat(join(dest, rel));
    } catch {
      continue;
    }
    const inContainer = posix.join(containerDir, rel);
    if (existing.isDirectory() && header.type !== 'dir') throw invalidArgument(`cannot overwrite directory "${inContainer}" with non-directory "${rel}"`);
    if (!existing.isDirectory() && header.type === 'dir') throw invalidArgument(`cannot overwrite non-directory "${inContainer}" with directory "${rel}"`);
  }
}

/** Where upper and lower dirs of the container's snapshot are. */
function overlayDirs(mounts: Mount[]): { upper: string; lowers: string[] } {
  const mount = mounts[0];
  if (!mount) throw new EngineError('internal', 'container snapshot has no mounts');
  if (mount.type !== 'overlay') return { upper: mount.source, lowers: [] };
  const option = (key: string): string | undefined => mount.options.find((o) => o.startsWith(`${key}=`))?.slice(key.length + 1);
  const upper = option('upperdir');
  if (upper === undefined) throw new EngineError('internal', 'container snapshot has no upper dir');
  return { upper, lowers: (option('lowerdir') ?? '').split(':').filter(Boolean) };
}

async function existsIn(dirs: string[], rel: string): Promise<boolean> {
  for (const dir of dirs) {
    try {
      await lstat(join(dir, rel));
      return true;
    } catch {
      // not in this layer
    }
  }
  return false;
}

/** The files the daemon writes for the container: Docker keeps them out of the diff too. */
const DAEMON_FILES = new Set(['/etc/hostname', '/etc/hosts', '/etc/resolv.conf']);

/** `docker diff`: what the container's upper dir adds, changes and deletes, sorted by path. */
export async function containerChanges(ctx: DaemonContext, c: Container): Promise<Change[]> {
  const { upper, lowers } = overlayDirs(await ctx.images.snapshotter.mounts(c.record.SnapshotKey));
  const changes: Change[] = [];
  async function visit(dir: string, rel: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const childRel = `${rel}/${name}`;
      const st = await lstat(join(dir, name));
      if (DAEMON_FILES.has(childRel)) continue;
      if (st.isCharacterDevice() && st.rdev === 0) changes.push({ Path: childRel, Kind: 2 });
      else changes.push({ Path: childRel, Kind: (await existsIn(lowers, childRel)) ? 0 : 1 });
      if (st.isDirectory()) await visit(join(dir, name), childRel);
    }
  }
  await visit(upper, '');
  // a directory copied up only to hold the daemon's files is no change of the container's
  return changes.filter((ch) => !(ch.Kind === 0 && ch.Path === '/etc' && !changes.some((o) => o.Path.startsWith('/etc/'))));
}

/** The volume-sized services behind `docker cp`, `diff` and `export`. */
export class ContainerFsService {
  #ctx: DaemonContext;

  constructor(ctx: DaemonContext) {
    this.#ctx = ctx;
  }

  async statPath(ref: string, path: string): Promise<PathStat> {
    const c = this.#ctx.store.get(ref);
    return withContainerFs(this.#ctx, c, async (view) => (await pathStat(view, c, path)).stat);
  }

  async getArchive(ref: string, path: string): Promise<{ stat: PathStat; body: AsyncIterable<Buffer> }> {
    const c = this.#ctx.store.get(ref);
    if (path === '') throw invalidArgument('path cannot be empty');
    let stat!: PathStat;
    const body = await streamInContainerFs(this.#ctx, c, async (view) => {
      // `dir/` and `dir/.` copy what the directory holds, following a link to it (the CLI's rule)
      const follow = path.endsWith('/') || path.endsWith('/.');
      const found = await pathStat(view, c, follow ? (await view.resolve(path, true)) : path);
      // entries are named after the path asked for (`dir/.` → `.`), which is how the CLI rebases them
      const name = requestedBase(path);
      stat = { ...found.stat, name };
      return tarTree(view.hostPath(found.resolved), name === '/' ? '.' : name);
    });
    emitContainerEvent(this.#ctx, c, 'archive-path');
    return { stat, body };
  }

  async putArchive(ref: string, path: string, archive: AsyncIterable<Uint8Array>, options: { noOverwriteDirNonDir: boolean }): Promise<void> {
    const c = this.#ctx.store.get(ref);
    if (path === '') throw invalidArgument('path cannot be empty');
    await withContainerFs(this.#ctx, c, async (view) => {
      const resolved = await view.resolve(path, true);
      const st = await lstatIn(view, c, resolved, path);
      if (!st.isDirectory()) throw invalidArgument('extraction point is not a directory');
      if (!view.writable(resolved)) throw new EngineError('forbidden', 'mounted volume is marked read-only');
      if (c.record.HostConfig.ReadonlyRootfs && view.hostPath(resolved).startsWith(view.root)) throw new EngineError('forbidden', 'container rootfs is marked read-only');
      const dest = view.hostPath(resolved);
      const label = `archive for ${path}`;
      if (!options.noOverwriteDirNonDir) {
        // applyLayer never writes outside the directory it is given: `..`, absolute names and planted symlinks are refused
        await applyLayer(dest, archive, { hasParent: false, label });
        return;
      }
      // The check needs the whole list of entries before anything is written: spool, check, apply.
      const spool = join(c.dir, `.archive-${process.pid}-${Date.now()}.tar`);
      try {
        await pipeline(Readable.from(archive), createWriteStream(spool, { mode: 0o600 }));
        await checkDirNonDir(dest, resolved, spool, label);
        await applyLayer(dest, createReadStream(spool), { hasParent: false, label });
      } finally {
        await rm(spool, { force: true });
      }
    });
    emitContainerEvent(this.#ctx, c, 'extract-to-dir');
  }

  async changes(ref: string): Promise<Change[]> {
    return containerChanges(this.#ctx, this.#ctx.store.get(ref));
  }

  commit(ref: string, options: CommitOptions): Promise<{ Id: string }> {
    return commitContainer(this.#ctx, ref, options);
  }

  async export(ref: string): Promise<AsyncIterable<Buffer>> {
    const c = this.#ctx.store.get(ref);
    const body = await streamInContainerFs(this.#ctx, c, async (view) => tarTree(view.root, ''));
    emitContainerEvent(this.#ctx, c, 'export');
    return body;
  }
}
