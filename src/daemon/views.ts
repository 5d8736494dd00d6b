/**
 * A container as Docker shows it: `inspect` (ContainerJSON), `ps` (the summary list with its
 * human "Up 2 minutes" status) and the list filters (id, name, status, label).
 */

import type { ContainerInspect, ContainerSummary } from '../api/index.ts';
import { invalidArgument } from '../util/errors.ts';
import type { Container } from './container.ts';
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

const FILTERS = new Set(['id', 'name', 'status', 'label', 'health']);
const HEALTH_STATES = new Set(['starting', 'healthy', 'unhealthy', 'none']);
const STATUSES = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);

export function checkFilters(filters: Record<string, string[]>): void {
  for (const key of Object.keys(filters)) if (!FILTERS.has(key)) throw invalidArgument(`invalid filter '${key}'`);
  for (const status of filters['status'] ?? []) {
    if (!STATUSES.has(status)) throw invalidArgument(`invalid filter 'status=${status}'`);
  }
  for (const health of filters['health'] ?? []) {
    if (!HEALTH_STATES.has(health)) throw invalidArgument(`Unrecognised filter value for health: ${health}`);
  }
}

function matchesLabel(labels: Record<string, string>, wanted: string): boolean {
  const eq = wanted.indexOf('=');
  if (eq < 0) return wanted in labels;
  return labels[wanted.slice(0, eq)] === wanted.slice(eq + 1);
}

/** Docker's `ps` semantics: running only unless `all`; newest first; filters AND across keys, OR within one. */
export function listView(containers: Container[], options: { all: boolean; limit?: number; filters: Record<string, string[]> }): ContainerSummary[] {
  checkFilters(options.filters);
  const f = options.filters;
  const all = options.all || options.limit !== undefined || (f['status']?.length ?? 0) > 0;
  let selected = containers
    .filter((c) => all || c.running)
    .filter((c) => !f['id']?.length || f['id'].some((id) => c.id.startsWith(id)))
    .filter((c) => !f['name']?.length || f['name'].some((n) => safeRegExp(n).test(c.record.Name.slice(1)) || safeRegExp(n).test(c.record.Name)))
    .filter((c) => !f['status']?.length || f['status'].includes(c.record.State.Status))
    .filter((c) => !f['label']?.length || f['label'].every((l) => matchesLabel(c.record.Config.Labels ?? {}, l)))
    .filter((c) => !f['health']?.length || f['health'].includes(healthOf(c)?.Status ?? 'none'))
    .sort((a, b) => Date.parse(b.record.Created) - Date.parse(a.record.Created));
  if (options.limit !== undefined) selected = selected.slice(0, options.limit);
  const now = Date.now();
  return selected.map((c) => summaryView(c, now));
}

function safeRegExp(pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch {
    throw invalidArgument(`invalid filter 'name=${pattern}'`);
  }
}
