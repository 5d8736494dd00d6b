/**
 * The attachment cache, as libcni keeps one: for every (container, network) the exact config
 * list, interface, runtime config and result of the ADD. DEL must be called with the same
 * config and the same CNI container id that ADD saw (host-local releases leases and portmap
 * finds its chains by them), even after the network was edited or the daemon restarted, so DEL
 * reads everything from here. Files are written atomically; one directory per container makes
 * re-keying a pooled attachment to its container a single rename. They are not fsynced: what they
 * describe (namespaces, veths, iptables rules) dies with the kernel, so only a daemon crash must
 * find them, and the page cache outlives that. (A power loss leaves host-local's leases, which
 * reconcile prunes.) An fsync here costs milliseconds on every start.
 */

import { mkdir, readdir, readFile, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteSync } from '../../util/atomic-write.ts';
import { errorCode } from '../../util/errors.ts';
import type { CniResult, NetConfList, RuntimeConfig } from './types.ts';

export const CACHE_KIND = 'berth/cni-cache-v1';

export interface CacheEntry {
  readonly kind: typeof CACHE_KIND;
  /** Berth's container id (or a pool id while pooled). */
  readonly containerId: string;
  /** The CNI_CONTAINERID used at ADD; DEL must reuse it. */
  readonly cniContainerId: string;
  readonly network: string;
  readonly ifName: string;
  readonly netns: string;
  readonly args?: string;
  readonly runtimeConfig?: RuntimeConfig;
  readonly config: NetConfList;
  /** Absent while ADD runs: written first so a crash mid-ADD still leaves what DEL needs. */
  readonly result?: CniResult;
  /** Docker endpoint data kept with the attachment: DNS aliases and the container's name. */
  readonly aliases?: readonly string[];
  readonly name?: string;
  readonly endpointId: string;
  readonly created: string;
}

export class AttachmentCache {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  #path(containerId: string, network: string): string {
    return join(this.dir, containerId, `${network}.json`);
  }

  async put(entry: CacheEntry): Promise<void> {
    await mkdir(join(this.dir, entry.containerId), { recursive: true, mode: 0o700 });
    // A few KiB into the page cache: cheaper synchronously than through the thread pool.
    atomicWriteSync(this.#path(entry.containerId, entry.network), JSON.stringify(entry), { mode: 0o600, durable: false });
  }

  async get(containerId: string, network: string): Promise<CacheEntry | undefined> {
    try {
      return JSON.parse(await readFile(this.#path(containerId, network), 'utf8')) as CacheEntry;
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  async remove(containerId: string, network: string): Promise<void> {
    await rm(this.#path(containerId, network), { force: true });
    // Fails while another network is still attached, which is the point.
    await rmdir(join(this.dir, containerId)).catch(() => {});
  }

  async containers(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((name) => !name.startsWith('.')).sort();
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return [];
      throw err;
    }
  }

  async forContainer(containerId: string): Promise<CacheEntry[]> {
    let names: string[];
    try {
      names = await readdir(join(this.dir, containerId));
    } catch (err) {
      if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return [];
      throw err;
    }
    const entries: CacheEntry[] = [];
    for (const name of names.sort()) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      try {
        const entry = JSON.parse(await readFile(join(this.dir, containerId, name), 'utf8')) as CacheEntry;
        // The directory name is the truth: a crash inside rekey may leave the field stale.
        if (entry.kind === CACHE_KIND) entries.push({ ...entry, containerId });
      } catch {
        // A torn file cannot exist (atomic writes); anything unreadable is not ours.
      }
    }
    return entries;
  }

  async all(): Promise<CacheEntry[]> {
    const entries: CacheEntry[] = [];
    for (const id of await this.containers()) entries.push(...(await this.forContainer(id)));
    return entries;
  }

  /**
   * Moves a pooled attachment to its container with one atomic directory rename; the stale
   * containerId inside the files is ignored by readers (the directory name is the truth). With
   * `network`, returns only that network's entry.
   */
  async rekey(fromId: string, toId: string, network?: string): Promise<CacheEntry[]> {
    await rename(join(this.dir, fromId), join(this.dir, toId));
    if (network === undefined) return this.forContainer(toId);
    // The one attachment the caller knows of: a read instead of a listing and a read.
    const entry = await this.get(toId, network);
    return entry === undefined ? [] : [{ ...entry, containerId: toId }];
  }
}
