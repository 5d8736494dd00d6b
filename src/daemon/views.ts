/**
 * A container as Docker shows it: `inspect` (ContainerJSON), `ps` (the summary list with its
 * human "Up 2 minutes" status) and the list filters as moby's daemon/list.go reads them.
 */

import type { ContainerInspect, ContainerSummary } from '../api/index.ts';
import { invalidArgument, notFound } from '../util/errors.ts';
import { treeBytes } from '../util/tree-bytes.ts';
import { matchesLabels } from '../image/store/index.ts';
import type { DaemonContext } from './context.ts';
import { ZERO_TIME, type Container } from './container.ts';
import { etcFilePaths } from './etc-files.ts';
import { logPath } from './attach.ts';
import { mountsView } from './volumes.ts';
import { healthOf } from './health.ts';
import { humanDuration } from '../util/human-duration.ts';

export { humanDuration };

export function statusText(c: Container, now = Date.now()): string {
  const state = c.record.State;
  if (state.Running) {
    const health = healthOf(c);
    const suffix = state.Paused ? ' (Paused)' : health ? (health.Status === 'starting' ? ' (health: starting)' : ` (${health.Status})`) : '';
    return `Up ${humanDuration(now - Date.parse(state.StartedAt))}${suffix}`;
  }
  if (state.Restarting) return `Restarting (${state.ExitCode}) ${humanDuration(now - Date.parse(state.FinishedAt))} ago`;
  if (state.Status === 'created') return 'Created';
  if (state.Status === 'removing') return 'Removal In Progress';
  if (state.Status === 'dead') return 'Dead';
  return `Exited (${state.ExitCode}) ${humanDuration(now - Date.parse(state.FinishedAt))} ago`;
}

/** moby's list shows arguments with spaces in single quotes: `sh -c 'exit 3'`. */
export function commandLine(path: string, args: readonly string[]): string {
  return [path, ...args.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' ');
}

export function inspectView(c: Container): ContainerInspect {
  const r = c.record;
  const etc = etcFilePaths(c.dir);
  return {
    Id: r.ID,
    Created: r.Created,
    Path: r.Path,
    Args: r.Args,
    State: { ...r.State, ...(healthOf(c) ? { Health: healthOf(c) } : {}) },
    Image: r.Image,
    ResolvConfPath: etc.resolvConf,
    HostnamePath: etc.hostname,
    HostsPath: etc.hosts,
    LogPath: logPath(c),
    Name: r.Name,
    RestartCount: r.RestartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: r.HostConfig,
    GraphDriver: { Name: 'overlay2', Data: null },
    Mounts: mountsView(r),
    Config: r.Config,
    NetworkSettings: { Bridge: '', SandboxID: '', SandboxKey: '', Ports: {}, Networks: { none: {} } },
  };
}

export function summaryView(c: Container, now = Date.now()): ContainerSummary {
  const r = c.record;
  return {
    Id: r.ID,
    Names: [r.Name],
    Image: r.Config.Image ?? r.Image,
    ImageID: r.Image,
    Command: commandLine(r.Path, r.Args),
    Created: Math.floor(Date.parse(r.Created) / 1000),
    Ports: [],
    Labels: r.Config.Labels ?? {},
    State: r.State.Status,
    Status: statusText(c, now),
    HostConfig: { NetworkMode: r.HostConfig.NetworkMode ?? 'none' },
    NetworkSettings: { Networks: { none: {} } },
    Mounts: mountsView(r),
  };
}

const FILTERS = new Set(['ancestor', 'before', 'exited', 'expose', 'health', 'id', 'is-task', 'isolation', 'label', 'name', 'network', 'publish', 'since', 'status', 'volume']);
const HEALTH_STATES = ['none', 'starting', 'healthy', 'unhealthy'];
const STATUSES = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];
const ISOLATIONS = new Set(['', 'default', 'process', 'hyperv']);

