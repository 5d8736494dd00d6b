/**
 * Turns an overlay upper directory back into a layer: the inverse of apply-layer. Whiteout
 * devices (0/0 char devices) become `.wh.NAME` entries and opaque directories gain a
 * `.wh..wh..opq` entry, so the layer means the same thing on any engine. Output is
 * deterministic (sorted names, no atime/ctime) so committing the same change twice yields the
 * same diffID.
 */

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Digest } from '../oci/image-spec.ts';
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from './tar/tar-writer.ts';
import type { TarWriteHeader } from './tar/tar-writer.ts';
import { lgetxattrs } from './fs-syscalls.ts';
import type { DiffResult } from './snapshotter.ts';

/** The layer-format spellings of overlayfs's whiteouts (OCI image-spec layer.md). */
export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_OPAQUE = '.wh..wh..opq';
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

interface Item {
  rel: string;
  stat: Stats;
}

async function collect(root: string): Promise<Item[]> {
  const items: Item[] = [];
  async function visit(dir: string, prefix: string): Promise<void> {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const path = join(dir, name);
      const rel = prefix ? `${prefix}/${name}` : name;
      const stat = await lstat(path);
      items.push({ rel, stat });
      if (stat.isDirectory()) await visit(path, rel);
    }
  }
  await visit(root, '');
  return items;
}

function isWhiteout(stat: Stats): boolean {
  return stat.isCharacterDevice() && stat.rdev === 0;
}

// glibc's gnu_dev_major/minor; rdev can exceed 32 bits, which JS bit operators truncate.
function major(rdev: number): number {
  return (((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff)) >>> 0;
}

function minor(rdev: number): number {
  return ((rdev & 0xff) | (Math.floor(rdev / 2 ** 12) & 0xffffff00)) >>> 0;
}

/** The layer tar of `upperDir`, as a stream of buffers. */
export async function* upperToTar(upperDir: string): AsyncGenerator<Buffer> {
  const items = await collect(upperDir);
  const xattrs = await lgetxattrs(items.map((i) => join(upperDir, i.rel)));
  const firstPathOfInode = new Map<string, string>();
  for (const [index, { rel, stat }] of items.entries()) {
    const attrs = xattrs[index] ?? new Map<string, Buffer>();
    const mtime = Math.floor(stat.mtimeMs / 1000);
    const kept = new Map([...attrs].filter(([name]) => !name.startsWith('trusted.overlay.')));
    const base: Omit<TarWriteHeader, 'type'> = { name: rel, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, mtime, xattrs: kept };
    if (isWhiteout(stat)) {
      const slash = rel.lastIndexOf('/');
      const name = `${rel.slice(0, slash + 1)}${WHITEOUT_PREFIX}${rel.slice(slash + 1)}`;
      yield encodeTarHeader({ name, type: 'file', mode: 0, mtime });
      continue;
    }
    if (stat.isDirectory()) {
      yield encodeTarHeader({ ...base, name: `${rel}/`, type: 'dir' });
      if (attrs.get(OPAQUE_XATTR)?.toString() === 'y') yield encodeTarHeader({ name: `${rel}/${WHITEOUT_OPAQUE}`, type: 'file', mode: 0, mtime });
      continue;
    }
    if (stat.isSymbolicLink()) {
      yield encodeTarHeader({ ...base, type: 'symlink', linkname: await readlink(join(upperDir, rel)) });
      continue;
    }
    if (stat.isFile()) {
      const inode = `${stat.dev}:${stat.ino}`;
      const first = stat.nlink > 1 ? firstPathOfInode.get(inode) : undefined;
      if (first !== undefined) {
        yield encodeTarHeader({ ...base, type: 'link', linkname: first });
        continue;
      }
      if (stat.nlink > 1) firstPathOfInode.set(inode, rel);
      yield encodeTarHeader({ ...base, type: 'file', size: stat.size });
      let written = 0;
      for await (const chunk of createReadStream(join(upperDir, rel))) {
        const buf = chunk as Buffer;
        // A file that grows while we read would corrupt the archive: stop at the recorded size.
        const take = buf.subarray(0, Math.max(0, stat.size - written));
        written += take.length;
        if (take.length > 0) yield take;
      }
      if (written < stat.size) yield Buffer.alloc(stat.size - written);
      yield tarPadding(stat.size);
      continue;
    }
    const type = stat.isCharacterDevice() ? 'char' : stat.isBlockDevice() ? 'block' : stat.isFIFO() ? 'fifo' : undefined;
    if (type === undefined) continue; // sockets cannot be archived
    yield encodeTarHeader({ ...base, type, devmajor: major(stat.rdev), devminor: minor(stat.rdev) });
  }
  yield END_OF_ARCHIVE;
}

function hashing(): { transform: Transform; digest: () => Digest; size: () => number } {
  const hash = createHash('sha256');
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  return { transform, digest: () => `sha256:${hash.digest('hex')}`, size: () => size };
}

/** Writes the gzip layer of `upperDir` to `out` and reports its diffID, digest and size. */
export async function writeDiff(upperDir: string, out: Writable): Promise<DiffResult> {
  const uncompressed = hashing();
  const compressed = hashing();
  await pipeline(Readable.from(upperToTar(upperDir)), uncompressed.transform, createGzip(), compressed.transform, out);
  return { diffId: uncompressed.digest(), digest: compressed.digest(), size: compressed.size() };
}
