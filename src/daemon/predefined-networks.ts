/**
 * Docker's two networks that are not bridges: `host` (the host's own namespace) and `none` (a
 * namespace with only `lo`). Docker lists and inspects them beside the bridges, with the
 * containers using them, and refuses to create, remove or connect anything under their names.
 * They exist with or without the network service (`berthd --bridge none` leaves only them), so
 * `docker network ls` and `docker system prune` work in both.
 */

import { createHash } from 'node:crypto';
import type { NetworkConnectRequest, NetworkCreateRequest } from '../api/index.ts';
import type { NetworkInspect } from '../network/index.ts';
import { matchesLabels } from '../image/store/index.ts';
import { EngineError, invalidArgument, notFound } from '../util/errors.ts';
import type { DaemonContext } from './context.ts';

export const PREDEFINED_NETWORKS = ['host', 'none'] as const;
export type PredefinedNetworkName = (typeof PREDEFINED_NETWORKS)[number];

/** NetworkInspect with the drivers of the predefined networks (Docker's `host` and `null`). */
export type ListedNetwork = Omit<NetworkInspect, 'Driver'> & { Driver: string };

const DRIVERS: Record<PredefinedNetworkName, string> = { host: 'host', none: 'null' };
const STARTED = new Date().toISOString();

/** Stable per data root, as Docker's (made once, kept in its store) are per daemon. */
function networkId(ctx: DaemonContext, name: PredefinedNetworkName): string {
  return createHash('sha256').update(`berth predefined network\0${ctx.root}\0${name}`).digest('hex');
}

export function isPredefinedNetwork(name: string): name is PredefinedNetworkName {
  return (PREDEFINED_NETWORKS as readonly string[]).includes(name);
}

export function predefinedNetworks(ctx: DaemonContext, networkModeOf: (mode: string | undefined) => string): ListedNetwork[] {
  return PREDEFINED_NETWORKS.map((name) => {
    const containers: ListedNetwork['Containers'] = {};
    for (const c of ctx.store.all()) {
      if (!c.running || networkModeOf(c.record.HostConfig.NetworkMode) !== name) continue;
      containers[c.id] = { Name: c.record.Name.slice(1), EndpointID: '', MacAddress: '', IPv4Address: '', IPv6Address: '' };
    }
    return {
      Name: name,
      Id: networkId(ctx, name),
      Created: STARTED,
      Scope: 'local',
      Driver: DRIVERS[name],
      EnableIPv6: false,
      IPAM: { Driver: 'default', Options: {}, Config: [] },
      Internal: false,
      Attachable: false,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: {},
      Labels: {},
    };
  });
}

/** Docker's lookup order for a network reference: full ID, name, then a unique ID prefix. */
export function findPredefined(networks: readonly ListedNetwork[], ref: string): ListedNetwork | undefined {
  return networks.find((n) => n.Id === ref) ?? networks.find((n) => n.Name === ref) ?? (ref.length > 0 ? networks.find((n) => n.Id.startsWith(ref)) : undefined);
}

export function predefinedRemoveError(name: string): EngineError {
  return new EngineError('forbidden', `${name} is a pre-defined network and cannot be removed`);
}

/**
 * Docker's filters on `network ls`: name (substring), id (prefix), driver, type (builtin or
 * custom), scope, label, dangling (true: a user network no container uses; moby never counts the
 * predefined ones as dangling).
 */
export function matchesNetworkFilters(n: ListedNetwork, filters: Record<string, string[]>, builtin: boolean): boolean {
  const dangling = !builtin && Object.keys(n.Containers).length === 0;
  return (
    (!filters['dangling']?.length || filters['dangling'].some((f) => (['true', '1'].includes(f.toLowerCase()) ? dangling : !dangling))) &&
    (!filters['name']?.length || filters['name'].some((f) => n.Name.includes(f))) &&
    (!filters['id']?.length || filters['id'].some((f) => n.Id.startsWith(f))) &&
    (!filters['driver']?.length || filters['driver'].includes(n.Driver)) &&
    (!filters['type']?.length || filters['type'].includes(builtin ? 'builtin' : 'custom')) &&
    (!filters['scope']?.length || filters['scope'].includes(n.Scope)) &&
    matchesLabels(filters['label'] ?? [], n.Labels)
  );
}

const NETWORK_FILTERS = new Set(['name', 'id', 'label', 'driver', 'type', 'scope', 'dangling']);

export function checkNetworkFilters(filters: Record<string, string[]>): void {
  for (const key of Object.keys(filters)) if (!NETWORK_FILTERS.has(key)) throw invalidArgument(`invalid filter '${key}'`);
}

/**
 * `docker network …` of a daemon without networking (`--bridge none`): the predefined networks
 * only. Every container is on `none` there.
 */
export class PredefinedNetworksOnly {
  readonly #ctx: DaemonContext;

  constructor(ctx: DaemonContext) {
    this.#ctx = ctx;
  }

  #all(): ListedNetwork[] {
    return predefinedNetworks(this.#ctx, () => 'none');
  }

  async list(filters: Record<string, string[]>): Promise<ListedNetwork[]> {
    checkNetworkFilters(filters);
    return this.#all().filter((n) => matchesNetworkFilters(n, filters, true));
  }

  async inspect(ref: string): Promise<ListedNetwork> {
    const network = findPredefined(this.#all(), ref);
    if (network === undefined) throw notFound(`network ${ref} not found`);
    return network;
  }

  async create(body: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    throw new EngineError('forbidden', `create network ${body.Name ?? ''}: this daemon runs without networking (berthd --bridge none); only the host and none networks exist`);
  }

  async remove(ref: string): Promise<void> {
    throw predefinedRemoveError((await this.inspect(ref)).Name);
  }

  async prune(): Promise<{ NetworksDeleted: string[] }> {
    return { NetworksDeleted: [] };
  }

  async connect(ref: string, _body: NetworkConnectRequest): Promise<void> {
    const network = await this.inspect(ref);
    throw new EngineError('forbidden', `container cannot be connected to network ${network.Name}: this daemon runs without networking (berthd --bridge none)`);
  }

  async disconnect(ref: string, _body: NetworkConnectRequest): Promise<void> {
    const network = await this.inspect(ref);
    throw new EngineError('forbidden', `container cannot be disconnected from network ${network.Name}: this daemon runs without networking (berthd --bridge none)`);
  }
}
