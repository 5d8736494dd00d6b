/**
 * moby's directory.Size, which it reports as a container's SizeRw and a volume's size: the
 * apparent bytes of everything under `dir` but directories, a hardlinked inode once; 0 when it is
 * gone. Synchronous for the reason the snapshotter's diskUsage is: a walk of many small lstats,
 * each a thread-pool round trip when awaited.
 */

import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode } from './errors.ts';

export function treeBytes(dir: string): number {
  const seen = new Set<string>();
  let total = 0;
  const visit = (path: string): void => {
    let names: string[];
    try {
      names = readdirSync(path);
    } catch (err) {
      if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return;
      throw err;
    }
    for (const name of names) {
      const child = join(path, name);
      let st;
      try {
        st = lstatSync(child);
      } catch (err) {
        if (errorCode(err) === 'ENOENT') continue;
        throw err;
      }
      if (st.isDirectory()) {
        visit(child);
        continue;
      }
      const inode = `${st.dev}:${st.ino}`;
      if (st.nlink > 1 && seen.has(inode)) continue;
      seen.add(inode);
      total += st.size;
    }
  };
  visit(dir);
  return total;
}
