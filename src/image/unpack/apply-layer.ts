/**
 * Applies one layer (a tar stream, compressed or not) onto a directory: the upper dir of an
 * active snapshot. Whiteouts become what overlayfs understands natively — `.wh.NAME` a 0/0
 * character device at NAME, `.wh..wh..opq` the `trusted.overlay.opaque=y` xattr on its dir —
 * so the committed snapshot can be stacked as a lowerdir as-is (Docker's overlay2 does the same).
 *
 * Security: a layer is untrusted input and must never write outside its directory. Every path
 * is normalised and refused if absolute or climbing with `..`; every parent is walked component
 * by component with lstat and refused if any is a symlink (the layer could have planted one);
 * leaves are replaced, never followed (O_NOFOLLOW|O_EXCL); hardlink targets get the same checks.
 * A refused layer throws `invalid-argument`; the caller removes the partial snapshot.
 *
 * Speed: the stream is read and decompressed asynchronously, but each entry is applied with
 * synchronous calls as it arrives. An awaited fs call is a thread-pool round trip (12–59 µs
 * measured, bench/README.md issue 3) against 1–3 µs for its synchronous twin, and a layer makes
 * tens of thousands of them; the event loop still gets a turn between entries and body chunks.
 */

import { createHash } from 'node:crypto';
import {
  chmodSync, closeSync, constants, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, linkSync, lstatSync,
  lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeSync, writevSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { pipeline, Transform } from 'node:stream';
import type { Digest } from '../../oci/image-spec.ts';
import { errorCode, invalidArgument } from '../../util/errors.ts';
import { OPAQUE_XATTR, WHITEOUT_OPAQUE, WHITEOUT_PREFIX, mknods, mknodsThenLsetxattrs, readTar } from '../../snapshot/index.ts';
import type { NodeSpec, TarHeader, XattrSet } from '../../snapshot/index.ts';
import { decompress } from './decompress.ts';
import type { Compression } from './decompress.ts';

export interface ApplyOptions {
  /** false for a base layer: its whiteouts have nothing to hide and are dropped */
  hasParent?: boolean;
  /**
   * the layers below `root`, nearest first: implied parent dirs take their attributes from them.
   * A function when they are still being unpacked (layers applied side by side): it is called,
   * and awaited, only at the end and only if the layer implied a directory.
   */
  lowerDirs?: string[] | (() => Promise<string[]>);
  /** names the layer in error messages (its digest) */
  label?: string;
  signal?: AbortSignal;
}

export interface ApplyResult {
  /** sha256 of the uncompressed tar stream */
  diffId: Digest;
  /** bytes of the uncompressed tar stream */
  size: number;
  compression: Compression;
}

/** File bodies are gathered into writes of at least this size (one writev per batch). */
const WRITE_BATCH = 64 * 1024;
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/**
 * Longest stretch of synchronous work before the event loop gets a turn: entries whose bytes are
 * already buffered follow each other through microtasks only, which would starve timers and
 * sockets for as long as the stream keeps up.
 */
const SLICE_MS = 10;

/**
 * `./a//b/` → `a/b`; '' for the root itself. Throws for absolute paths and `..` anywhere:
 * a layer that names either is malformed or hostile, and guessing what it meant is how
 * traversal bugs are born.
 */
export function normalizeEntryPath(name: string, label: string): string {
  if (name.startsWith('/')) throw escapeError(label, name);
  if (name.includes('\0')) throw invalidArgument(`layer ${label}: entry ${JSON.stringify(name)} has a NUL byte in its name`);
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw escapeError(label, name);
    parts.push(part);
  }
  return parts.join('/');
}

function escapeError(label: string, name: string): Error {
  return invalidArgument(`layer ${label}: entry ${JSON.stringify(name)} escapes the layer root`);
}

/**
 * Directories (relative paths) known to be real directories, with every directory above them,
 * because this apply created or checked them. Only this apply writes the tree, so the cache
 * stays true as long as every removal forgets the removed path and everything below it.
 */
