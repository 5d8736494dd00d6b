/**
 * Container networking as Docker shows it, over the network library: which namespace a
 * container joins (`none`, `host`, `container:NAME`, the default bridge or a user network),
 * its attachments made at start and undone at every exit, its /etc/hosts and resolv.conf, the
 * NetworkSettings of inspect and ps, and the `docker network` verbs. Kept out of the lifecycle
 * files so that they only call in here at the points where networking starts and ends.
 */

import { writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { ContainerSummary, EndpointConfigRequest, HostConfig, NetworkConnectRequest, NetworkCreateRequest, NetworkSettings } from '../api/index.ts';
import { DEFAULT_NETWORK, dockerPorts, iprouteName, mappingsFromDocker } from '../network/index.ts';
import type { Endpoint, NetworkManager, PortMapping } from '../network/index.ts';
import { EngineError, conflict, invalidArgument, notFound } from '../util/errors.ts';
import type { Container, ContainerRecord, RequestedEndpoint } from './container.ts';
import type { DaemonContext } from './context.ts';
import { emitEvent, emitNetworkEvent } from './events.ts';
import { containerResolvConf, etcFilePaths, hostsFile } from './etc-files.ts';
import type { SpecOpt } from './spec/spec-opts.ts';
import { releaseNamespaces } from './namespace-modes.ts';
import { checkNetworkFilters, findPredefined, isPredefinedNetwork, matchesNetworkFilters, predefinedNetworks, predefinedRemoveError, type ListedNetwork } from './predefined-networks.ts';

export type NetworkMode =
  | { kind: 'none' }
  | { kind: 'host' }
  | { kind: 'container'; ref: string }
  | { kind: 'network'; name: string };

/** HostConfig.NetworkMode as the daemon stores it; without a network service every container gets `none`. */
export function parseNetworkMode(mode: string | undefined, networking: boolean): NetworkMode {
  const text = mode ?? '';
  if (text === 'none' || !networking) return { kind: 'none' };
  if (text === '' || text === 'default' || text === DEFAULT_NETWORK) return { kind: 'network', name: DEFAULT_NETWORK };
  if (text === 'host') return { kind: 'host' };
  if (text.startsWith('container:')) {
    const ref = text.slice('container:'.length);
    if (ref === '') throw invalidArgument('invalid network mode: container: needs a container name or id');
    return { kind: 'container', ref };
  }
  return { kind: 'network', name: text };
}

function modeText(mode: NetworkMode): string {
  if (mode.kind === 'container') return `container:${mode.ref}`;
  if (mode.kind === 'network') return mode.name;
  return mode.kind;
}

function requestedEndpoint(config: unknown): RequestedEndpoint {
  const c = (config ?? {}) as EndpointConfigRequest;
  const out: RequestedEndpoint = {};
  if (c.Aliases?.length) out.Aliases = [...c.Aliases];
  if (c.IPAMConfig?.IPv4Address) out.IPv4Address = c.IPAMConfig.IPv4Address;
  return out;
}

/**
 * Checks a create request's networking and returns what the record keeps: the stored network
 * mode and the networks to attach at start. Bad port specs and unknown networks fail here, as
 * in Docker, not at start.
 */
export async function planNetworking(
  ctx: DaemonContext,
  hc: HostConfig,
  endpoints: Record<string, unknown> | undefined,
  exposed: Readonly<Record<string, unknown>> | undefined,
): Promise<{ mode: string; networks: Record<string, RequestedEndpoint> }> {
  const mode = parseNetworkMode(hc.NetworkMode, ctx.network !== undefined);
  const publishing = Object.keys(hc.PortBindings ?? {}).length > 0 || hc.PublishAllPorts === true;
  if (ctx.network === undefined) {
    if (hc.NetworkMode && !['default', 'none', 'bridge'].includes(hc.NetworkMode)) throw invalidArgument(`network ${hc.NetworkMode} not found`);
    if (publishing) throw new EngineError('not-implemented', 'publishing ports is not supported: the daemon runs without networking (--bridge none)');
    return { mode: 'none', networks: {} };
  }
  mappingsFromDocker(hc.PortBindings as never, exposed, hc.PublishAllPorts === true);
  if (mode.kind === 'container') {
    if (publishing) throw conflict('conflicting options: port publishing and the container type network mode');
    ctx.store.get(mode.ref);
  }
  const networks: Record<string, RequestedEndpoint> = {};
  if (mode.kind === 'network') {
    let network: { Name: string; Id: string };
    try {
      const found = ctx.network.lookup(mode.name);
      network = { Name: found.name, Id: found.id };
    } catch (err) {
      // 400, not 404: the docker CLI takes a 404 from create for a missing image and pulls.
      if (err instanceof EngineError && err.kind === 'not-found') throw invalidArgument(`network ${mode.name} not found`, err);
      throw err;
    }
    const config = endpoints?.[mode.name] ?? endpoints?.[network.Id] ?? Object.values(endpoints ?? {})[0];
    const requested = requestedEndpoint(config);
    // Docker's rule: addresses and aliases are chosen on user-defined networks only.
    if (network.Name === DEFAULT_NETWORK && requested.IPv4Address !== undefined) throw invalidArgument('user specified IP address is supported on user defined networks only');
    if (network.Name === DEFAULT_NETWORK && requested.Aliases !== undefined) throw invalidArgument('network-scoped alias is supported only for containers in user defined networks');
    networks[network.Name] = requested;
    return { mode: network.Name, networks };
  }
  return { mode: modeText(mode), networks };
}

/** What start needs from networking: the spec change, the /etc files, and how to undo it. */
export interface PreparedNetwork {
  specOpt: SpecOpt;
  hosts?: string;
  resolvConf?: string;
  /** resolv.conf names our embedded DNS server: `--dns` servers become its upstreams, not nameservers */
  embeddedDns?: boolean;
}

function withNetnsPath(path: string | undefined): SpecOpt {
  return (spec) => {
    const namespaces = (spec.linux!.namespaces ?? []).filter((n) => n.type !== 'network');
    spec.linux!.namespaces = path === undefined ? namespaces : [...namespaces, { type: 'network', path }];
  };
}

/** `publish port 0.0.0.0:8080/tcp: …already allocated…` → Docker's wording for the same refusal. */
function dockerPortError(err: unknown, c: Container): unknown {
  if (!(err instanceof EngineError) || err.kind !== 'conflict') return err;
  const match = /^publish port ([^/\s]+)\/\w+: (?:port is already allocated|address already in use)/.exec(err.message);
  if (match === null) return err;
  return conflict(`driver failed programming external connectivity on endpoint ${c.record.Name.slice(1)} (${c.id}): Bind for ${match[1]} failed: port is already allocated`, err);
}

function hostsWith(hostname: string, entries: readonly { ip: string; names: readonly string[] }[]): string {
  const base = hostsFile(hostname).split('\n').filter((l) => !l.startsWith('127.0.1.1'));
  const lines = entries.length > 0 ? entries.map((e) => `${e.ip}\t${e.names.join(' ')}`) : [`127.0.1.1\t${hostname}`];
  return `${[...base.filter((l) => l !== ''), ...lines].join('\n')}\n`;
}

/** Containers on user networks ask the network's embedded DNS server (on its gateway) first. */
function userResolvConf(host: string, gateway: string): string {
  const kept = host.split('\n').filter((l) => !/^\s*nameserver\s/.test(l) && l.trim() !== '');
  return `${[`nameserver ${gateway}`, ...kept].join('\n')}\n`;
}

/**
 * Joins or makes the container's network namespace and attaches it to its networks. Nothing is
 * left behind on failure (the manager undoes its own; later networks undo the first).
 */
export async function prepareNetwork(ctx: DaemonContext, c: Container, hostname: string): Promise<PreparedNetwork> {
  const record = c.record;
  const mode = parseNetworkMode(record.HostConfig.NetworkMode, ctx.network !== undefined);
  if (mode.kind === 'none') return { specOpt: () => {} };
  if (mode.kind === 'host') {
    const [hosts, resolvConf] = await Promise.all([readFile('/etc/hosts', 'utf8').catch(() => hostsFile(hostname)), readFile('/etc/resolv.conf', 'utf8').catch(() => '')]);
    return { specOpt: withNetnsPath(undefined), hosts, resolvConf };
  }
  if (mode.kind === 'container') {
    const other = ctx.store.get(mode.ref);
    if (other.id === c.id) throw invalidArgument('cannot join own network namespace');
    if (!other.running || other.record.State.Pid <= 0) throw conflict(`cannot join network namespace of container ${other.id}: container is not running`);
    const paths = etcFilePaths(other.dir);
    const [hosts, resolvConf] = await Promise.all([readFile(paths.hosts, 'utf8'), readFile(paths.resolvConf, 'utf8')]);
    return { specOpt: withNetnsPath(`/proc/${other.record.State.Pid}/ns/net`), hosts, resolvConf };
  }
  const manager = ctx.network!;
  const requested = record.Networks ?? { [mode.name]: {} };
  const names = [mode.name, ...Object.keys(requested).filter((n) => n !== mode.name)];
  const ports = mappingsFromDocker(record.HostConfig.PortBindings as never, record.Config.ExposedPorts ?? undefined, record.HostConfig.PublishAllPorts === true);
  // a host port, an address or a name on a user network may still be held by an exited container
  const fast = names.length === 1 && names[0] === DEFAULT_NETWORK && ports.length === 0;
  // Read while the namespace is prepared: a start from the warm pool is a handful of file operations.
  const hostResolv = readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  await settleNetworks(ctx, fast ? c.id : undefined);
  const name = record.Name.slice(1);
  let path: string;
  const endpoints: Endpoint[] = [];
  try {
    for (const [i, network] of names.entries()) {
      const want = requested[network] ?? {};
      const options = {
        ...(want.IPv4Address === undefined ? {} : { ip: want.IPv4Address }),
        aliases: want.Aliases ?? [],
        name,
      };
      if (i === 0) {
        const sandbox = await manager.prepare(c.id, { network, ports, ...options });
        path = sandbox.netnsPath;
        endpoints.push(...sandbox.endpoints);
      } else {
        endpoints.push(await manager.connect(c.id, network, options));
      }
    }
  } catch (err) {
    await manager.teardown(c.id).catch(() => {});
    throw dockerPortError(err, c);
  }
  emitAttachmentEvents(ctx, c, 'connect');
  const hosts = hostsWith(hostname, endpoints.map((e) => ({ ip: e.ipAddress, names: [hostname] })).slice(0, 1));
  const host = await hostResolv;
  for (const e of endpoints) if (e.network !== DEFAULT_NETWORK) await ctx.dns?.ensure(e.network).catch((err: unknown) => ctx.warn(`dns for network ${e.network}: ${err instanceof Error ? err.message : String(err)}`));
  const resolvConf = resolvConfFor(ctx, host, endpoints);
  // `--dns` with the embedded server: names go on to the given resolvers, the file keeps ours
  const embeddedDns = ctx.dns !== undefined && endpoints.some((e) => e.network !== DEFAULT_NETWORK && e.gateway !== '');
  const servers = c.record.HostConfig.Dns ?? [];
  if (embeddedDns && servers.length > 0) ctx.dns!.setUpstreams(c.id, endpoints.map((e) => e.ipAddress), servers);
  return { specOpt: withNetnsPath(path!), hosts, resolvConf, embeddedDns };
}

/** The nameserver a container on these networks asks: the embedded server of its first user network with a gateway. */
function resolvConfFor(ctx: DaemonContext, host: string, endpoints: readonly Endpoint[]): string {
  const user = endpoints.find((e) => e.network !== DEFAULT_NETWORK && e.gateway !== '');
  return user !== undefined && ctx.dns !== undefined ? userResolvConf(host, user.gateway) : containerResolvConf(host);
}

function ifIndex(e: Endpoint): number {
  return Number(/\d+$/.exec(e.ifName)?.[0] ?? 0);
}

/**
 * After `network connect` or `disconnect` of a running container, as Docker rewrites them: its
 * resolv.conf names the embedded DNS server once it is on a user network (and the host's
 * resolvers again when it left the last one), and its /etc/hosts gains or loses a line with the
 * hostname for the address on that network. Written in place: the files are bind-mounted.
 */
async function refreshEtcFiles(ctx: DaemonContext, c: Container, manager: NetworkManager): Promise<void> {
  const paths = etcFilePaths(c.dir);
  const endpoints = (await manager.endpoints(c.id)).sort((a, b) => ifIndex(a) - ifIndex(b));
  const hostname = c.record.Config.Hostname || c.id.slice(0, 12);
  const host = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const hosts = await readFile(paths.hosts, 'utf8').catch(() => hostsFile(hostname));
  const addresses = new Set(endpoints.map((e) => e.ipAddress));
  const ours = (line: string): string | undefined => {
    const [ip, ...names] = line.split(/\s+/);
    return ip !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(ip) && !ip.startsWith('127.') && names.includes(hostname) ? ip : undefined;
  };
  const lines = hosts.split('\n').filter((l) => l !== '');
  const kept = lines.filter((l) => {
    const ip = ours(l);
    return ip === undefined || addresses.has(ip);
  });
  const present = new Set(kept.flatMap((l) => ours(l) ?? []));
  for (const e of endpoints) if (!present.has(e.ipAddress)) kept.push(`${e.ipAddress}\t${hostname}`);
  await writeFile(paths.hosts, `${kept.join('\n')}\n`, { mode: 0o644 });
  await writeFile(paths.resolvConf, resolvConfFor(ctx, host, endpoints), { mode: 0o644 });
}

/** Overwrites the /etc files writeEtcFiles made with what the network knows. */
export function writeNetworkEtcFiles(dir: string, prepared: PreparedNetwork): void {
  const paths = etcFilePaths(dir);
  if (prepared.hosts !== undefined) writeFileSync(paths.hosts, prepared.hosts, { mode: 0o644 });
  if (prepared.resolvConf !== undefined) writeFileSync(paths.resolvConf, prepared.resolvConf, { mode: 0o644 });
}

/**
 * A teardown waits a little before its CNI DELs start: they spawn plugins that fork iptables, and
 * started at a container's exit they compete for the CPU (and the daemon's event loop, which
 * forks them) with the rest of `run --rm`: the exit report and the removal. At an exit the wait
 * is long enough for a removal to follow; at a removal, only for it to finish. Anything that
 * could see the difference does not wait (settleNetworks starts the DELs at once).
 */
const EXIT_TEARDOWN_DELAY_MS = 250;
const REMOVAL_TEARDOWN_DELAY_MS = 30;

interface PendingTeardown {
  readonly done: Promise<void>;
  /** Starts the teardown within `ms` (now with 0) if it is still waiting for its timer. */
  readonly hurry: (ms: number) => void;
}

/** Teardowns still running or waiting, per daemon: container ID → its teardown. */
const pendingTeardowns = new WeakMap<DaemonContext, Map<string, PendingTeardown>>();

function pendingOf(ctx: DaemonContext): Map<string, PendingTeardown> {
  let pending = pendingTeardowns.get(ctx);
  if (pending === undefined) pendingTeardowns.set(ctx, (pending = new Map()));
  return pending;
}

/** A timer that can be brought forward, never postponed. */
function quietTime(ms: number): { elapsed: Promise<void>; hurry: (ms: number) => void } {
  let resolve: () => void = () => {};
  const elapsed = new Promise<void>((r) => (resolve = r));
  let due = Date.now() + ms;
  let handle = setTimeout(resolve, ms);
  const hurry = (sooner: number): void => {
    if (Date.now() + sooner >= due) return;
    clearTimeout(handle);
    due = Date.now() + sooner;
    if (sooner <= 0) resolve();
    else handle = setTimeout(resolve, sooner);
  };
  void elapsed.then(() => clearTimeout(handle));
  return { elapsed, hurry };
}

/**
 * moby's `connect` at a container's start and `disconnect` at its exit, one per network it is on
 * (a network removed meanwhile has no ID to name: skipped).
 */
export function emitAttachmentEvents(ctx: DaemonContext, c: Container, action: 'connect' | 'disconnect'): void {
  const manager = ctx.network;
  const mode = parseNetworkMode(c.record.HostConfig.NetworkMode, manager !== undefined);
  if (manager === undefined || mode.kind !== 'network') return;
  for (const network of new Set([mode.name, ...Object.keys(c.record.Networks ?? {})])) {
    let found: { name: string; id: string };
    try {
      found = manager.lookup(network);
    } catch {
      continue;
    }
    emitNetworkEvent(ctx, { Id: found.id, Name: found.name }, action, { container: c.id });
  }
}

/**
 * Releases a shareable /dev/shm now, and detaches every network and removes the namespace in the
 * background, shortly after: the CNI DELs take ~150 ms here, and `run --rm` would wait for them at
 * its exit and again at its removal. What could see the difference waits for it instead
 * (settleNetworks): a start of the same container, a start that publishes ports, asks for an
 * address or joins a user network, and the network verbs. A DEL that fails keeps its cache entry;
 * reconcile retries it. Idempotent, called at every exit and removal.
 */
export async function teardownNetwork(ctx: DaemonContext, c: Container): Promise<void> {
  await releaseNamespaces(c);
  ctx.dns?.forgetUpstreams(c.id);
  const manager = ctx.network;
  if (manager === undefined) return;
  const pending = pendingOf(ctx);
  const previous = pending.get(c.id);
  const delay = c.removing ? REMOVAL_TEARDOWN_DELAY_MS : EXIT_TEARDOWN_DELAY_MS;
  // A removal right after the exit (`run --rm`) brings the exit's teardown forward.
  previous?.hurry(delay);
  const quiet = quietTime(previous === undefined ? delay : 0);
  const done: Promise<void> = (previous?.done ?? Promise.resolve())
    .then(() => quiet.elapsed)
    .then(() => manager.teardown(c.id))
    .catch((err: unknown) => ctx.warn(`tear down network of ${c.id}: ${err instanceof Error ? err.message : String(err)}`))
    .finally(() => {
      if (pending.get(c.id)?.done === done) pending.delete(c.id);
    });
  pending.set(c.id, {
    done,
    hurry: (ms) => {
      previous?.hurry(ms);
      quiet.hurry(ms);
    },
  });
}

/** Waits for the background teardowns of one container, or of all, starting those still waiting. */
export async function settleNetworks(ctx: DaemonContext, containerId?: string): Promise<void> {
  const pending = pendingOf(ctx);
  if (containerId !== undefined) {
    const one = pending.get(containerId);
    one?.hurry(0);
    await one?.done;
    return;
  }
  const all = [...pending.values()];
  for (const p of all) p.hurry(0);
  await Promise.all(all.map((p) => p.done));
}

// ---- views ----------------------------------------------------------------------------------

function emptyEndpoint(): Record<string, unknown> {
  return {
    IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, GwPriority: 0, NetworkID: '', EndpointID: '',
    Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
  };
}

function endpointView(e: Endpoint, requested: RequestedEndpoint | undefined, record: ContainerRecord): Record<string, unknown> {
  const name = record.Name.slice(1);
  return {
    ...emptyEndpoint(),
    IPAMConfig: requested?.IPv4Address === undefined ? null : { IPv4Address: requested.IPv4Address },
    Aliases: e.aliases.length > 0 ? [...e.aliases] : null,
    MacAddress: e.macAddress,
    NetworkID: e.networkId,
    EndpointID: e.endpointId,
    Gateway: e.gateway,
    IPAddress: e.ipAddress,
    IPPrefixLen: e.ipPrefixLen,
    DNSNames: e.network === DEFAULT_NETWORK ? null : [name, record.ID.slice(0, 12), ...e.aliases],
  };
}

async function liveEndpoints(ctx: DaemonContext, c: Container): Promise<Endpoint[]> {
  if (ctx.network === undefined || !c.running) return [];
  return ctx.network.endpoints(c.id);
}

function publishedPorts(endpoints: readonly Endpoint[]): PortMapping[] {
  return endpoints.flatMap((e) => e.ports);
}

/** NetworkSettings of container inspect, as Docker fills it. */
export async function networkSettings(ctx: DaemonContext, c: Container): Promise<NetworkSettings & Record<string, unknown>> {
  const record = c.record;
  const mode = parseNetworkMode(record.HostConfig.NetworkMode, ctx.network !== undefined);
  const endpoints = await liveEndpoints(ctx, c);
  const networks: Record<string, unknown> = {};
  if (mode.kind === 'none' || mode.kind === 'host') networks[mode.kind] = emptyEndpoint();
  for (const name of Object.keys(record.Networks ?? {})) networks[name] = { ...emptyEndpoint(), Aliases: record.Networks?.[name]?.Aliases ?? null };
  for (const e of endpoints) networks[e.network] = endpointView(e, record.Networks?.[e.network], record);
  const first = endpoints[0];
  const running = c.running && mode.kind === 'network';
  return {
    Bridge: '',
    SandboxID: running ? c.id : '',
    SandboxKey: running && ctx.network !== undefined ? `/run/netns/${iprouteName(c.id)}` : '',
    Ports: c.running ? dockerPorts(publishedPorts(endpoints), record.Config.ExposedPorts ?? undefined) : {},
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: first?.endpointId ?? '',
    Gateway: first?.gateway ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: first?.ipAddress ?? '',
    IPPrefixLen: first?.ipPrefixLen ?? 0,
    IPv6Gateway: '',
    MacAddress: first?.macAddress ?? '',
    Networks: networks,
  };
}

/** The parts of a `ps` row networking fills: Ports (the PORTS column) and the networks. */
export async function summaryNetworking(ctx: DaemonContext, c: Container): Promise<Pick<ContainerSummary, 'Ports' | 'NetworkSettings'>> {
  const settings = await networkSettings(ctx, c);
  const ports: ContainerSummary['Ports'] = [];
  const published = publishedPorts(await liveEndpoints(ctx, c));
  for (const m of published) ports.push({ IP: m.hostIP === '' || m.hostIP === undefined ? '0.0.0.0' : m.hostIP, PrivatePort: m.containerPort, PublicPort: m.hostPort, Type: m.protocol });
  for (const key of Object.keys(c.record.Config.ExposedPorts ?? {})) {
    const [port = '0', type = 'tcp'] = key.split('/');
    if (!published.some((m) => m.containerPort === Number(port) && m.protocol === type)) ports.push({ PrivatePort: Number(port), Type: type });
  }
  return { Ports: ports, NetworkSettings: { Networks: settings.Networks } };
}

// ---- docker network ---------------------------------------------------------------------------


/** The `docker network` verbs over the manager, with the container side kept in the records. */
export class NetworkService {
  readonly #ctx: DaemonContext;
  readonly #manager: NetworkManager;

  constructor(ctx: DaemonContext, manager: NetworkManager) {
    this.#ctx = ctx;
    this.#manager = manager;
  }

  #predefined(): ListedNetwork[] {
    return predefinedNetworks(this.#ctx, (mode) => parseNetworkMode(mode, true).kind);
  }

  async list(filters: Record<string, string[]>): Promise<ListedNetwork[]> {
    await settleNetworks(this.#ctx);
    checkNetworkFilters(filters);
    const bridges = (await this.#manager.list()).filter((n) => matchesNetworkFilters(n, filters, n.Name === DEFAULT_NETWORK));
    return [...bridges, ...this.#predefined().filter((n) => matchesNetworkFilters(n, filters, true))];
  }

  /** The manager's lookup with Docker's not-found wording (the CLI shows it verbatim). */
  async inspect(ref: string): Promise<ListedNetwork> {
    await settleNetworks(this.#ctx);
    try {
      return await this.#manager.inspect(ref);
    } catch (err) {
      const predefined = findPredefined(this.#predefined(), ref);
      if (predefined !== undefined) return predefined;
      if (err instanceof EngineError && err.kind === 'not-found') throw notFound(`network ${ref} not found`, err);
      throw err;
    }
  }

  async create(body: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    const name = body.Name ?? '';
    if (name === '') throw invalidArgument('network name cannot be empty');
    const driver = body.Driver || 'bridge';
    if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found`);
    if (['none', 'host', 'default'].includes(name)) throw new EngineError('forbidden', `operation is not permitted on predefined ${name} network`);
    const config = body.IPAM?.Config?.[0];
    const network = await this.#manager.createNetwork({
      name,
      ...(config?.Subnet ? { subnet: config.Subnet } : {}),
      ...(config?.Gateway ? { gateway: config.Gateway } : {}),
      internal: body.Internal === true,
      labels: body.Labels ?? {},
      options: body.Options ?? {},
    });
    emitNetworkEvent(this.#ctx, network, 'create');
    return { Id: network.Id, Warning: '' };
  }

  async remove(ref: string): Promise<void> {
    await settleNetworks(this.#ctx);
    const network = await this.inspect(ref);
    if (isPredefinedNetwork(network.Name)) throw predefinedRemoveError(network.Name);
    await this.#manager.removeNetwork(network.Name);
    await this.#ctx.dns?.forget(network.Name);
    emitNetworkEvent(this.#ctx, network, 'destroy');
  }

  async prune(): Promise<{ NetworksDeleted: string[] }> {
    await settleNetworks(this.#ctx);
    // Networks stopped containers still name are kept: their next start attaches to them.
    const named = new Set(this.#ctx.store.all().flatMap((c) => Object.keys(c.record.Networks ?? {})));
    const candidates = (await this.#manager.list()).filter((n) => n.Name !== DEFAULT_NETWORK && !named.has(n.Name) && Object.keys(n.Containers).length === 0);
    const deleted: string[] = [];
    for (const n of candidates) {
      try {
        await this.#manager.removeNetwork(n.Name);
        await this.#ctx.dns?.forget(n.Name);
        emitNetworkEvent(this.#ctx, n, 'destroy');
        deleted.push(n.Name);
      } catch (err) {
        this.#ctx.warn(`prune network ${n.Name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    emitEvent(this.#ctx, { type: 'network', action: 'prune', actor: { ID: '', Attributes: { reclaimed: '0' } } });
    return { NetworksDeleted: deleted };
  }

  async connect(ref: string, body: NetworkConnectRequest): Promise<void> {
    await settleNetworks(this.#ctx);
    const network = await this.inspect(ref);
    const c = this.#ctx.store.get(body.Container ?? '');
    await c.exclusive(async () => {
      const mode = parseNetworkMode(c.record.HostConfig.NetworkMode, true);
      if (mode.kind !== 'network' || isPredefinedNetwork(network.Name)) throw invalidArgument(`container cannot be disconnected from host network or connected to host network`);
      const networks = { ...(c.record.Networks ?? { [mode.name]: {} }) };
      if (network.Name in networks && !c.running) throw new EngineError('forbidden', `endpoint with name ${c.record.Name.slice(1)} already exists in network ${network.Name}`);
      const requested = requestedEndpoint(body.EndpointConfig);
      if (c.running) {
        await this.#manager.connect(c.id, network.Name, {
          ...(requested.IPv4Address === undefined ? {} : { ip: requested.IPv4Address }),
          aliases: requested.Aliases ?? [],
          name: c.record.Name.slice(1),
        }).catch((err: unknown) => {
          if (err instanceof EngineError && err.kind === 'conflict' && /already connected/.test(err.message)) {
            throw new EngineError('forbidden', `endpoint with name ${c.record.Name.slice(1)} already exists in network ${network.Name}`, { cause: err });
          }
          throw err;
        });
        if (network.Name !== DEFAULT_NETWORK) await this.#ctx.dns?.ensure(network.Name);
        await refreshEtcFiles(this.#ctx, c, this.#manager);
        emitNetworkEvent(this.#ctx, network, 'connect', { container: c.id });
      }
      networks[network.Name] = requested;
      c.record.Networks = networks;
      await this.#ctx.store.save(c);
    });
  }

  async disconnect(ref: string, body: NetworkConnectRequest): Promise<void> {
    await settleNetworks(this.#ctx);
    const network = await this.inspect(ref);
    const c = this.#ctx.store.get(body.Container ?? '');
    if (isPredefinedNetwork(network.Name)) throw invalidArgument('container cannot be disconnected from host network or connected to host network');
    await c.exclusive(async () => {
      const networks = { ...(c.record.Networks ?? {}) };
      const attached = c.running && (await this.#manager.endpoints(c.id)).some((e) => e.network === network.Name);
      if (!(network.Name in networks) && !attached) throw new EngineError('forbidden', `container ${c.id} is not connected to network ${network.Name}`);
      if (attached) {
        await this.#manager.disconnect(c.id, network.Name);
        await refreshEtcFiles(this.#ctx, c, this.#manager);
        emitNetworkEvent(this.#ctx, network, 'disconnect', { container: c.id });
      }
      delete networks[network.Name];
      c.record.Networks = networks;
      await this.#ctx.store.save(c);
    });
  }
}

/**
 * After the containers are reconciled: attachments, namespaces and leases of containers that are
 * not running any more (a crash or kill -9 of the daemon) are given back, and DNS is served again
 * on the user networks running containers use.
 */
export async function reconcileNetworks(ctx: DaemonContext): Promise<void> {
  if (ctx.network === undefined) return;
  const running = ctx.store.all().filter((c) => c.running);
  await ctx.network.reconcile(running.map((c) => c.id)).catch((err: unknown) => ctx.warn(`reconcile networks: ${err instanceof Error ? err.message : String(err)}`));
  if (ctx.dns === undefined) return;
  const networks = new Set<string>();
  for (const c of running) for (const e of await ctx.network.endpoints(c.id)) if (e.network !== DEFAULT_NETWORK) networks.add(e.network);
  for (const name of networks) await ctx.dns.ensure(name).catch((err: unknown) => ctx.warn(`dns for network ${name}: ${err instanceof Error ? err.message : String(err)}`));
}
