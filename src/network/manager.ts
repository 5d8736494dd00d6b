/**
 * The network service the daemon drives: networks (create, remove, list, inspect in Docker's
 * shape), a container's network namespace and its attachments (prepare, connect, disconnect,
 * teardown), published ports, the warm pool, and reconciliation after a crash. Everything the
 * kernel sees is made by spawned tools and CNI plugins; everything needed to undo it is on disk
 * before it is made (the attachment cache), so teardown and reconcile work after kill -9.
 */

import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { conflict, EngineError, errorCode, invalidArgument, notFound } from '../util/errors.ts';
import { AttachmentCache } from './cni/cache.ts';
import type { CacheEntry } from './cni/cache.ts';
import { bridgeConflist } from './cni/conflist.ts';
import { BACKGROUND_NICENESS, CniRunner, DEFAULT_PLUGIN_DIRS } from './cni/runner.ts';
import type { RunMode } from './cni/runner.ts';
import { waitForHelpers } from './cni/inflight.ts';
import type { Attachment, CniPortMapping, CniResult, NetConfList } from './cni/types.ts';
import { run } from './exec.ts';
import { contains, firstHost, formatCidr, formatIPv4, hostPrefixes, overlaps, parseCidr, parseIPv4, pickSubnet, resolverPrefixes, DEFAULT_CANDIDATES } from './ipam/cidr.ts';
import type { Prefix } from './ipam/cidr.ts';
import { aliasNetns, createNetns, deleteNetns, listNetns, NETNS_DIR, netnsPath, pruneIprouteLinks } from './netns/netns.ts';
import type { NetnsOptions } from './netns/netns.ts';
import { WarmPool } from './pool/pool.ts';
import { flushUdpConntrack } from './ports/conntrack.ts';
import { PortRegistry, probeHostPort, sameHostPort } from './ports/ports.ts';
import type { PortMapping } from './ports/ports.ts';
import { NetworkStore } from './store.ts';
import type { NetworkRecord } from './store.ts';

export const DEFAULT_NETWORK = 'bridge';
/** host-local's default lease directory: one sub-directory per CNI network name. */
const HOST_LOCAL_DIR = '/var/lib/cni/networks';
/** Draws of a free host port for `-p 80` before giving up (the kernel's pick may be one we publish). */
const HOST_PORT_DRAWS = 32;
/**
 * A refill spawns `unshare` and three plugins that run iptables: begun at once, it competes for
 * the CPU with the rest of the start that took the entry (runtime create and start, tens of ms).
 */
const POOL_REFILL_DELAY_MS = 250;

export interface NetworkManagerOptions {
  /** Berth's state root (default /var/lib/berth): networks/ and cni/results/ live under it. */
  readonly stateDir?: string;
  readonly netnsDir?: string;
  /** /run/netns by default; null: no iproute2 links. */
  readonly iprouteDir?: string | null;
  readonly pluginDirs?: readonly string[];
  /** Warm pool size; 0 disables the pool. Default 2. */
  readonly poolSize?: number;
  /** Time after a start on the default network before the pool refills (ms). Default 250. */
  readonly poolRefillDelayMs?: number;
  readonly defaultBridge?: string;
  readonly defaultSubnet?: string;
  /** Prefix of CNI network names (lease directories, iptables comments). Default `berth-`. */
  readonly cniPrefix?: string;
  readonly subnetCandidates?: readonly string[];
  /** Host prefixes to avoid; default: read `ip -j route/addr` and /etc/resolv.conf. Injected by tests. */
  readonly hostPrefixes?: () => Promise<Prefix[]>;
  /** Where trouble that fails nothing is reported (default: stderr). */
  readonly warn?: (message: string) => void;
}

export interface CreateNetworkOptions {
  readonly name: string;
  readonly subnet?: string;
  readonly gateway?: string;
  readonly internal?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  readonly options?: Readonly<Record<string, string>>;
}

export interface AttachOptions {
  /** Network name or id; default `bridge`. */
  readonly network?: string;
  readonly ports?: readonly PortMapping[];
  /** A static IPv4 address inside the network's subnet. */
  readonly ip?: string;
  readonly aliases?: readonly string[];
  /** The container's name, shown in network inspect. */
  readonly name?: string;
}

/** One attachment as the daemon shows it (Docker's EndpointSettings, plus the interface). */
export interface Endpoint {
  readonly network: string;
  readonly networkId: string;
  readonly endpointId: string;
  readonly ifName: string;
  readonly ipAddress: string;
  readonly ipPrefixLen: number;
  readonly gateway: string;
  readonly macAddress: string;
  readonly aliases: readonly string[];
  readonly ports: readonly PortMapping[];
}

