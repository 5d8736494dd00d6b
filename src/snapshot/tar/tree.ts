/**
 * A directory tree (or one file) as a tar stream: what `docker cp` out of a container and the
 * builder's COPY send. Hard links inside the tree stay links; sockets are skipped (tar has no
 * type for them); a file that grows while it is read is cut at the size its header announced.
 */

import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from './tar-writer.ts';

export interface TreeOptions {
  /** owner of every entry instead of the file's own (COPY --chown) */
  uid?: number;
  gid?: number;
  /** permission bits of every entry instead of the file's own (COPY --chmod) */
  mode?: number;
  /** leave out the end-of-archive blocks (to concatenate several trees into one archive) */
  open?: boolean;
}

/** The tar stream of `hostPath` with entries named under `name` ('' for the tree's contents at the top). */
export async function* tarTree(hostPath: string, name: string, options: TreeOptions = {}): AsyncGenerator<Buffer> {
  const links = new Map<string, string>();
  async function* entry(path: string, rel: string): AsyncGenerator<Buffer> {
    const st = await lstat(path);
    const base = {
      mode: options.mode ?? st.mode & 0o7777,
      uid: options.uid ?? st.uid,
      gid: options.gid ?? st.gid,
      mtime: Math.floor(st.mtimeMs / 1000),
    };
    if (st.isDirectory()) {
      if (rel !== '') yield encodeTarHeader({ ...base, name: `${rel}/`, type: 'dir' });
      for (const child of (await readdir(path)).sort()) yield* entry(join(path, child), rel === '' ? child : `${rel}/${child}`);
      return;
    }
    if (st.isSymbolicLink()) {
      yield encodeTarHeader({ ...base, name: rel, type: 'symlink', linkname: await readlink(path) });
      return;
    }
    if (st.isFile()) {
      const inode = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? links.get(inode) : undefined;
      if (first !== undefined) {
        yield encodeTarHeader({ ...base, name: rel, type: 'link', linkname: first });
        return;
      }
      if (st.nlink > 1) links.set(inode, rel);
      yield encodeTarHeader({ ...base, name: rel, type: 'file', size: st.size });
      let written = 0;
      for await (const chunk of createReadStream(path)) {
        const take = (chunk as Buffer).subarray(0, Math.max(0, st.size - written));
        written += take.length;
        if (take.length > 0) yield take;
      }
      if (written < st.size) yield Buffer.alloc(st.size - written);
      yield tarPadding(st.size);
      return;
    }
    const type = st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : undefined;
    if (type === undefined) return;
    yield encodeTarHeader({ ...base, name: rel, type, devmajor: Math.floor(st.rdev / 256) & 0xfff, devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00) });
  }
  yield* entry(hostPath, name);
  if (options.open !== true) yield END_OF_ARCHIVE;
}
