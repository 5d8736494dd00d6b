/**
 * The remaining container verbs, each an API call or two with docker's output: `rename`,
 * `port`, `diff`, `export`, `commit`, `stats`, `events`, `container prune` and `system prune`.
 */

import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { jsonLines } from '../../../client/index.ts';
import { parseArgs, requireArgs } from '../args.ts';
import { write, type Io } from '../context.ts';
import { CommandFailed } from '../errors.ts';
import { alignTable, humanSize, renderFormatted } from '../format/index.ts';
import { filtersJson, timestampParam } from './containers.ts';
import type { ApiContext } from './run.ts';

function id(name: string): string {
  return encodeURIComponent(name);
}

export async function renameCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { args } = parseArgs(argv, {});
  requireArgs(args, 'rename', 'CONTAINER NEW_NAME', 2, 2);
  await ctx.client.call('POST', `/containers/${id(args[0]!)}/rename`, { query: { name: args[1]! } });
  return 0;
}

interface PortBinding {
  HostIp: string;
  HostPort: string;
}

export async function portCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { args } = parseArgs(argv, {});
  requireArgs(args, 'port', 'CONTAINER [PRIVATE_PORT[/PROTO]]', 1, 2);
  const info = await ctx.client.json<{ NetworkSettings: { Ports: Record<string, PortBinding[] | null> | null } }>('GET', `/containers/${id(args[0]!)}/json`);
  const ports = info.NetworkSettings.Ports ?? {};
  const show = (binding: PortBinding): string => `${binding.HostIp.includes(':') ? `[${binding.HostIp}]` : binding.HostIp || '0.0.0.0'}:${binding.HostPort}`;
  if (args[1] !== undefined) {
    const wanted = args[1].includes('/') ? args[1] : `${args[1]}/tcp`;
    const bindings = ports[wanted];
    if (!bindings?.length) throw new CommandFailed(`No public port '${wanted}' published for ${args[0]}`);
    await write(ctx.io.stdout, bindings.map((b) => `${show(b)}\n`).join(''));
    return 0;
  }
  const order = (key: string): number => Number(key.split('/')[0]);
  const lines = Object.keys(ports)
    .sort((a, b) => order(a) - order(b) || a.localeCompare(b))
    .flatMap((key) => (ports[key] ?? []).map((b) => `${key} -> ${show(b)}\n`));
  await write(ctx.io.stdout, lines.join(''));
  return 0;
}

export async function diffCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { args } = parseArgs(argv, {});
  requireArgs(args, 'diff', 'CONTAINER', 1, 1);
  const changes = (await ctx.client.json<{ Path: string; Kind: number }[] | null>('GET', `/containers/${id(args[0]!)}/changes`)) ?? [];
  await write(ctx.io.stdout, changes.map((c) => `${'CAD'[c.Kind] ?? '?'} ${c.Path}\n`).join(''));
  return 0;
}

export async function exportCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { output: { type: 'string', short: 'o' } });
  requireArgs(args, 'export', '[OPTIONS] CONTAINER', 1, 1);
  const output = flags['output'] as string | undefined;
  if (output === undefined && ctx.io.stdoutIsTTY) throw new CommandFailed('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  const res = await ctx.client.stream('GET', `/containers/${id(args[0]!)}/export`);
  await pipeline(res, output === undefined ? ctx.io.stdout : createWriteStream(output));
  return 0;
}

export async function commitCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, {
    author: { type: 'string', short: 'a' },
    change: { type: 'list', short: 'c' },
    message: { type: 'string', short: 'm' },
    pause: { type: 'bool', short: 'p' },
  });
  requireArgs(args, 'commit', '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]', 1, 2);
  const ref = args[1];
  let repo: string | undefined;
  let tag: string | undefined;
  if (ref !== undefined) {
    const colon = ref.lastIndexOf(':');
    [repo, tag] = colon > ref.lastIndexOf('/') ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, undefined];
  }
  const params = new URLSearchParams({ container: args[0]! });
  if (repo !== undefined) params.set('repo', repo);
  if (tag !== undefined) params.set('tag', tag);
  if (typeof flags['author'] === 'string') params.set('author', flags['author']);
  if (typeof flags['message'] === 'string') params.set('comment', flags['message']);
  params.set('pause', flags['pause'] === false ? '0' : '1');
  for (const change of flags['change'] as string[]) params.append('changes', change);
  const result = await ctx.client.json<{ Id: string }>('POST', `/commit?${params.toString()}`, { body: {} });
  await write(ctx.io.stdout, `${result.Id}\n`);
  return 0;
}

// ---- stats ---------------------------------------------------------------------------------

interface StatsSample {
  name?: string;
  id?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
  pids_stats?: { current?: number };
}

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** go-units BytesSize: binary units, `%.4g` */
export function bytesSize(bytes: number): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < BINARY_UNITS.length - 1) {
    size /= 1024;
    unit++;
  }
  const text = Number(size.toPrecision(4));
  return `${text}${BINARY_UNITS[unit]}`;
}

export interface StatsRow {
  ID: string;
  Container: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
}

