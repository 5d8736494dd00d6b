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
 */

import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, rm, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, Transform } from 'node:stream';
import type { Digest } from '../../oci/image-spec.ts';
import { errorCode, invalidArgument } from '../../util/errors.ts';
import { OPAQUE_XATTR, WHITEOUT_OPAQUE, WHITEOUT_PREFIX, lsetxattrs, mknod, mknods, readTar } from '../../snapshot/index.ts';
import type { NodeSpec, TarHeader, XattrSet } from '../../snapshot/index.ts';
import { decompress } from './decompress.ts';
import type { Compression } from './decompress.ts';

export interface ApplyOptions {
  /** false for a base layer: its whiteouts have nothing to hide and are dropped */
  hasParent?: boolean;
  /** the layers below `root`, nearest first: implied parent dirs take their attributes from them */
  lowerDirs?: string[];
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
 * Directories (relative paths) known to be real directories because this apply created or
 * checked them. Only this apply writes the tree, so the cache stays true as long as every
 * removal forgets the removed path and everything below it.
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
    this.#dirs.delete(rel);
    const prefix = `${rel}/`;
    for (const dir of this.#dirs) if (dir.startsWith(prefix)) this.#dirs.delete(dir);
  }
}

interface ApplyContext {
  root: string;
  label: string;
  cache: DirCache;
  /** the layers below, nearest first (overlayfs lowerdir order) */
  lowers: string[];
  /** directory mtimes, set once every entry is written; the last word per directory wins */
  dirTimes: Map<string, number>;
}

/**
 * The attributes of directory `rel` as the layers below show it, so that a parent this layer
 * implies (without an entry of its own) does not change the merged directory's owner or mode.
 * Walked with lstat component by component: a symlink, whiteout or file on the way means the
 * directory is not visible there, and nothing outside the lower layers is ever consulted.
 */