class DirCache {
  #dirs = new Set<string>();
  has(rel: string): boolean {
    return this.#dirs.has(rel);
  }
  add(rel: string): void {
    this.#dirs.add(rel);
  }
  forget(rel: string): void {
    if (!this.#dirs.delete(rel)) return; // not a cached dir: nothing below it is cached either
    const prefix = `${rel}/`;
    for (const dir of this.#dirs) if (dir.startsWith(prefix)) this.#dirs.delete(dir);
  }
}

/** A device node stood in for by an empty regular file until the layer's one mknod batch. */
interface PendingNode {
  rel: string;
  header: TarHeader;
  dev: number;
  ino: number;
}

interface ApplyContext {
  root: string;
  label: string;
  cache: DirCache;
  /** the layers below, nearest first (overlayfs lowerdir order); undefined until they are unpacked */
  lowers: string[] | undefined;
  /** directories this layer implies (no entry of its own) created while `lowers` was unknown */
  implied: Set<string>;
  /** directory mtimes, set once every entry is written; the last word per directory wins */
  dirTimes: Map<string, number>;
  /** device stand-ins by relative path; removing one (or a dir above it) cancels its node */
  pending: Map<string, PendingNode>;
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash === -1 ? '' : rel.slice(0, slash);
}

/**
 * The attributes of directory `rel` as the layers below show it, so that a parent this layer
 * implies (without an entry of its own) does not change the merged directory's owner or mode.
 * Walked with lstat component by component: a symlink, whiteout or file on the way means the
 * directory is not visible there, and nothing outside the lower layers is ever consulted.
 */
function lowerDirStats(lowers: string[], rel: string): Stats | undefined {
  const parts = rel.split('/');
  for (const lower of lowers) {
    let current = lower;
    let stat: Stats | undefined;
    for (const part of parts) {
      current = join(current, part);
      stat = lstatSync(current, { throwIfNoEntry: false });
      if (stat === undefined) break; // absent here: a deeper layer may have it
      if (!stat.isDirectory()) return undefined; // hidden by a whiteout, a file or a symlink
    }
    if (stat !== undefined) return stat;
  }
  return undefined;
}

/**
 * Makes sure every directory above `rel` exists under the root as a real directory, creating
 * missing ones (with the lower layers' attributes, or 0755 root as Docker does) and refusing
 * symlinks. A cached parent vouches for the whole chain, so most entries cost one Set lookup.
 */
function ensureParents(ctx: ApplyContext, rel: string, entryName: string): void {
  const parent = parentOf(rel);
  if (parent === '' || ctx.cache.has(parent)) return;
  let relDir = '';
  for (const part of parent.split('/')) {
    relDir = relDir ? `${relDir}/${part}` : part;
    if (ctx.cache.has(relDir)) continue;
    const current = join(ctx.root, relDir);
    const stat = lstatSync(current, { throwIfNoEntry: false });
    if (stat === undefined) {
      mkdirSync(current, { mode: 0o755 });
      if (ctx.lowers === undefined) ctx.implied.add(relDir);
      else takeLowerAttributes(ctx, ctx.lowers, relDir);
      ctx.cache.add(relDir);
      continue;
    }
    if (stat.isSymbolicLink()) throw invalidArgument(`layer ${ctx.label}: entry ${JSON.stringify(entryName)} goes through symlink ${JSON.stringify(relDir)}`);
    if (!stat.isDirectory()) {
      // A file where this layer needs a directory: the later entry wins, as in `tar -x`.
      ctx.pending.delete(relDir);
      rmSync(current, { force: true });
      mkdirSync(current, { mode: 0o755 });
    }
    ctx.cache.add(relDir);
  }
}

/** Gives the implied directory `rel` the owner, mode and mtime the layers below show for it. */
function takeLowerAttributes(ctx: ApplyContext, lowers: string[], rel: string): void {
  const lower = lowerDirStats(lowers, rel);
  if (lower === undefined) return;
  const path = join(ctx.root, rel);
  lchownSync(path, lower.uid, lower.gid);
  chmodSync(path, lower.mode & 0o7777);
  ctx.dirTimes.set(path, lower.mtimeMs / 1000);
}

/** Whether `rel` and every directory above it are real directories (no symlink on the way). */
function isRealDir(ctx: ApplyContext, rel: string): boolean {
  let relDir = '';
  for (const part of rel.split('/')) {
    relDir = relDir ? `${relDir}/${part}` : part;
    if (ctx.cache.has(relDir)) continue;
    if (!lstatSync(join(ctx.root, relDir), { throwIfNoEntry: false })?.isDirectory()) return false;
  }
  return true;
}

/** Removes whatever stands at `rel` (never following it) and forgets it and what was below. */
function removeLeaf(ctx: ApplyContext, rel: string): void {
  ctx.cache.forget(rel);
  if (ctx.implied.size > 0) {
    const prefix = `${rel}/`;
    for (const dir of ctx.implied) if (dir === rel || dir.startsWith(prefix)) ctx.implied.delete(dir);
  }
  if (ctx.pending.size > 0) {
    const prefix = `${rel}/`;
    for (const key of ctx.pending.keys()) if (key === rel || key.startsWith(prefix)) ctx.pending.delete(key);
  }
  rmSync(join(ctx.root, rel), { recursive: true, force: true });
}

/**
 * Runs `create`, which fails with EEXIST when something already stands at `rel`; then clears
 * the way and runs it again. Creating first spares the lstat for the usual case, a new path;
 * O_EXCL and the like never follow a final symlink, so trying first is safe.
 */
function createReplacing<T>(ctx: ApplyContext, rel: string, create: () => T): T {
  try {
    return create();
  } catch (err) {
    if (errorCode(err) !== 'EEXIST') throw err;
  }
  removeLeaf(ctx, rel);
  return create();
}

/** Writes every byte of `buffers` (total `size`) at the file's current offset. */
function writeAll(fd: number, buffers: Buffer[], size: number): void {
  let written = buffers.length === 1 ? writeSync(fd, buffers[0]!) : writevSync(fd, buffers);
  if (written === size) return;
  const rest = Buffer.concat(buffers, size);
  while (written < size) written += writeSync(fd, rest, written, size - written);
}

/** The body of a regular file, gathered into big writes, then owner, mode and times through the descriptor. */
async function writeFile(fd: number, header: TarHeader, body: AsyncIterable<Buffer>): Promise<void> {
  try {
    let batch: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      batch.push(chunk);
      size += chunk.length;
      if (size >= WRITE_BATCH) {
        writeAll(fd, batch, size);
        batch = [];
        size = 0;
      }
    }
    if (size > 0) writeAll(fd, batch, size);
    // Owner before mode: chown(2) clears setuid/setgid bits, so chmod must come after it.
    fchownSync(fd, header.uid, header.gid);
    fchmodSync(fd, header.mode);
    futimesSync(fd, header.mtime, header.mtime);
  } finally {
    closeSync(fd);
  }
}

/** Counts and hashes the bytes passing through (the diffID covers the whole uncompressed stream). */
function digester(): { transform: Transform; result: () => { diffId: Digest; size: number } } {
  const hash = createHash('sha256');
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  return { transform, result: () => ({ diffId: `sha256:${hash.digest('hex')}`, size }) };
}

/** Applies a layer stream onto `root` (an existing directory) and returns its diffID. */
export async function applyLayer(root: string, layer: AsyncIterable<Uint8Array>, options: ApplyOptions = {}): Promise<ApplyResult> {
  const label = options.label ?? 'stream';
  const hasParent = options.hasParent ?? true;
  const { compression, stream } = await decompress(layer);
  const counter = digester();
  const tar = pipeline(stream, counter.transform, () => {}); // errors surface through `tar` itself
  const xattrs: XattrSet[] = [];
  // Directory times are set last: creating a child changes its parent's mtime.
  const dirTimes = new Map<string, number>();
  const cache = new DirCache();
  const lowerDirs = options.lowerDirs ?? [];
  const ctx: ApplyContext = { root, label, cache, lowers: Array.isArray(lowerDirs) ? lowerDirs : undefined, implied: new Set(), dirTimes, pending: new Map() };
  const whiteouts = new Set<string>();
  const opaqueDirs = new Set<string>();

  let sliceStart = performance.now();
  for await (const { header, body } of readTar(tar)) {
    if (performance.now() - sliceStart > SLICE_MS) {
      await new Promise(setImmediate);
      sliceStart = performance.now();
    }
    options.signal?.throwIfAborted();
    const rel = normalizeEntryPath(header.name, label);
    const path = rel === '' ? root : join(root, rel);
    const base = rel.slice(rel.lastIndexOf('/') + 1);

    if (rel === '') {
      if (header.type !== 'dir') throw invalidArgument(`layer ${label}: root entry ${JSON.stringify(header.name)} is not a directory`);
      setMetadata(path, header, xattrs);
      dirTimes.set(path, header.mtime);
      continue;
    }
    ensureParents(ctx, rel, header.name);

    // Whiteouts hide lower layers only (image-spec layer.md): an entry of this layer at the same
    // path wins whatever the order, so they are made last, where nothing else stands.
    if (base === WHITEOUT_OPAQUE) {
      if (hasParent) opaqueDirs.add(parentOf(rel));
      continue;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) continue; // aufs metadata (.wh..wh.plnk…)
      if (hasParent) whiteouts.add(rel.slice(0, rel.length - base.length) + base.slice(WHITEOUT_PREFIX.length));
      continue;
    }

    switch (header.type) {
      case 'dir': {
        try {
          mkdirSync(path, { mode: 0o700 });
        } catch (err) {
          if (errorCode(err) !== 'EEXIST') throw err;
          if (!lstatSync(path).isDirectory()) {
            removeLeaf(ctx, rel);
            mkdirSync(path, { mode: 0o700 });
          }
        }
        cache.add(rel);
        ctx.implied.delete(rel); // its own entry says what it is
        setMetadata(path, header, xattrs);
        dirTimes.set(path, header.mtime);
        continue;
      }
      case 'file': {
        const fd = createReplacing(ctx, rel, () => openSync(path, CREATE_FLAGS, 0o600));
        await writeFile(fd, header, body);
        collectXattrs(path, header, xattrs);
        continue;
      }
      case 'symlink':
        createReplacing(ctx, rel, () => symlinkSync(header.linkname, path));
        lchownSync(path, header.uid, header.gid);
        collectXattrs(path, header, xattrs);
        lutimesSync(path, header.mtime, header.mtime);
        continue;
      case 'link': {
        const targetRel = normalizeEntryPath(header.linkname, label);
        if (targetRel === '') throw invalidArgument(`layer ${label}: hardlink ${JSON.stringify(header.name)} targets the layer root`);
        const target = join(root, targetRel);
        assertInside(ctx, targetRel, header.name);
        const targetStat = lstatSync(target, { throwIfNoEntry: false });
        if (targetStat === undefined) throw invalidArgument(`layer ${label}: hardlink ${JSON.stringify(header.name)} targets missing ${JSON.stringify(header.linkname)}`);
        if (targetStat.isDirectory()) throw invalidArgument(`layer ${label}: hardlink ${JSON.stringify(header.name)} targets directory ${JSON.stringify(header.linkname)}`);
        if (target === path) continue;
        // a link to a device still waiting for its mknod must share the real node, not the stand-in
        if (ctx.pending.size > 0 && [...ctx.pending.values()].some((n) => n.ino === targetStat.ino && n.dev === targetStat.dev)) await makeNodes(ctx);
        createReplacing(ctx, rel, () => linkSync(target, path));
        continue; // a hardlink shares its target's inode and metadata
      }
      case 'char':
      case 'block':
      case 'fifo': {
        // mknod(2) needs the python helper; one batch per layer, so an empty file holds the place meanwhile
        const fd = createReplacing(ctx, rel, () => openSync(path, CREATE_FLAGS, 0o600));
        try {
          const { dev, ino } = fstatSync(fd);
          ctx.pending.set(rel, { rel, header, dev, ino });
        } finally {
          closeSync(fd);
        }
        collectXattrs(path, header, xattrs); // set after the batch, on the node itself
        continue;
      }
    }
  }