/** One sample → docker's columns (CPU % over the sample's own interval, memory less the inactive page cache). */
export function statsRow(sample: StatsSample, container: string, noTrunc: boolean): StatsRow {
  const cpu = sample.cpu_stats ?? {};
  const pre = sample.precpu_stats ?? {};
  const cpuDelta = (cpu.cpu_usage?.total_usage ?? 0) - (pre.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu.system_cpu_usage ?? 0) - (pre.system_cpu_usage ?? 0);
  const cpus = cpu.online_cpus || cpu.cpu_usage?.percpu_usage?.length || 1;
  const cpuPercent = systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
  const mem = sample.memory_stats ?? {};
  const stats = mem.stats ?? {};
  const cache = stats['total_inactive_file'] ?? stats['inactive_file'] ?? 0;
  const used = Math.max(0, (mem.usage ?? 0) - (cache < (mem.usage ?? 0) ? cache : 0));
  const limit = mem.limit ?? 0;
  let rx = 0;
  let tx = 0;
  for (const net of Object.values(sample.networks ?? {})) {
    rx += net.rx_bytes;
    tx += net.tx_bytes;
  }
  let read = 0;
  let written = 0;
  for (const entry of sample.blkio_stats?.io_service_bytes_recursive ?? []) {
    if (entry.op.toLowerCase() === 'read') read += entry.value;
    else if (entry.op.toLowerCase() === 'write') written += entry.value;
  }
  const fullId = sample.id ?? container;
  return {
    ID: noTrunc ? fullId : fullId.slice(0, 12),
    Container: container,
    Name: (sample.name ?? '').replace(/^\//, ''),
    CPUPerc: `${cpuPercent.toFixed(2)}%`,
    MemUsage: `${bytesSize(used)} / ${bytesSize(limit)}`,
    MemPerc: `${(limit > 0 ? (used / limit) * 100 : 0).toFixed(2)}%`,
    NetIO: `${humanSize(rx)} / ${humanSize(tx)}`,
    BlockIO: `${humanSize(read)} / ${humanSize(written)}`,
    PIDs: String(sample.pids_stats?.current ?? 0),
  };
}

const STATS_HEADERS: Record<string, string> = { ID: 'CONTAINER ID', Container: 'CONTAINER', Name: 'NAME', CPUPerc: 'CPU %', MemUsage: 'MEM USAGE / LIMIT', MemPerc: 'MEM %', NetIO: 'NET I/O', BlockIO: 'BLOCK I/O', PIDs: 'PIDS' };

function renderStats(rows: StatsRow[], format: string | undefined): string {
  if (format !== undefined && format !== '' && format !== 'table') return renderFormatted(format, rows, STATS_HEADERS);
  const header = ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'];
  return alignTable([header, ...rows.map((r) => [r.ID, r.Name, r.CPUPerc, r.MemUsage, r.MemPerc, r.NetIO, r.BlockIO, r.PIDs])]);
}

async function containerNames(ctx: ApiContext, all: boolean): Promise<string[]> {
  const list = await ctx.client.json<{ Id: string }[]>('GET', '/containers/json', { query: { all } });
  return list.map((c) => c.Id);
}

export async function statsCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { all: { type: 'bool', short: 'a' }, 'no-stream': { type: 'bool' }, 'no-trunc': { type: 'bool' }, format: { type: 'string' } });
  const named = args.length > 0;
  const noTrunc = flags['no-trunc'] === true;
  const format = flags['format'] as string | undefined;
  const sample = async (name: string): Promise<StatsRow | undefined> => {
    try {
      const s = await ctx.client.json<StatsSample>('GET', `/containers/${id(name)}/stats`, { query: { stream: false } });
      return statsRow(s, name, noTrunc);
    } catch (err) {
      if (named) throw err;
      return undefined; // a container gone between the list and its sample
    }
  };
  const round = async (): Promise<string> => {
    const names = named ? args : await containerNames(ctx, flags['all'] === true);
    const rows = (await Promise.all(names.map(sample))).filter((r): r is StatsRow => r !== undefined);
    return renderStats(rows, format);
  };
  if (flags['no-stream'] === true) {
    await write(ctx.io.stdout, await round());
    return 0;
  }
  // a live view: redrawn in place on a terminal, appended otherwise, until interrupted
  for (;;) {
    const text = await round();
    await write(ctx.io.stdout, ctx.io.stdoutIsTTY ? `\x1b[2J\x1b[H${text}` : text);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// ---- events --------------------------------------------------------------------------------

interface EventLike {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time: number;
  timeNano: number;
  scope?: string;
}

/**
 * `2025-01-15T10:00:00.123456789Z container start 3f4e… (image=busybox, name=web)`. `timeNano`
 * comes as its JSON digits: 19-digit nanoseconds do not survive a JavaScript number.
 */
export function eventLine(e: EventLike, timeNano: string): string {
  const nanos = BigInt(timeNano);
  const stamp = `${new Date(Number(nanos / 1_000_000_000n) * 1000).toISOString().slice(0, 19)}.${String(nanos % 1_000_000_000n).padStart(9, '0')}Z`;
  const attributes = Object.entries(e.Actor.Attributes ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  return `${stamp} ${e.Type} ${e.Action} ${e.Actor.ID}${attributes.length > 0 ? ` (${attributes.join(', ')})` : ''}\n`;
}

export async function eventsCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { since: { type: 'string' }, until: { type: 'string' }, filter: { type: 'list', short: 'f' }, format: { type: 'string' } });
  requireArgs(args, 'events', '[OPTIONS]', 0, 0);
  const res = await ctx.client.stream('GET', '/events', {
    query: {
      since: typeof flags['since'] === 'string' ? timestampParam(flags['since']) : undefined,
      until: typeof flags['until'] === 'string' ? timestampParam(flags['until']) : undefined,
      filters: filtersJson(flags['filter'] as string[]),
    },
  });
  const format = flags['format'] as string | undefined;
  for await (const line of jsonLines(res)) {
    const event = JSON.parse(line) as EventLike;
    const timeNano = /"timeNano":\s*(\d+)/.exec(line)?.[1] ?? `${event.time}000000000`;
    await write(ctx.io.stdout, format ? (format === '{{json .}}' ? `${line}\n` : renderFormatted(format, [event], {})) : eventLine(event, timeNano));
  }
  return 0;
}