export interface Sandbox {
  /** Path for the OCI config: linux.namespaces[{type: 'network', path}]. */
  readonly netnsPath: string;
  readonly endpoints: readonly Endpoint[];
  /** Whether the namespace came from the warm pool. */
  readonly pooled: boolean;
}

/** Docker's network JSON (GET /networks/{id}). */
export interface NetworkInspect {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: 'bridge';
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Options: Record<string, string>; Config: { Subnet: string; Gateway?: string }[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(() => true, () => false);
}

function randomId(): string {
  return randomBytes(32).toString('hex');
}

function toCni(mapping: PortMapping): CniPortMapping {
  const base = { hostPort: mapping.hostPort, containerPort: mapping.containerPort, protocol: mapping.protocol };
  return mapping.hostIP ? { ...base, hostIP: mapping.hostIP } : base;
}

function fromCni(mapping: CniPortMapping): PortMapping {
  return { hostIP: mapping.hostIP ?? '', hostPort: mapping.hostPort, containerPort: mapping.containerPort, protocol: mapping.protocol };
}

function entryPorts(entry: CacheEntry): PortMapping[] {
  return (entry.runtimeConfig?.portMappings ?? []).map(fromCni);
}

function endpointOf(entry: CacheEntry, record: NetworkRecord | undefined): Endpoint {
  const ipConfig = entry.result?.ips?.[0];
  const [address = '', bits = '0'] = (ipConfig?.address ?? '').split('/');
  const iface = entry.result?.interfaces?.find((i) => i.name === entry.ifName && i.sandbox);
  return {
    network: entry.network,
    networkId: record?.id ?? '',
    endpointId: entry.endpointId,
    ifName: entry.ifName,
    ipAddress: address,
    ipPrefixLen: Number(bits),
    gateway: record?.internal === true ? '' : (ipConfig?.gateway ?? ''),
    macAddress: iface?.mac ?? '',
    aliases: entry.aliases ?? [],
    ports: entryPorts(entry),
  };
}

/**
 * The result an ADD that never recorded one would have had, as far as DEL needs it: the address
 * host-local leased to the attachment (lease files are named by address and hold the CNI
 * container id and interface). Without it the firewall plugin's DEL removes nothing.
 */
async function leasedResult(entry: CacheEntry): Promise<CniResult | undefined> {
  const dir = join(HOST_LOCAL_DIR, entry.config.name);
  const names = await readdir(dir).catch(() => [] as string[]);
  const range = (entry.config.plugins[0]?.['ipam'] as { ranges?: { subnet?: string; gateway?: string }[][] } | undefined)?.ranges?.[0]?.[0];
  const bits = range?.subnet?.split('/')[1] ?? '32';
  for (const name of names) {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(name)) continue;
    const [owner = '', ifName = ''] = (await readFile(join(dir, name), 'utf8').catch(() => '')).split(/\r?\n/).map((l) => l.trim());
    if (owner !== entry.cniContainerId || (ifName !== '' && ifName !== entry.ifName)) continue;
    const ip = { address: `${name}/${bits}`, ...(range?.gateway === undefined ? {} : { gateway: range.gateway }) };
    return { cniVersion: entry.config.cniVersion, interfaces: [], ips: [ip] };
  }
  return undefined;
}

async function readHostPrefixes(): Promise<Prefix[]> {
  const routes = await run('ip', ['-j', '-4', 'route', 'show', 'table', 'all']);
  const addrs = await run('ip', ['-j', '-4', 'addr', 'show']);
  const resolv = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      return [];
    }
  };
  return [...hostPrefixes(parse(routes.stdout), parse(addrs.stdout)), ...resolverPrefixes(resolv)];
}

/** The uplink's MTU when below Ethernet's 1500 (as on this VM's 1400): a bridge bigger than its uplink black-holes large packets. */
async function uplinkMtu(): Promise<number | undefined> {
  const routes = await run('ip', ['-j', '-4', 'route', 'show', 'default']);
  try {
    const dev = (JSON.parse(routes.stdout) as { dev?: string }[])[0]?.dev;
    if (dev === undefined) return undefined;
    const link = await run('ip', ['-j', 'link', 'show', 'dev', dev]);
    const mtu = (JSON.parse(link.stdout) as { mtu?: number }[])[0]?.mtu;
    return mtu !== undefined && mtu < 1500 ? mtu : undefined;
  } catch {
    return undefined;
  }
}

