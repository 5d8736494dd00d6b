/**
 * A berthd with networking for a test file: its own default bridge, CNI prefix and netns dir
 * (no warm pool unless asked: background refills would move the host-wide counts tests
 * compare), and the way back afterwards — the daemon's networks destroyed, and the shared iptables chains, nft
 * tables, /run/netns and ip_forward as the test found them.
 */

import { randomBytes } from 'node:crypto';
import { access, readFile, rmdir, writeFile } from 'node:fs/promises';
import { NetworkManager } from '../../../src/network/index.ts';
import { nftTables, removeEmptyNewTables, removeSharedChains, sharedChainsExist } from '../network/helpers.ts';
import type { TestDaemon } from './helpers.ts';

export const cniPluginsPresent = await access('/usr/lib/cni/bridge').then(() => true, () => false);

export class NetworkTestEnv {
  /** random per test file: names of what the file makes (networks, bridges) carry it */
  readonly tag: string;
  readonly bridge: string;
  readonly cniPrefix: string;
  readonly netnsDir: string;
  #hadSharedChains = true;
  #hadIprouteDir = true;
  #tablesBefore = new Set<string>();
  #ipForward = '';
  readonly #pool: boolean;

  /** `pool`: keep berthd's warm pool (off by default: its refills move the host-wide counts tests compare). */
  constructor(prefix: string, options: { pool?: boolean } = {}) {
    const tag = randomBytes(3).toString('hex');
    this.tag = tag;
    this.#pool = options.pool === true;
    this.bridge = `${prefix}${tag}0`;
    this.cniPrefix = `${prefix}${tag}-`;
    this.netnsDir = `/run/berth/test-netns-${prefix}${tag}`;
  }

  get daemonArgs(): string[] {
    return ['--bridge', this.bridge, '--cni-prefix', this.cniPrefix, '--netns-dir', this.netnsDir, ...(this.#pool ? [] : ['--network-pool', '0'])];
  }

  /** Notes what the host had before the daemon starts. */
  async record(): Promise<void> {
    this.#hadSharedChains = await sharedChainsExist();
    this.#tablesBefore = await nftTables();
    this.#ipForward = await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8');
    this.#hadIprouteDir = await access('/run/netns').then(() => true, () => false);
  }

  /** Removes every container and network of `d`, stops it, and gives the host back. */
  async restore(d: TestDaemon): Promise<void> {
    try {
      for (const id of await d.containerIds().catch(() => [])) await d.docker('rm', '-f', id);
      await d.docker('network', 'prune', '-f').catch(() => undefined);
      await d.stop();
      // berthd keeps its default network across restarts; the test's one goes with the test
      const manager = new NetworkManager({ stateDir: d.root, netnsDir: this.netnsDir, defaultBridge: this.bridge, cniPrefix: this.cniPrefix, poolSize: 0 });
      await manager.init();
      await manager.destroy();
    } finally {
      await d.cleanup();
      await rmdir(this.netnsDir).catch(() => {});
      if (!this.#hadSharedChains) {
        await removeSharedChains();
        await removeEmptyNewTables(this.#tablesBefore);
      }
      if (!this.#hadIprouteDir) await rmdir('/run/netns').catch(() => {});
      if (this.#ipForward !== '') await writeFile('/proc/sys/net/ipv4/ip_forward', this.#ipForward);
    }
  }
}