// ---- prune ---------------------------------------------------------------------------------

async function confirm(io: Io, warning: string): Promise<boolean> {
  await write(io.stdout, `${warning}\nAre you sure you want to continue? [y/N] `);
  let text = '';
  for await (const chunk of io.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return /^\s*y(es)?\s*$/i.test(text.split('\n')[0] ?? '');
}

interface PruneAnswers {
  ContainersDeleted?: string[] | null;
  NetworksDeleted?: string[] | null;
  VolumesDeleted?: string[] | null;
  ImagesDeleted?: { Untagged?: string; Deleted?: string }[] | null;
  CachesDeleted?: string[] | null;
  SpaceReclaimed?: number;
}

function pruneReport(answers: PruneAnswers[]): string {
  let out = '';
  let space = 0;
  const section = (title: string, items: string[]): void => {
    if (items.length > 0) out += `${title}:\n${items.map((i) => `${i}\n`).join('')}\n`;
  };
  for (const a of answers) {
    section('Deleted Containers', a.ContainersDeleted ?? []);
    section('Deleted Networks', a.NetworksDeleted ?? []);
    section('Deleted Volumes', a.VolumesDeleted ?? []);
    section('Deleted Images', (a.ImagesDeleted ?? []).map((i) => (i.Untagged !== undefined ? `untagged: ${i.Untagged}` : `deleted: ${i.Deleted}`)));
    section('Deleted build cache objects', a.CachesDeleted ?? []);
    space += a.SpaceReclaimed ?? 0;
  }
  return `${out}Total reclaimed space: ${humanSize(space, 4)}\n`;
}

export async function containerPruneCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { force: { type: 'bool', short: 'f' }, filter: { type: 'list' } });
  requireArgs(args, 'container prune', '[OPTIONS]', 0, 0);
  if (flags['force'] !== true && !(await confirm(ctx.io, 'WARNING! This will remove all stopped containers.'))) return 0;
  const answer = await ctx.client.json<PruneAnswers>('POST', '/containers/prune', { query: { filters: filtersJson(flags['filter'] as string[]) } });
  await write(ctx.io.stdout, pruneReport([answer]));
  return 0;
}

export async function systemPruneCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { all: { type: 'bool', short: 'a' }, force: { type: 'bool', short: 'f' }, volumes: { type: 'bool' }, filter: { type: 'list' } });
  requireArgs(args, 'system prune', '[OPTIONS]', 0, 0);
  const all = flags['all'] === true;
  const volumes = flags['volumes'] === true;
  const warning = [
    'WARNING! This will remove:',
    '  - all stopped containers',
    '  - all networks not used by at least one container',
    ...(volumes ? ['  - all anonymous volumes not used by at least one container'] : []),
    all ? '  - all images without at least one container associated to them' : '  - all dangling images',
    all ? '  - all build cache' : '  - unused build cache',
    '',
  ].join('\n');
  if (flags['force'] !== true && !(await confirm(ctx.io, warning))) return 0;
  const filters = filtersJson(flags['filter'] as string[]);
  const answers: PruneAnswers[] = [await ctx.client.json<PruneAnswers>('POST', '/containers/prune', { query: { filters } })];
  answers.push(await ctx.client.json<PruneAnswers>('POST', '/networks/prune', { query: { filters } }));
  if (volumes) answers.push(await ctx.client.json<PruneAnswers>('POST', '/volumes/prune', { query: { filters } }));
  const imageFilters = JSON.stringify({ ...(filters !== undefined ? (JSON.parse(filters) as object) : {}), dangling: [all ? 'false' : 'true'] });
  answers.push(await ctx.client.json<PruneAnswers>('POST', '/images/prune', { query: { filters: imageFilters } }));
  answers.push(await ctx.client.json<PruneAnswers>('POST', '/build/prune'));
  await write(ctx.io.stdout, pruneReport(answers));
  return 0;
}
