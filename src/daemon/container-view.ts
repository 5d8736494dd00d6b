/**
 * A container's tree as the host sees it: its rootfs plus what is mounted into it, and paths
 * resolved the way the container would resolve them — never out of its tree.
 */

import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { errorCode, invalidArgument } from '../util/errors.ts';

/** A source mounted into the container's tree: `destination` in the container, `source` on the host. */
export interface FsMount {
  destination: string;
  source: string;
  rw: boolean;
}

/** The container's tree as seen from the host: the rootfs plus what is mounted into it. */
export class ContainerView {
  readonly root: string;
  readonly #mounts: FsMount[];

  constructor(root: string, mounts: FsMount[]) {
    this.root = root;
    // longest destination first: the innermost mount wins
    this.#mounts = [...mounts].sort((a, b) => b.destination.length - a.destination.length);
  }

  #mountOf(path: string): FsMount | undefined {
    return this.#mounts.find((m) => path === m.destination || path.startsWith(`${m.destination}/`));
  }

  /** The host path of a resolved, absolute container path. */
  hostPath(path: string): string {
    const mount = this.#mountOf(path);
    if (mount) return join(mount.source, path.slice(mount.destination.length));
    return join(this.root, path);
  }

  writable(path: string): boolean {
    return this.#mountOf(path)?.rw ?? true;
  }

  /**
   * Resolves symlinks the way the container would, never leaving its tree: an absolute link
   * restarts from the container's root, `..` stops there. The last component is followed only
   * with `followLast`. Returns the resolved container path (which may not exist). Synchronous:
   * a few lstat calls on a local tree, each cheaper than a thread-pool round trip.
   */
  resolve(path: string, followLast: boolean): string {
    const pending = posix.normalize(`/${path}`).split('/').filter(Boolean);
    const done: string[] = [];
    let links = 0;
    while (pending.length > 0) {
      const part = pending.shift()!;
      if (part === '.') continue;
      if (part === '..') {
        done.pop();
        continue;
      }
      const candidate = `/${[...done, part].join('/')}`;
      if (pending.length === 0 && !followLast) {
        done.push(part);
        break;
      }
      let st: Stats;
      try {
        st = lstatSync(this.hostPath(candidate));
      } catch (err) {
        if (errorCode(err) !== 'ENOENT' && errorCode(err) !== 'ENOTDIR') throw err;
        done.push(part, ...pending);
        break;
      }
      if (!st.isSymbolicLink() || this.#mounts.some((m) => m.destination === candidate)) {
        done.push(part);
        continue;
      }
      if (++links > 40) throw invalidArgument(`resolve ${path}: too many levels of symbolic links`);
      const target = readlinkSync(this.hostPath(candidate));
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter(Boolean));
    }
    return `/${done.join('/')}`;
  }
}