export class NetworkManager {
  readonly runner: CniRunner;
  readonly cache: AttachmentCache;
  readonly store: NetworkStore;
  readonly pool: WarmPool;
  readonly ports = new PortRegistry();
  readonly #options: NetworkManagerOptions;
  readonly #netns: NetnsOptions;
  readonly #networks = new Map<string, { record: NetworkRecord; conflist: NetConfList }>();
  #lock: Promise<unknown> = Promise.resolve();
  /**
   * The last operation queued per container (or pool) id. Everything that changes one id's
   * attachments runs behind it, so a teardown waits for an ADD still in flight instead of
   * running DEL without the result (the firewall plugin then cannot find its rules), and
   * reconcile leaves alone what this process is working on.
   */
  readonly #busy = new Map<string, Promise<unknown>>();

  constructor(options: NetworkManagerOptions = {}) {
    this.#options = options;
    const stateDir = options.stateDir ?? '/var/lib/berth';
    this.runner = new CniRunner(options.pluginDirs ?? DEFAULT_PLUGIN_DIRS);
    this.cache = new AttachmentCache(join(stateDir, 'cni', 'results'));
    this.store = new NetworkStore(join(stateDir, 'networks'));
    this.#netns = {
      ...(options.netnsDir === undefined ? {} : { dir: options.netnsDir }),
      ...(options.iprouteDir === undefined ? {} : { iprouteDir: options.iprouteDir }),
    };
    this.pool = new WarmPool(options.poolSize ?? 2, {
      create: (id) => this.#createPooled(id),
      destroy: (id) => this.teardown(id),
    });
  }

  /**
   * Runs `fn` once every operation queued before on any of `ids` settled. The ids are marked busy
   * synchronously, in the caller's tick: a check-then-claim needs no await between the two.
   */
  #exclusive<T>(ids: readonly string[], fn: () => Promise<T>): Promise<T> {
    const before = ids.flatMap((id) => {
      const queued = this.#busy.get(id);
      return queued === undefined ? [] : [queued];
    });
    const result = Promise.all(before).then(fn);
    const settled = result.then(() => {}, () => {});
    for (const id of ids) this.#busy.set(id, settled);
    void settled.then(() => {
      for (const id of ids) if (this.#busy.get(id) === settled) this.#busy.delete(id);
    });
    return result;
  }

  /** Whether this process is working on the id (an operation queued or running, or a pool entry). */
  #claimed(id: string): boolean {
    return this.#busy.has(id) || this.pool.owned().has(id);
  }

  /** Network create/remove one at a time: subnet choice must see every network made before. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#lock.then(fn, fn);
    this.#lock = next.catch(() => {});
    return next;
  }

  /** Loads networks, makes the default one if missing, rebuilds the port registry, starts the pool. */
  async init(): Promise<void> {
    for (const record of await this.store.load()) {
      const conflist = bridgeConflist({ ...record, ...(record.mtu === undefined ? {} : { mtu: record.mtu }) });
      this.#networks.set(record.name, { record, conflist });
    }
    if (!this.#networks.has(DEFAULT_NETWORK)) {
      await this.#create({
        name: DEFAULT_NETWORK,
        ...(this.#options.defaultSubnet === undefined ? {} : { subnet: this.#options.defaultSubnet }),
      }, this.#options.defaultBridge ?? 'berth0');
    }
    // A previous daemon killed mid-ADD or mid-DEL may have left plugins running on our namespaces
    // (each of them had its namespace file or cache entry written first: none, nothing to wait for).
    if ((await this.cache.containers()).length > 0 || (await listNetns(this.#netns)).length > 0) await waitForHelpers(this.#netns.dir ?? NETNS_DIR);
    await this.#dropStalePool();
    for (const entry of await this.cache.all()) {
      const ports = entryPorts(entry);
      if (ports.length > 0) this.ports.reserve(entry.containerId, ports);
    }
    if (this.pool.size > 0) this.pool.start();
  }

  /**
   * Pool entries a previous process left (never taken: a taken one was renamed to its
   * container). Pool ids are never container ids, so no list of live containers is needed.
   */
  async #dropStalePool(): Promise<void> {
    const netns = await listNetns(this.#netns);
    const taken = new Set(netns.flatMap((n) => (n.aliasOf === undefined ? [] : [n.aliasOf])));
    for (const id of await this.cache.containers()) if (WarmPool.isPoolId(id) && !this.#claimed(id)) await this.teardown(id);
    for (const ns of netns) {
      if (!WarmPool.isPoolId(ns.id) || ns.aliasOf !== undefined || taken.has(ns.id) || this.#claimed(ns.id)) continue;
      await this.#exclusive([ns.id], () => deleteNetns(ns.id, this.#netns));
    }
  }

  /** Stops the pool and gives its namespaces back. Attached containers are left as they are. */
  async close(): Promise<void> {
    await this.pool.drain();
  }

  #find(nameOrId: string): { record: NetworkRecord; conflist: NetConfList } {
    const byName = this.#networks.get(nameOrId);
    if (byName !== undefined) return byName;
    const matches = [...this.#networks.values()].filter((n) => nameOrId.length >= 3 && n.record.id.startsWith(nameOrId));
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) throw invalidArgument(`find network ${nameOrId}: ambiguous id prefix`);
    throw notFound(`find network ${nameOrId}: no such network`);
  }

  createNetwork(options: CreateNetworkOptions): Promise<NetworkInspect> {
    return this.#serial(async () => {
      const record = await this.#create(options, undefined);
      return this.#inspect(record, await this.cache.all());
    });
  }

  async #create(options: CreateNetworkOptions, bridgeName: string | undefined): Promise<NetworkRecord> {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(options.name)) throw invalidArgument(`create network ${JSON.stringify(options.name)}: invalid name`);
    if (this.#networks.has(options.name)) throw new EngineError('already-exists', `create network ${options.name}: network with name ${options.name} already exists`);
    const ours = [...this.#networks.values()].map((n) => parseCidr(n.record.subnet));
    const host = await (this.#options.hostPrefixes ?? readHostPrefixes)();
    let subnet: Prefix;
    if (options.subnet !== undefined) {
      subnet = parseCidr(options.subnet);
      if (subnet.bits > 30) throw invalidArgument(`create network ${options.name}: subnet ${options.subnet} is too small`);
      const clash = [...ours, ...host].find((p) => overlaps(p, subnet));
      if (clash !== undefined) throw conflict(`create network ${options.name}: subnet ${formatCidr(subnet)} overlaps ${formatCidr(clash)} in use on this host`);
    } else {
      const picked = pickSubnet([...ours, ...host], this.#options.subnetCandidates ?? DEFAULT_CANDIDATES);
      if (picked === undefined) throw new EngineError('unavailable', `create network ${options.name}: all predefined address pools overlap this host's networks`);
      subnet = picked;
    }
    const gateway = options.gateway ?? formatIPv4(firstHost(subnet));
    if (!contains(subnet, parseIPv4(gateway)) || parseIPv4(gateway) === subnet.base) {
      throw invalidArgument(`create network ${options.name}: gateway ${gateway} is not a host address of ${formatCidr(subnet)}`);
    }
    const id = randomId();
    const bridge = bridgeName ?? options.options?.['com.docker.network.bridge.name'] ?? `br-${id.slice(0, 12)}`;
    if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge)) throw invalidArgument(`create network ${options.name}: invalid bridge name ${bridge}`);
    const mtu = await uplinkMtu();
    const record: NetworkRecord = {
      name: options.name,
      id,
      created: new Date().toISOString(),
      cniName: `${this.#options.cniPrefix ?? 'berth-'}${options.name}`,
      bridge,
      subnet: formatCidr(subnet),
      gateway,
      internal: options.internal === true,
      ...(mtu === undefined ? {} : { mtu }),
      labels: { ...options.labels },
      // docker reports the bridge name as an option of the default network only (compose compares options)
      options: bridgeName !== undefined ? { ...options.options, 'com.docker.network.bridge.name': bridge } : { ...options.options },
    };
    const conflist = bridgeConflist({ ...record, ...(mtu === undefined ? {} : { mtu }) });
    await this.store.save(record, conflist);
    this.#networks.set(record.name, { record, conflist });
    return record;
  }

  /** Refuses the default network and networks with containers attached, as Docker does. */
  removeNetwork(nameOrId: string): Promise<void> {
    return this.#serial(async () => {
      const { record } = this.#find(nameOrId);
      if (record.name === DEFAULT_NETWORK) throw new EngineError('forbidden', `remove network ${record.name}: ${record.name} is a pre-defined network and cannot be removed`);
      const attached = (await this.cache.all()).filter((e) => e.network === record.name);
      if (attached.length > 0) throw conflict(`remove network ${record.name}: network has active endpoints (${attached.map((e) => e.containerId.slice(0, 12)).join(', ')})`);
      await this.#destroyNetwork(record);
    });
  }

  /** docker network prune: user networks with no container attached; returns their names. */
  pruneNetworks(): Promise<string[]> {
    return this.#serial(async () => {
      const inUse = new Set((await this.cache.all()).map((e) => e.network));
      const removed: string[] = [];
      for (const { record } of [...this.#networks.values()]) {
        if (record.name === DEFAULT_NETWORK || inUse.has(record.name)) continue;
        await this.#destroyNetwork(record);
        removed.push(record.name);
      }
      return removed;
    });
  }

  async #destroyNetwork(record: NetworkRecord): Promise<void> {
    await this.store.remove(record.name);
    this.#networks.delete(record.name);
    // The bridge plugin makes the bridge on first ADD and never deletes it.
    await run('ip', ['link', 'delete', record.bridge, 'type', 'bridge']);
    await rm(join(HOST_LOCAL_DIR, record.cniName), { recursive: true, force: true });
  }

  /**
   * Removes everything this manager made, the default network included: pool, attachments of
   * every container, bridges, lease directories. For tests and uninstall, not for the daemon.
   */
  async destroy(): Promise<void> {
    await this.pool.drain();
    for (const id of await this.cache.containers()) await this.teardown(id);
    for (const { record } of [...this.#networks.values()]) await this.#destroyNetwork(record);
  }

  async list(): Promise<NetworkInspect[]> {
    const entries = await this.cache.all();
    return [...this.#networks.values()].map((n) => this.#inspect(n.record, entries));
  }

  /** A network's name and id, without the attachment listing inspect reads (container create asks this). */
  lookup(nameOrId: string): { name: string; id: string } {
    const { record } = this.#find(nameOrId);
    return { name: record.name, id: record.id };
  }

  async inspect(nameOrId: string): Promise<NetworkInspect> {
    return this.#inspect(this.#find(nameOrId).record, await this.cache.all());
  }

  #inspect(record: NetworkRecord, entries: readonly CacheEntry[]): NetworkInspect {
    const containers: NetworkInspect['Containers'] = {};
    for (const entry of entries) {
      if (entry.network !== record.name || WarmPool.isPoolId(entry.containerId) || entry.result === undefined) continue;
      const endpoint = endpointOf(entry, record);
      containers[entry.containerId] = {
        Name: entry.name ?? '',
        EndpointID: entry.endpointId,
        MacAddress: endpoint.macAddress,
        IPv4Address: `${endpoint.ipAddress}/${endpoint.ipPrefixLen}`,
        IPv6Address: '',
      };
    }
    return {
      Name: record.name,
      Id: record.id,
      Created: record.created,
      Scope: 'local',
      Driver: 'bridge',
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: record.subnet, ...(record.internal ? {} : { Gateway: record.gateway }) }] },
      Internal: record.internal,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: { ...record.options },
      Labels: { ...record.labels },
    };
  }

  /** Endpoints of a container, for NetworkSettings in container inspect. */
  async endpoints(containerId: string): Promise<Endpoint[]> {
    return (await this.cache.forContainer(containerId))
      .filter((e) => e.result !== undefined)
      .map((e) => endpointOf(e, this.#networks.get(e.network)?.record));
  }

  /**
   * Probes and reserves host ports (picking free ones for hostPort 0) before any ADD, so a
   * conflict is refused with nothing to undo.
   */
  async #reservePorts(containerId: string, record: NetworkRecord, ports: readonly PortMapping[]): Promise<PortMapping[]> {
    if (ports.length === 0) return [];
    if (record.internal) throw invalidArgument(`publish ports on network ${record.name}: an internal network cannot publish ports`);
    const resolved: PortMapping[] = [];
    for (const { hostPortEnd, ...mapping } of ports) {
      if (hostPortEnd === undefined && mapping.hostPort !== 0) {
        resolved.push({ ...mapping, hostPort: await probeHostPort(mapping) });
        continue;
      }
      if (hostPortEnd === undefined) {
        // The kernel's free port knows nothing of ports published by DNAT (no socket holds them).
        let chosen: PortMapping | undefined;
        for (let draw = 0; draw < HOST_PORT_DRAWS && chosen === undefined; draw++) {
          const candidate = { ...mapping, hostPort: await probeHostPort(mapping) };
          if (!this.ports.isHeld(candidate) && !resolved.some((r) => sameHostPort(r, candidate))) chosen = candidate;
        }
        if (chosen === undefined) throw conflict(`publish port ${mapping.protocol}: no free host port after ${HOST_PORT_DRAWS} draws`);
        resolved.push(chosen);
        continue;
      }
      // A range: the first port neither the engine nor a host process holds.
      let chosen: PortMapping | undefined;
      for (let port = mapping.hostPort; port <= hostPortEnd && chosen === undefined; port++) {
        const candidate = { ...mapping, hostPort: port };
        if (this.ports.isHeld(candidate) || resolved.some((r) => sameHostPort(r, candidate))) continue;
        if (await probeHostPort(candidate).then(() => true, () => false)) chosen = candidate;
      }
      if (chosen === undefined) throw conflict(`publish port ${mapping.hostPort}-${hostPortEnd}/${mapping.protocol}: every port of the range is in use`);
      resolved.push(chosen);
    }
    this.ports.reserve(containerId, resolved);
    return resolved;
  }

  /**
   * Makes the container's network namespace and attaches it to one network (eth0). On the default
   * network without a static IP this takes a namespace from the warm pool when one is ready.
   * Never leaves anything behind on failure.
   */
  prepare(containerId: string, options: AttachOptions = {}): Promise<Sandbox> {
    return this.#exclusive([containerId], () => this.#prepare(containerId, options));
  }

  async #prepare(containerId: string, options: AttachOptions): Promise<Sandbox> {
    const { record, conflist } = this.#find(options.network ?? DEFAULT_NETWORK);
    if ((await this.cache.forContainer(containerId)).length > 0 || (await exists(netnsPath(containerId, this.#netns)))) {
      throw conflict(`prepare network of container ${containerId.slice(0, 12)}: it already has a network namespace`);
    }
    const ports = await this.#reservePorts(containerId, record, options.ports ?? []);
    try {
      const pooled = record.name === DEFAULT_NETWORK && options.ip === undefined ? this.pool.take() : undefined;
      if (record.name === DEFAULT_NETWORK && this.pool.size > 0) this.pool.replenish(this.#options.poolRefillDelayMs ?? POOL_REFILL_DELAY_MS);
      if (pooled !== undefined) {
        // Claimed in the tick of the take: reconcile never sees it unowned.
        return await this.#exclusive([pooled], () => this.#adoptPooled(pooled, containerId, ports, options));
      }
      const path = await createNetns(containerId, this.#netns);
      const endpoint = await this.#attach(containerId, record, conflist, path, 'eth0', ports, options);
      return { netnsPath: path, endpoints: [endpoint], pooled: false };
    } catch (err) {
      this.ports.release(containerId);
      await this.#teardown(containerId).catch(() => {});
      throw err;
    }
  }

  #createPooled(poolId: string): Promise<void> {
    return this.#exclusive([poolId], async () => {
      const { record, conflist } = this.#find(DEFAULT_NETWORK);
      const path = await createNetns(poolId, this.#netns, { niceness: BACKGROUND_NICENESS });
      try {
        await this.#attach(poolId, record, conflist, path, 'eth0', [], {}, { background: true });
      } catch (err) {
        await deleteNetns(poolId, this.#netns).catch(() => {});
        throw err;
      }
    });
  }

  /** Pooled namespace → container: a directory rename, a symlink, and portmap only if ports are published. */
  async #adoptPooled(poolId: string, containerId: string, ports: readonly PortMapping[], options: AttachOptions): Promise<Sandbox> {
    let moved: CacheEntry | undefined;
    let path: string;
    try {
      [moved] = await this.cache.rekey(poolId, containerId, DEFAULT_NETWORK);
    } catch (err) {
      // Still under the pool's name: nobody else will ever give it back.
      await this.#teardown(poolId).catch(() => {});
      throw err;
    }
    try {
      path = await aliasNetns(poolId, containerId, this.#netns);
    } catch (err) {
      // The container's teardown finds the mount only through the alias that was not made:
      // DEL while the namespace still exists, then unmount it under its pool name.
      await this.#teardown(containerId).catch(() => {});
      await deleteNetns(poolId, this.#netns).catch(() => {});
      throw err;
    }
    if (moved === undefined) throw new EngineError('internal', `take pooled network namespace ${poolId}: its attachment is missing`);
    let entry: CacheEntry = moved;
    if (ports.length > 0 || options.name !== undefined || options.aliases !== undefined) {
      entry = { ...entry, ...(options.name === undefined ? {} : { name: options.name }), aliases: options.aliases ?? [] };
    }
    if (ports.length > 0) {
      const portmap = entry.config.plugins.find((p) => p.type === 'portmap');
      if (portmap === undefined || entry.result === undefined) throw new EngineError('internal', `publish ports of container ${containerId.slice(0, 12)}: network has no portmap plugin`);
      const runtimeConfig = { ...entry.runtimeConfig, portMappings: ports.map(toCni) };
      entry = { ...entry, runtimeConfig };
      // DEL of the whole chain reads portMappings from the cache: record them before the rules exist.
      await this.cache.put(entry);
      const att = this.#attachmentOf(entry);
      await this.runner.execPlugin('ADD', entry.config, portmap, att, entry.result);
    } else if (entry !== moved) {
      await this.cache.put(entry);
    }
    return { netnsPath: path, endpoints: [endpointOf(entry, this.#networks.get(entry.network)?.record)], pooled: true };
  }

  #attachmentOf(entry: CacheEntry): Attachment {
    return {
      containerId: entry.cniContainerId,
      netns: entry.netns,
      ifName: entry.ifName,
      ...(entry.args === undefined ? {} : { args: entry.args }),
      ...(entry.runtimeConfig === undefined ? {} : { runtimeConfig: entry.runtimeConfig }),
    };
  }

  async #attach(containerId: string, record: NetworkRecord, conflist: NetConfList, path: string, ifName: string, ports: readonly PortMapping[], options: AttachOptions, mode: RunMode = {}): Promise<Endpoint> {
    if (options.ip !== undefined) {
      const address = parseIPv4(options.ip);
      if (!contains(parseCidr(record.subnet), address) || options.ip === record.gateway) {
        throw invalidArgument(`attach to network ${record.name}: address ${options.ip} is not a free host address of ${record.subnet}`);
      }
    }
    const pending: CacheEntry = {
      kind: 'berth/cni-cache-v1',
      containerId,
      cniContainerId: containerId,
      network: record.name,
      ifName,
      netns: path,
      ...(options.ip === undefined ? {} : { args: `IgnoreUnknown=1;IP=${options.ip}` }),
      ...(ports.length === 0 ? {} : { runtimeConfig: { portMappings: ports.map(toCni) } }),
      config: conflist,
      aliases: options.aliases ?? [],
      ...(options.name === undefined ? {} : { name: options.name }),
      endpointId: randomId(),
      created: new Date().toISOString(),
    };
    // Written before ADD: after a crash mid-ADD, reconcile still knows what to DEL.
    await this.cache.put(pending);
    const att = this.#attachmentOf(pending);
    try {
      const result = await this.runner.add(conflist, att, mode);
      const entry: CacheEntry = { ...pending, result };
      await this.cache.put(entry);
      return endpointOf(entry, record);
    } catch (err) {
      // runner.add has already run DEL for the chain; a failed cache write needs it here.
      if (!(err instanceof EngineError)) await this.runner.del(conflist, att, undefined, mode).catch(() => {});
      await this.cache.remove(containerId, record.name);
      throw err;
    }
  }

  /** CNI CHECK of every attachment of a container: throws the plugin's error when one drifted. */
  async check(containerId: string): Promise<void> {
    for (const entry of await this.cache.forContainer(containerId)) {
      if (entry.result === undefined) throw new EngineError('failed-precondition', `check network ${entry.network} of container ${containerId.slice(0, 12)}: attachment was never completed`);
      await this.runner.check(entry.config, this.#attachmentOf(entry), entry.result);
    }
  }

  /** docker network connect: another interface (eth1, eth2, …) in the container's namespace. */
  connect(containerId: string, network: string, options: Omit<AttachOptions, 'network'> = {}): Promise<Endpoint> {
    return this.#exclusive([containerId], () => this.#connect(containerId, network, options));
  }

  async #connect(containerId: string, network: string, options: Omit<AttachOptions, 'network'>): Promise<Endpoint> {
    const { record, conflist } = this.#find(network);
    const entries = await this.cache.forContainer(containerId);
    if (entries.some((e) => e.network === record.name)) throw conflict(`connect container ${containerId.slice(0, 12)} to network ${record.name}: already connected`);
    if (!(await exists(netnsPath(containerId, this.#netns)))) throw notFound(`connect container ${containerId.slice(0, 12)} to network ${record.name}: container has no network namespace`);
    const used = new Set(entries.map((e) => e.ifName));
    let index = 0;
    while (used.has(`eth${index}`)) index++;
    const ports = await this.#reservePorts(containerId, record, options.ports ?? []);
    try {
      return await this.#attach(containerId, record, conflist, netnsPath(containerId, this.#netns), `eth${index}`, ports, options);
    } catch (err) {
      this.ports.release(containerId, ports);
      throw err;
    }
  }

  disconnect(containerId: string, network: string): Promise<void> {
    const name = this.#networks.get(network)?.record.name ?? this.#find(network).record.name;
    return this.#exclusive([containerId], async () => {
      const entry = await this.cache.get(containerId, name);
      if (entry === undefined) throw notFound(`disconnect container ${containerId.slice(0, 12)} from network ${name}: not connected`);
      await this.#detach({ ...entry, containerId }, {});
    });
  }

  /**
   * DEL with exactly what ADD saw (cached config, CNI container id, runtime config, result). An
   * entry without a result is what a crash mid-ADD leaves: its address comes from the lease.
   */
  async #detach(entry: CacheEntry, mode: RunMode): Promise<void> {
    const result = entry.result ?? (await leasedResult(entry));
    await this.runner.del(entry.config, this.#attachmentOf(entry), result, mode);
    // no UDP flow stays pinned to the address this container had
    await flushUdpConntrack(entryPorts(entry), this.#options.warn ?? ((message) => process.stderr.write(`berth: ${message}\n`)));
    await this.cache.remove(entry.containerId, entry.network);
    this.ports.release(entry.containerId, entryPorts(entry));
  }

  /**
   * Detaches every network and removes the namespace. Idempotent; on a DEL failure the namespace
   * is still removed, the cache entry is kept (reconcile retries it) and the error is thrown.
   */
  teardown(containerId: string): Promise<void> {
    return this.#exclusive([containerId], () => this.#teardown(containerId));
  }

  async #teardown(containerId: string): Promise<void> {
    let first: unknown;
    for (const entry of await this.cache.forContainer(containerId)) {
      try {
        // Off every start's path (the daemon tears down in the background): yields the CPU.
        await this.#detach(entry, { background: true });
      } catch (err) {
        first ??= err;
      }
    }
    try {
      await deleteNetns(containerId, this.#netns);
    } catch (err) {
      first ??= err;
    }
    if (first === undefined) this.ports.release(containerId);
    else throw first;
  }

  /**
   * After a daemon restart: removes attachments, namespaces and leases of containers that no
   * longer exist (and pooled ones left by a previous process). Returns the ids cleaned up.
   */
  async reconcile(knownContainerIds: Iterable<string>): Promise<string[]> {
    const keep = new Set(knownContainerIds);
    const cleaned = new Set<string>();
    let first: unknown;
    const netns = await listNetns(this.#netns);
    // A pool mount taken by a live container is referenced only through its alias.
    for (const ns of netns) if (ns.aliasOf !== undefined && keep.has(ns.id)) keep.add(ns.aliasOf);
    // Judged id by id at the moment of the claim: the pool goes on filling meanwhile, and what this
    // process works on (a refill, an adoption, a start) is not left over from a crash. Containers
    // started after `knownContainerIds` was taken are not protected: call this before serving.
    const stale = (id: string): boolean => !keep.has(id) && !this.#claimed(id);
    for (const id of await this.cache.containers()) {
      if (!stale(id)) continue;
      try {
        await this.teardown(id);
      } catch (err) {
        first ??= err;
      }
      cleaned.add(id);
    }
    for (const ns of await listNetns(this.#netns)) {
      if (!stale(ns.id)) continue;
      await this.#exclusive([ns.id], () => deleteNetns(ns.id, this.#netns)).catch((err: unknown) => {
        first ??= err;
      });
      cleaned.add(ns.id);
    }
    await pruneIprouteLinks(this.#netns);
    await this.#pruneLeases();
    if (first !== undefined) throw first;
    return [...cleaned];
  }

  /**
   * Leases host-local holds for CNI container ids we have no attachment for: a crash between a
   * lease and our cache write cannot happen (the cache is written first), but a cache lost with
   * its disk state can. Lease files hold "<container id>\r\n<ifname>".
   */
  async #pruneLeases(): Promise<void> {
    const live = new Set((await this.cache.all()).map((e) => e.cniContainerId));
    for (const { record } of this.#networks.values()) {
      const dir = join(HOST_LOCAL_DIR, record.cniName);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if (errorCode(err) === 'ENOENT') continue;
        throw err;
      }
      for (const name of names) {
        if (!/^\d+\.\d+\.\d+\.\d+$/.test(name)) continue;
        const owner = (await readFile(join(dir, name), 'utf8').catch(() => '')).split(/\r?\n/)[0]?.trim() ?? '';
        if (owner !== '' && !live.has(owner) && !this.#claimed(owner)) await rm(join(dir, name), { force: true });
      }
    }
  }
}
