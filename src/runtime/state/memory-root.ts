/**
 * The runtime's state (state.json, the exec fifo, one directory per container) is made anew at
 * every create and start. On a disk filesystem each new inode is a journal transaction: 0.1–0.5 ms
 * per file on this VM's ext4 /run, several per start, a third of a library start. /run is a
 * tmpfs on most hosts; where it is not, the state root gets a tmpfs of its own, mounted once and
 * kept, as /run would be: it outlives the daemon (so do its containers) and ends with the boot
 * (so do they).
 */

import { mkdirSync, readdirSync, statfsSync } from 'node:fs';
import { type HostMount } from '../host-mount.ts';

const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

export type StateRootKind = 'memory' | 'mounted' | 'disk';

/**
 * Makes `root` memory-backed: as it is when it sits on a tmpfs or ramfs already ('memory'), or
 * by a tmpfs mounted on it ('mounted'). A root that holds state already stays where it is
 * ('disk'): a mount would hide its containers.
 */
export async function keepStateInMemory(root: string, mount: (m: HostMount, target: string) => Promise<void>): Promise<StateRootKind> {
  mkdirSync(root, { recursive: true, mode: 0o711 });
  const type = Number(statfsSync(root).type);
  if (type === TMPFS_MAGIC || type === RAMFS_MAGIC) return 'memory';
  if (readdirSync(root).length > 0) return 'disk';
  // a few kB per container; the inode limit is what bounds it (tmpfs's default, half of RAM, would too)
  await mount({ type: 'tmpfs', source: 'berth-state', options: ['mode=711', 'nosuid', 'nodev', 'noexec', 'size=64m'] }, root);
  return 'mounted';
}