  await makeNodes(ctx);
  if (ctx.implied.size > 0 && !Array.isArray(lowerDirs)) {
    const lowers = await lowerDirs();
    for (const rel of ctx.implied) if (isRealDir(ctx, rel)) takeLowerAttributes(ctx, lowers, rel);
  }
  // Parents are checked again: a later entry may have replaced one with a symlink.
  for (const rel of opaqueDirs) {
    if (rel === '' || isRealDir(ctx, rel)) xattrs.push({ path: rel === '' ? root : join(root, rel), name: OPAQUE_XATTR, value: Buffer.from('y') });
  }
  const nodes: NodeSpec[] = [];
  for (const rel of whiteouts) {
    const parent = parentOf(rel);
    if (parent !== '' && !isRealDir(ctx, parent)) continue;
    if (lstatSync(join(root, rel), { throwIfNoEntry: false }) !== undefined) continue;
    nodes.push({ path: join(root, rel), kind: 'char', major: 0, minor: 0 });
  }
  await mknodsThenLsetxattrs(nodes, xattrs);
  for (const [path, mtime] of dirTimes) {
    // a later entry may have replaced or removed the directory
    if (lstatSync(path, { throwIfNoEntry: false })?.isDirectory()) utimesSync(path, mtime, mtime);
  }
  return { ...counter.result(), compression };
}