/** What a list asks for, its filters read and checked as moby's foldFilter reads them. */
export interface PsQuery {
  all: boolean;
  limit?: number;
  filters: Record<string, string[]>;
  exited: number[];
  /** the container `before` names: those created after it (and it) are left out */
  before?: string;
  /** the container `since` names: it and those created before it are left out */
  since?: string;
  /** whether `is-task` was given, and what it asks */
  isTask?: boolean;
  /** `NUM/PROTO` keys */
  publish: Set<string>;
  expose: Set<string>;
}

/** What a filter needs beyond the record: the image IDs `ancestor` names, the ps row's networking. */
export interface PsFacts {
  ancestors?: ReadonlySet<string>;
  networking?: Pick<ContainerSummary, 'Ports' | 'NetworkSettings'>;
}

/** strconv.Atoi's answer and words. */
function atoi(value: string): number {
  if (!/^[+-]?\d+$/.test(value)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(value)}: invalid syntax`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(value)}: value out of range`);
  return n;
}

/** moby's portOp: `PORT[-END][/PROTO]` as `NUM/PROTO` keys. */
export function portFilter(key: string, value: string, into: Set<string>): void {
  if (value.includes(':')) throw invalidArgument(`filter for '${key}' should not contain ':': ${value}`);
  const slash = value.indexOf('/');
  const range = slash < 0 ? value : value.slice(0, slash);
  const proto = slash < 0 ? 'tcp' : value.slice(slash + 1).toLowerCase() || 'tcp';
  const fail = (why: string): never => {
    throw invalidArgument(`error while looking up for ${key} ${value}: ${why}`);
  };
  if (range === '') fail('invalid port range: value is empty');
  const dash = range.indexOf('-');
  const port = (text: string, which: string): number => {
    if (text === '') return fail(`invalid ${which} port '': value is empty`);
    if (!/^\d+$/.test(text)) return fail(`invalid ${which} port '${text}': invalid syntax`);
    const n = Number(text);
    if (n > 65535) return fail(`invalid ${which} port '${text}': value out of range`);
    return n;
  };
  const start = port(dash < 0 ? range : range.slice(0, dash), 'start');
  const end = dash < 0 ? start : port(range.slice(dash + 1), 'end');
  if (end < start) fail(`invalid port range: ${range}`);
  for (let p = start; p <= end; p++) into.add(`${p}/${proto}`);
}