async function lowerDirStats(lowers: string[], rel: string): Promise<Stats | undefined> {
  const parts = rel.split('/');
  for (const lower of lowers) {
    let current = lower;
    let stat: Stats | undefined;
    for (const part of parts) {
      current = join(current, part);
      stat = await lstat(current).catch(() => undefined);
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
 * symlinks.
 */
async function ensureParents(ctx: ApplyContext, rel: string, entryName: string): Promise<void> {
  const parts = rel.split('/');
  parts.pop();
  let relDir = '';
  for (const part of parts) {
    relDir = relDir ? `${relDir}/${part}` : part;
    if (ctx.cache.has(relDir)) continue;
    const current = join(ctx.root, relDir);
    let stat;
    try {
      stat = await lstat(current);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
      await mkdir(current, { mode: 0o755 });
      const lower = await lowerDirStats(ctx.lowers, relDir);
      if (lower !== undefined) {
        await lchown(current, lower.uid, lower.gid);
        await chmod(current, lower.mode & 0o7777);
        ctx.dirTimes.set(current, lower.mtimeMs / 1000);
      }
      ctx.cache.add(relDir);
      continue;
    }
    if (stat.isSymbolicLink()) throw invalidArgument(`layer ${ctx.label}: entry ${JSON.stringify(entryName)} goes through symlink ${JSON.stringify(relDir)}`);
    if (!stat.isDirectory()) {
      // A file where this layer needs a directory: the later entry wins, as in `tar -x`.
      await rm(current, { force: true });
      await mkdir(current, { mode: 0o755 });
    }
    ctx.cache.add(relDir);
  }
}

/** Whether `rel` and every directory above it are real directories (no symlink on the way). */
async function isRealDir(ctx: ApplyContext, rel: string): Promise<boolean> {
  let relDir = '';
  for (const part of rel.split('/')) {
    relDir = relDir ? `${relDir}/${part}` : part;
    if (ctx.cache.has(relDir)) continue;
    const stat = await lstat(join(ctx.root, relDir)).catch(() => undefined);
    if (!stat?.isDirectory()) return false;
  }
  return true;
}

/** Clears the way for a new leaf: nothing is kept unless both old and new are directories. */
async function clearLeaf(root: string, rel: string, cache: DirCache, newIsDir: boolean): Promise<boolean> {
  const path = join(root, rel);
  let stat;
  try {
    stat = await lstat(path);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
  if (newIsDir && stat.isDirectory()) return true;
  cache.forget(rel);
  await rm(path, { recursive: true, force: true });
  return false;
}

function toTimes(mtime: number): Date {
  return new Date(mtime * 1000);
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
  const ctx: ApplyContext = { root, label, cache, lowers: options.lowerDirs ?? [], dirTimes };
  const whiteouts = new Set<string>();
  const opaqueDirs = new Set<string>();

  for await (const { header, body } of readTar(tar)) {
    options.signal?.throwIfAborted();
    const rel = normalizeEntryPath(header.name, label);
    const path = rel === '' ? root : join(root, rel);
    const base = rel.split('/').pop() ?? '';

    if (rel === '') {
      if (header.type !== 'dir') throw invalidArgument(`layer ${label}: root entry ${JSON.stringify(header.name)} is not a directory`);
      await setMetadata(path, header, xattrs);
      dirTimes.set(path, header.mtime);
      continue;
    }
    await ensureParents(ctx, rel, header.name);

    // Whiteouts hide lower layers only (image-spec layer.md): an entry of this layer at the same
    // path wins whatever the order, so they are made last, where nothing else stands.
    if (base === WHITEOUT_OPAQUE) {
      if (hasParent) opaqueDirs.add(rel.slice(0, -(base.length + 1)));
      continue;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) continue; // aufs metadata (.wh..wh.plnk…)
      if (hasParent) whiteouts.add(rel.slice(0, rel.length - base.length) + base.slice(WHITEOUT_PREFIX.length));
      continue;
    }

    switch (header.type) {
      case 'dir': {
        if (!(await clearLeaf(root, rel, cache, true))) await mkdir(path, { mode: 0o700 });
        cache.add(rel);
        await setMetadata(path, header, xattrs);
        dirTimes.set(path, header.mtime);
        continue;
      }
      case 'file': {
        await clearLeaf(root, rel, cache, false);
        const file = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of body) await file.write(chunk);
        } finally {
          await file.close();
        }
        break;
      }
      case 'symlink':
        await clearLeaf(root, rel, cache, false);
        await symlink(header.linkname, path);
        break;
      case 'link': {
        const targetRel = normalizeEntryPath(header.linkname, label);
        if (targetRel === '') throw invalidArgument(`layer ${label}: hardlink ${JSON.stringify(header.name)} targets the layer root`);
        const target = join(root, targetRel);
        await assertInside(root, targetRel, label, header.name);
        let targetStat;
        try {
          targetStat = await lstat(target);
        } catch (err) {
          throw invalidArgument(`layer ${label}: hardlink ${JSON.stringify(header.name)} targets missing ${JSON.stringify(header.linkname)}`, err);
        }
        if (targetStat.isDirectory()) throw invalidArgument(`layer ${label}: hardlink ${JSON.stringify(header.name)} targets directory ${JSON.stringify(header.linkname)}`);
        if (target === path) continue;
        await clearLeaf(root, rel, cache, false);
        await link(target, path);
        continue; // a hardlink shares its target's inode and metadata
      }
      case 'char':
      case 'block':
      case 'fifo':
        await clearLeaf(root, rel, cache, false);
        await mknod(path, header.type, header.devmajor, header.devminor);
        break;
    }
    await setMetadata(path, header, xattrs);
    if (header.type === 'symlink') await lutimes(path, toTimes(header.mtime), toTimes(header.mtime));
    else await utimes(path, toTimes(header.mtime), toTimes(header.mtime));
  }

  // Parents are checked again: a later entry may have replaced one with a symlink.
  for (const rel of opaqueDirs) {
    if (rel === '' || (await isRealDir(ctx, rel))) xattrs.push({ path: rel === '' ? root : join(root, rel), name: OPAQUE_XATTR, value: Buffer.from('y') });
  }
  const nodes: NodeSpec[] = [];
  for (const rel of whiteouts) {
    const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    if (parent !== '' && !(await isRealDir(ctx, parent))) continue;
    if (await lstat(join(root, rel)).then(() => true, () => false)) continue;
    nodes.push({ path: join(root, rel), kind: 'char', major: 0, minor: 0 });
  }
  await mknods(nodes);
  await lsetxattrs(xattrs);
  for (const [path, mtime] of dirTimes) {
    // a later entry may have replaced or removed the directory
    const stat = await lstat(path).catch(() => undefined);
    if (stat?.isDirectory()) await utimes(path, toTimes(mtime), toTimes(mtime));
  }
  return { ...counter.result(), compression };
}

/** The hardlink target's parents must be real directories inside the root, like any entry's. */
async function assertInside(root: string, rel: string, label: string, entryName: string): Promise<void> {
  const parts = rel.split('/');
  parts.pop();
  let current = root;
  for (const part of parts) {
    current = join(current, part);
    const stat = await lstat(current).catch(() => undefined);
    if (stat === undefined) throw invalidArgument(`layer ${label}: hardlink ${JSON.stringify(entryName)} targets a missing path`);
    if (!stat.isDirectory()) throw invalidArgument(`layer ${label}: hardlink ${JSON.stringify(entryName)} goes through symlink or file ${JSON.stringify(current.slice(root.length + 1))}`);
  }
}

/** Owner before mode: chown(2) clears setuid/setgid bits, so chmod must come after it. */
async function setMetadata(path: string, header: TarHeader, xattrs: XattrSet[]): Promise<void> {
  await lchown(path, header.uid, header.gid);
  if (header.type !== 'symlink') await chmod(path, header.mode);
  for (const [name, value] of header.xattrs) {
    // A layer must not forge overlayfs metadata (redirects, opaque flags) through its xattrs.
    if (name.startsWith('trusted.overlay.')) continue;
    xattrs.push({ path, name, value });
  }
}