/**
 * Replaces the device stand-ins still pending with the real nodes, in one helper process, then
 * sets their owner, mode and times. The stand-in is checked once more (a regular file, the same
 * inode, real directories above it) before it is unlinked.
 */
async function makeNodes(ctx: ApplyContext): Promise<void> {
  const ready: PendingNode[] = [];
  for (const node of ctx.pending.values()) {
    const parent = parentOf(node.rel);
    if (parent !== '' && !isRealDir(ctx, parent)) continue;
    const stat = lstatSync(join(ctx.root, node.rel), { throwIfNoEntry: false });
    if (stat?.isFile() !== true || stat.ino !== node.ino || stat.dev !== node.dev) continue;
    unlinkSync(join(ctx.root, node.rel));
    ready.push(node);
  }
  ctx.pending.clear();
  const specs = ready.map(({ rel, header }): NodeSpec => ({ path: join(ctx.root, rel), kind: header.type as NodeSpec['kind'], major: header.devmajor, minor: header.devminor }));
  await mknods(specs);
  for (const [i, { header }] of ready.entries()) {
    const path = specs[i]!.path;
    lchownSync(path, header.uid, header.gid);
    chmodSync(path, header.mode);
    utimesSync(path, header.mtime, header.mtime);
  }
}

/** The hardlink target's parents must be real directories inside the root, like any entry's. */
function assertInside(ctx: ApplyContext, rel: string, entryName: string): void {
  const parent = parentOf(rel);
  if (parent === '' || ctx.cache.has(parent)) return;
  let relDir = '';
  for (const part of parent.split('/')) {
    relDir = relDir ? `${relDir}/${part}` : part;
    if (ctx.cache.has(relDir)) continue;
    const stat = lstatSync(join(ctx.root, relDir), { throwIfNoEntry: false });
    if (stat === undefined) throw invalidArgument(`layer ${ctx.label}: hardlink ${JSON.stringify(entryName)} targets a missing path`);
    if (!stat.isDirectory()) throw invalidArgument(`layer ${ctx.label}: hardlink ${JSON.stringify(entryName)} goes through symlink or file ${JSON.stringify(relDir)}`);
  }
}

/** Owner before mode: chown(2) clears setuid/setgid bits, so chmod must come after it. */
function setMetadata(path: string, header: TarHeader, xattrs: XattrSet[]): void {
  lchownSync(path, header.uid, header.gid);
  chmodSync(path, header.mode);
  collectXattrs(path, header, xattrs);
}

/** Xattrs are set after every entry, in one helper process, and after chown (which drops security.capability). */
function collectXattrs(path: string, header: TarHeader, xattrs: XattrSet[]): void {
  for (const [name, value] of header.xattrs) {
    // A layer must not forge overlayfs metadata (redirects, opaque flags) through its xattrs.
    if (name.startsWith('trusted.overlay.')) continue;
    xattrs.push({ path, name, value });
  }
}