/** moby's idOrNameFilter: the container with that whole ID, else the one with that name. */
function idOrName(containers: readonly Container[], value: string): string {
  const byId = containers.find((c) => c.id === value);
  if (byId) return byId.id;
  const name = value.replace(/^\//, '');
  const byName = containers.find((c) => c.record.Name.replace(/^\//, '') === name);
  if (byName) return byName.id;
  throw notFound(`No such container: ${value}`);
}

/** Checks the filters and reads them into a query, with moby's words for what it refuses. */
export function foldFilters(containers: readonly Container[], options: { all: boolean; limit?: number; filters: Record<string, string[]> }): PsQuery {
  const filters = options.filters;
  for (const key of Object.keys(filters)) if (!FILTERS.has(key)) throw invalidArgument(`invalid filter '${key}'`);
  const query: PsQuery = { all: options.all, filters, exited: [], publish: new Set(), expose: new Set(), ...(options.limit !== undefined ? { limit: options.limit } : {}) };
  for (const value of filters['exited'] ?? []) {
    try {
      query.exited.push(atoi(value));
    } catch (err) {
      throw invalidArgument(`invalid filter 'exited=${value}': ${(err as Error).message}`);
    }
  }
  for (const status of filters['status'] ?? []) {
    if (!STATUSES.includes(status)) throw invalidArgument(`invalid filter 'status=${status}': invalid value for state (${status}): must be one of ${STATUSES.join(', ')}`);
    query.all = true;
  }
  const task = filters['is-task'];
  if (task !== undefined) {
    const falsy = task.some((v) => v.toLowerCase() === 'false' || v === '0');
    const truthy = task.some((v) => v.toLowerCase() === 'true' || v === '1');
    if (task.length !== 1 || falsy === truthy) throw invalidArgument(`invalid filter 'is-task=${task.join(',')}'`);
    query.isTask = truthy;
  }
  for (const health of filters['health'] ?? []) {
    if (!HEALTH_STATES.includes(health)) throw invalidArgument(`invalid filter 'health=${health}': invalid value for health (${health}): must be one of ${HEALTH_STATES.join(', ')}`);
  }
  for (const isolation of filters['isolation'] ?? []) {
    if (!ISOLATIONS.has(isolation.toLowerCase())) throw invalidArgument(`invalid filter 'isolation=${isolation}'`);
  }
  for (const value of filters['before'] ?? []) query.before = idOrName(containers, value);
  for (const value of filters['since'] ?? []) query.since = idOrName(containers, value);
  for (const value of filters['publish'] ?? []) portFilter('publish', value, query.publish);
  for (const value of filters['expose'] ?? []) portFilter('expose', value, query.expose);
  return query;
}

/** moby's filters.Match: an exact value, or a regular expression found in `source`. */
function matchAny(values: readonly string[] | undefined, source: string): boolean {
  if (!values?.length) return true;
  return values.some((v) => {
    if (v === source) return true;
    try {
      return new RegExp(v).test(source);
    } catch {
      return false;
    }
  });
}

/**
 * The containers a list considers, newest first (moby's filterByNameIDMatches): all, or when
 * IDs or names are filtered on, those a unique ID prefix names and those whose name matches.
 */
export function candidates(containers: readonly Container[], filters: Record<string, string[]>): Container[] {
  const ids = filters['id'] ?? [];
  const names = filters['name'] ?? [];
  let list = [...containers];
  if (ids.length + names.length > 0) {
    const matched = new Set<string>();
    for (const prefix of ids) {
      const found = containers.filter((c) => prefix !== '' && c.id.startsWith(prefix));
      if (found.length === 1) matched.add(found[0]!.id);
    }
    for (const c of containers) {
      if (ids.length > 0 && !matched.has(c.id)) continue;
      if (names.length > 0 && nameMatches(names, c.record.Name)) matched.add(c.id);
    }
    list = list.filter((c) => matched.has(c.id));
  }
  return list.sort((a, b) => Date.parse(b.record.Created) - Date.parse(a.record.Created));
}

function nameMatches(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => p === name || p === name.slice(1) || safeRegExp(p).test(name) || safeRegExp(p).test(name.slice(1)));
}

export type Verdict = 'include' | 'exclude' | 'stop';

/**
 * moby's includeContainerInList for one container, in its order: `before` skips until it
 * has passed the container it names, `since` stops there, a limit stops once reached.
 * `listed` is how many were included so far. Mutates `query.before` once passed, as moby does.
 */
export function judge(c: Container, query: PsQuery, listed: number, facts: PsFacts = {}): Verdict {
  const f = query.filters;
  const r = c.record;
  if (query.before !== undefined) {
    if (c.id === query.before) delete query.before;
    return 'exclude';
  }
  if (query.since !== undefined && c.id === query.since) return 'stop';
  if (!c.running && !query.all && query.limit === undefined) return 'exclude';
  if (f['name']?.length && !nameMatches(f['name'], r.Name)) return 'exclude';
  if (!matchAny(f['id'], c.id)) return 'exclude';
  // no container here is a swarm task
  if (query.isTask === true) return 'exclude';
  if (!matchesLabels(f['label'] ?? [], r.Config.Labels ?? {})) return 'exclude';
  if (!matchAny(f['isolation'], (r.HostConfig as { Isolation?: string }).Isolation?.toLowerCase() || 'default')) return 'exclude';
  if (query.limit !== undefined && listed >= query.limit) return 'stop';
  if (query.exited.length > 0 && !(query.exited.includes(r.State.ExitCode) && !c.running && r.State.StartedAt !== ZERO_TIME)) return 'exclude';
  if (!matchAny(f['status'], r.State.Status)) return 'exclude';
  if (f['health']?.length && !f['health'].includes(healthOf(c)?.Status ?? 'none')) return 'exclude';
  if (f['volume']?.length) {
    const mounts = mountsView(r);
    const named = (value: string): boolean => mounts.some((m) => m.Destination === value || (m.Name ? m.Name === value : m.Source === value));
    if (!f['volume'].some(named)) return 'exclude';
  }
  if (f['ancestor'] !== undefined && !(facts.ancestors?.has(r.Image) ?? false)) return 'exclude';
  if (f['network']?.length) {
    const networks = (facts.networking?.NetworkSettings.Networks ?? {}) as Record<string, { NetworkID?: string } | null>;
    const on = (value: string): boolean => value in networks || Object.values(networks).some((n) => n !== null && (n.NetworkID ?? '').startsWith(value));
    if (!f['network'].some(on)) return 'exclude';
  }
  if (query.publish.size > 0 || query.expose.size > 0) {
    const ports = facts.networking?.Ports ?? [];
    if (!ports.some((p) => query.publish.has(`${p.PublicPort ?? 0}/${p.Type}`) || query.expose.has(`${p.PrivatePort}/${p.Type}`))) return 'exclude';
  }
  return 'include';
}

/** What a list needs from outside the records, asked only when a filter or `size` needs it. */
export interface ListSources {
  /** the IDs of the image `ref` names and of the images made from it; none when it names none */
  imageFamily(ref: string): Promise<string[]>;
  networking(c: Container): Promise<Pick<ContainerSummary, 'Ports' | 'NetworkSettings'>>;
  size(c: Container): Promise<ContainerSize>;
}

export interface ContainerSize {
  SizeRw: number;
  SizeRootFs: number;
}

/** Docker's `ps`: running only unless `all`; newest first; filters AND across keys, OR within one (labels: AND). */
export async function listView(containers: Container[], options: { all: boolean; limit?: number; size?: boolean; filters: Record<string, string[]> }, sources: ListSources): Promise<ContainerSummary[]> {
  const query = foldFilters(containers, options);
  const facts: PsFacts = {};
  if (query.filters['ancestor'] !== undefined) {
    const ids = new Set<string>();
    for (const ref of query.filters['ancestor']) for (const id of await sources.imageFamily(ref)) ids.add(id);
    facts.ancestors = ids;
  }
  const needsNetworking = (query.filters['network']?.length ?? 0) > 0 || query.publish.size > 0 || query.expose.size > 0;
  const selected: Array<{ c: Container; networking?: Pick<ContainerSummary, 'Ports' | 'NetworkSettings'> }> = [];
  for (const c of candidates(containers, query.filters)) {
    // judged one by one: `before`, `since` and the limit depend on the order
    const networking = needsNetworking ? await sources.networking(c) : undefined;
    const verdict = judge(c, query, selected.length, { ...facts, ...(networking ? { networking } : {}) });
    if (verdict === 'stop') break;
    if (verdict === 'include') selected.push({ c, ...(networking ? { networking } : {}) });
  }
  const now = Date.now();
  return Promise.all(
    selected.map(async ({ c, networking }) => ({ ...summaryView(c, now), ...(networking ?? (await sources.networking(c))), ...(options.size ? await sources.size(c) : {}) })),
  );
}

function safeRegExp(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch {
    throw invalidArgument(`invalid filter 'name=${pattern}'`);
  }
}

/** The directory a container's writes land in: the overlay's upper dir, or the bind of a base-less layer. */
export function writableDir(mounts: readonly { type: string; source: string; options: string[] }[]): string | undefined {
  const first = mounts[0];
  if (first === undefined) return undefined;
  if (first.type === 'bind') return first.source;
  return first.options.find((o) => o.startsWith('upperdir='))?.slice('upperdir='.length);
}

/** `size=1`: the bytes a container wrote to its layer, and those plus its image's. */
export async function containerSize(ctx: DaemonContext, c: Container): Promise<ContainerSize> {
  const dir = await ctx.images.snapshotter.mounts(c.record.SnapshotKey).then(writableDir, () => undefined);
  const sizeRw = dir === undefined ? 0 : treeBytes(dir);
  const image = await ctx.images.inspect(c.record.Image).then((i) => i.Size ?? 0, () => 0);
  return { SizeRw: sizeRw, SizeRootFs: sizeRw + image };
}
