/**
 * The container verbs that are one or two API calls each: `ps`, `logs`, `stop`, `kill`, `rm`,
 * `restart`, `pause`, `unpause`, `wait`, `top`, `inspect`, plus `version` and `info`. Output,
 * columns and exit codes as docker's: a failure on one of several containers is printed as
 * "Error response from daemon: …" and the verb goes on, exiting 1 at the end.
 */

import { ApiError, Demuxer, STDERR } from '../../../client/index.ts';
import { parseArgs, requireArgs, UsageError } from '../args.ts';
import { write } from '../context.ts';
import { alignTable, ago, humanSize, parseTemplate, renderFormatted } from '../format/index.ts';
import type { ApiContext } from './run.ts';

interface PortLike {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

interface ContainerSummaryLike {
  Id: string;
  Names: string[];
  Image: string;
  Command: string;
  Created: number;
  Ports: PortLike[];
  Labels: Record<string, string> | null;
  State: string;
  Status: string;
  Mounts?: { Name?: string; Source?: string }[];
  NetworkSettings?: { Networks?: Record<string, unknown> };
  SizeRw?: number;
  SizeRootFs?: number;
}

function errorLine(err: unknown): string {
  if (err instanceof ApiError) return `Error response from daemon: ${err.message}`;
  return `Error: ${err instanceof Error ? err.message : String(err)}`;
}

function formatPorts(ports: readonly PortLike[]): string {
  return ports
    .map((p) => (p.PublicPort ? `${p.IP ?? ''}${p.IP ? ':' : ''}${p.PublicPort}->${p.PrivatePort}/${p.Type}` : `${p.PrivatePort}/${p.Type}`))
    .join(', ');
}

/** docker's ps command column: quoted, cut to 20 characters with an ellipsis unless --no-trunc. */
export function commandColumn(command: string, truncate: boolean): string {
  const text = truncate && [...command].length > 20 ? `${[...command].slice(0, 19).join('')}…` : command;
  return JSON.stringify(text);
}

type PsField = 'ID' | 'Image' | 'Command' | 'CreatedAt' | 'RunningFor' | 'Ports' | 'State' | 'Status' | 'Names' | 'Labels' | 'Mounts' | 'Networks' | 'Size';

/** One ps row with the fields docker's `--format` knows. */
function psRow(c: ContainerSummaryLike, truncate: boolean): Record<PsField, string> {
  const names = c.Names.map((n) => n.replace(/^\//, ''));
  return {
    ID: truncate ? c.Id.slice(0, 12) : c.Id,
    Image: c.Image,
    Command: commandColumn(c.Command, truncate),
    CreatedAt: new Date(c.Created * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000 UTC'),
    RunningFor: ago(c.Created),
    Ports: formatPorts(c.Ports ?? []),
    State: c.State,
    Status: c.Status,
    Names: (truncate ? names.filter((n) => !n.slice(1).includes('/')) : names).join(','),
    Labels: Object.entries(c.Labels ?? {}).map(([k, v]) => `${k}=${v}`).join(','),
    Mounts: (c.Mounts ?? []).map((m) => m.Name ?? m.Source ?? '').join(','),
    Networks: Object.keys(c.NetworkSettings?.Networks ?? {}).join(','),
    Size: sizeColumn(c),
  };
}

/** docker's size column: the writable layer, and with it the whole root file system. */
function sizeColumn(c: ContainerSummaryLike): string {
  const rw = humanSize(c.SizeRw ?? 0, 3);
  return (c.SizeRootFs ?? 0) > 0 ? `${rw} (virtual ${humanSize(c.SizeRootFs!, 3)})` : rw;
}

const PS_HEADERS = { ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', CreatedAt: 'CREATED AT', RunningFor: 'CREATED', Ports: 'PORTS', State: 'STATE', Status: 'STATUS', Names: 'NAMES', Labels: 'LABELS', Mounts: 'MOUNTS', Networks: 'NETWORKS', Size: 'SIZE' };

/** `--filter key=value` arguments as the API's `{"key":["value"]}`. */
export function filtersJson(list: readonly string[]): string | undefined {
  if (list.length === 0) return undefined;
  const out: Record<string, string[]> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq === -1) throw new UsageError(`invalid argument "${item}" for "-f, --filter" flag: bad format of filter (expected name=value)`);
    (out[item.slice(0, eq)] ??= []).push(item.slice(eq + 1));
  }
  return JSON.stringify(out);
}

export async function psCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, {
    all: { type: 'bool', short: 'a' },
    quiet: { type: 'bool', short: 'q' },
    'no-trunc': { type: 'bool' },
    format: { type: 'string' },
    filter: { type: 'list', short: 'f' },
    last: { type: 'string', short: 'n' },
    latest: { type: 'bool', short: 'l' },
    size: { type: 'bool', short: 's' },
  });
  requireArgs(args, 'ps', '[OPTIONS]', 0);
  const last = flags['latest'] === true ? 1 : flags['last'] === undefined ? undefined : Number(flags['last']);
  const list = await ctx.client.json<ContainerSummaryLike[]>('GET', '/containers/json', {
    query: { all: flags['all'] === true || (last !== undefined && last > 0), filters: filtersJson(flags['filter'] as string[]), limit: last, size: flags['size'] === true },
  });
  const truncate = flags['no-trunc'] !== true;
  const rows = list.map((c) => psRow(c, truncate));
  if (flags['quiet'] === true) {
    await write(ctx.io.stdout, rows.map((r) => `${r.ID}\n`).join(''));
    return 0;
  }
  const format = flags['format'] === 'json' ? '{{json .}}' : (flags['format'] as string | undefined);
  if (format !== undefined && format !== '' && format !== 'table') {
    await write(ctx.io.stdout, renderFormatted(format, rows, PS_HEADERS));
    return 0;
  }
  const size = flags['size'] === true;
  await write(ctx.io.stdout, alignTable([
    ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES', ...(size ? ['SIZE'] : [])],
    ...rows.map((r) => [r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names, ...(size ? [r.Size] : [])]),
  ]));
  return 0;
}

/** docker's `--since`/`--until`: a duration back from now (`10m`, `1h30m`), RFC 3339, or epoch seconds, sent as epoch seconds. */
export function timestampParam(value: string, now = Date.now()): string {
  if (/^\d+(\.\d+)?$/.test(value)) return value;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length > 0 && parts.map((p) => p[0]).join('') === value) {
    const ms = parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
    return ((now - ms) / 1000).toFixed(9);
  }
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw new UsageError(`invalid value for "since": failed to parse value as time or duration: "${value}"`);
  return (parsed / 1000).toFixed(9);
}

export async function logsCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, {
    follow: { type: 'bool', short: 'f' },
    timestamps: { type: 'bool', short: 't' },
    tail: { type: 'string', short: 'n' },
    since: { type: 'string' },
    until: { type: 'string' },
    details: { type: 'bool' },
  });
  requireArgs(args, 'logs', '[OPTIONS] CONTAINER', 1);
  const name = encodeURIComponent(args[0]!);
  const info = await ctx.client.json<{ Config: { Tty: boolean } }>('GET', `/containers/${name}/json`);
  const res = await ctx.client.stream('GET', `/containers/${name}/logs`, {
    query: {
      stdout: true,
      stderr: true,
      follow: flags['follow'] === true,
      timestamps: flags['timestamps'] === true,
      tail: flags['tail'] as string | undefined,
      since: typeof flags['since'] === 'string' ? timestampParam(flags['since']) : undefined,
      until: typeof flags['until'] === 'string' ? timestampParam(flags['until']) : undefined,
    },
  });
  const demux = info.Config.Tty ? undefined : new Demuxer((stream, payload) => (stream === STDERR ? ctx.io.stderr : ctx.io.stdout).write(payload));
  for await (const chunk of res) {
    if (demux) demux.push(chunk as Buffer);
    else ctx.io.stdout.write(chunk as Buffer);
  }
  return 0;
}

/** A verb applied to each named container in turn, printing its name on success. */
async function eachContainer(ctx: ApiContext, names: readonly string[], act: (name: string) => Promise<void>): Promise<number> {
  let code = 0;
  for (const name of names) {
    try {
      await act(encodeURIComponent(name));
      await write(ctx.io.stdout, `${name}\n`);
    } catch (err) {
      await write(ctx.io.stderr, `${errorLine(err)}\n`);
      code = 1;
    }
  }
  return code;
}

export async function stopCommand(ctx: ApiContext, argv: string[], verb: 'stop' | 'restart' = 'stop'): Promise<number> {
  const { flags, args } = parseArgs(argv, { time: { type: 'string', short: 't' }, signal: { type: 'string', short: 's' } });
  requireArgs(args, verb, '[OPTIONS] CONTAINER [CONTAINER...]', 1, Infinity);
  const query = { t: flags['time'] as string | undefined, signal: flags['signal'] as string | undefined };
  return eachContainer(ctx, args, async (id) => void (await ctx.client.call('POST', `/containers/${id}/${verb}`, { query })));
}

export async function killCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { signal: { type: 'string', short: 's' } });
  requireArgs(args, 'kill', '[OPTIONS] CONTAINER [CONTAINER...]', 1, Infinity);
  return eachContainer(ctx, args, async (id) => void (await ctx.client.call('POST', `/containers/${id}/kill`, { query: { signal: flags['signal'] as string | undefined } })));
}

export async function rmCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { force: { type: 'bool', short: 'f' }, volumes: { type: 'bool', short: 'v' }, link: { type: 'bool', short: 'l' } });
  requireArgs(args, 'rm', '[OPTIONS] CONTAINER [CONTAINER...]', 1, Infinity);
  return eachContainer(ctx, args, async (id) => void (await ctx.client.call('DELETE', `/containers/${id}`, { query: { force: flags['force'] === true, v: flags['volumes'] === true } })));
}

export async function pauseCommand(ctx: ApiContext, argv: string[], verb: 'pause' | 'unpause'): Promise<number> {
  const { args } = parseArgs(argv, {});
  requireArgs(args, verb, 'CONTAINER [CONTAINER...]', 1, Infinity);
  return eachContainer(ctx, args, async (id) => void (await ctx.client.call('POST', `/containers/${id}/${verb}`)));
}

export async function waitCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { args } = parseArgs(argv, {});
  requireArgs(args, 'wait', 'CONTAINER [CONTAINER...]', 1, Infinity);
  let code = 0;
  for (const name of args) {
    try {
      const result = await ctx.client.json<{ StatusCode: number }>('POST', `/containers/${encodeURIComponent(name)}/wait`);
      await write(ctx.io.stdout, `${result.StatusCode}\n`);
    } catch (err) {
      await write(ctx.io.stderr, `${errorLine(err)}\n`);
      code = 1;
    }
  }
  return code;
}

export async function topCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { args } = parseArgs(argv, {}, { stopAtFirstArg: true });
  requireArgs(args, 'top', 'CONTAINER [ps OPTIONS]', 1, Infinity);
  const [name, ...psArgs] = args as [string, ...string[]];
  const top = await ctx.client.json<{ Titles: string[]; Processes: string[][] }>('GET', `/containers/${encodeURIComponent(name)}/top`, { query: { ps_args: psArgs.length > 0 ? psArgs.join(' ') : undefined } });
  // docker's top table: tabwriter cells of 20 at least, not the 10 of its other tables
  await write(ctx.io.stdout, alignTable([top.Titles, ...top.Processes], 20));
  return 0;
}

/** `inspect` of containers, falling back to images (`--type` picks one). */
export async function inspectApiCommand(ctx: ApiContext, argv: string[], verb = 'inspect', only?: 'container' | 'image'): Promise<number> {
  const { flags, args } = parseArgs(argv, { format: { type: 'string', short: 'f' }, type: { type: 'string' }, size: { type: 'bool', short: 's' } });
  requireArgs(args, verb, '[OPTIONS] NAME|ID [NAME|ID...]', 1, Infinity);
  const type = only ?? (flags['type'] as string | undefined);
  if (type !== undefined && type !== 'container' && type !== 'image') throw new UsageError(`"${type}" is not a valid value for --type`);
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const ref of args) {
    const name = encodeURIComponent(ref);
    const kinds = type === undefined ? (['container', 'image'] as const) : ([type] as const);
    let item: unknown;
    let lastError: unknown;
    for (const kind of kinds) {
      try {
        item = await ctx.client.json('GET', kind === 'container' ? `/containers/${name}/json` : `/images/${name}/json`, { query: kind === 'container' ? { size: flags['size'] === true } : {} });
        break;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
        lastError = err;
      }
    }
    if (item !== undefined) found.push(item);
    else if (type === undefined) errors.push(`Error: No such object: ${ref}`);
    else errors.push(errorLine(lastError));
  }
  const format = flags['format'] as string | undefined;
  if (format !== undefined && format !== '' && format !== 'json') {
    const template = parseTemplate(format);
    await write(ctx.io.stdout, found.map((item) => `${template.render(item)}\n`).join(''));
  } else {
    await write(ctx.io.stdout, `${JSON.stringify(found, null, 4)}\n`);
  }
  if (errors.length > 0) {
    await write(ctx.io.stderr, `${errors.join('\n')}\n`);
    return 1;
  }
  return 0;
}

export async function versionCommand(ctx: ApiContext, argv: string[], clientVersion: string): Promise<number> {
  const { flags, args } = parseArgs(argv, { format: { type: 'string', short: 'f' } });
  requireArgs(args, 'version', '[OPTIONS]', 0);
  const server = await ctx.client.json<Record<string, unknown>>('GET', '/version');
  const client = { Version: clientVersion, ApiVersion: '1.51', Os: process.platform, Arch: process.arch, GoVersion: `node ${process.version}` };
  const format = flags['format'] as string | undefined;
  if (format) {
    // docker's template sees Go field names: APIVersion is the one that differs from the JSON's
    // ApiVersion; kept out of `{{json .}}`, as Go's encoder writes only the JSON name
    const goNames = <T extends Record<string, unknown>>(o: T): T => Object.defineProperty({ ...o }, 'APIVersion', { value: o['ApiVersion'], enumerable: false });
    await write(ctx.io.stdout, `${parseTemplate(format).render({ Client: goNames(client), Server: goNames(server) })}\n`);
    return 0;
  }
  const field = (v: unknown): string => (v === undefined ? '' : String(v));
  await write(
    ctx.io.stdout,
    `Client:\n Version:           ${client.Version}\n API version:       ${client.ApiVersion}\n Runtime:           ${client.GoVersion}\n OS/Arch:           ${client.Os}/${client.Arch}\n\n` +
      `Server:\n Engine:\n  Version:          ${field(server['Version'])}\n  API version:      ${field(server['ApiVersion'])} (minimum version ${field(server['MinAPIVersion'])})\n  OS/Arch:          ${field(server['Os'])}/${field(server['Arch'])}\n  Kernel Version:   ${field(server['KernelVersion'])}\n`,
  );
  return 0;
}

export async function infoCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { format: { type: 'string', short: 'f' } });
  requireArgs(args, 'info', '[OPTIONS]', 0);
  const info = await ctx.client.json<Record<string, unknown>>('GET', '/info');
  const format = flags['format'] as string | undefined;
  if (format) {
    await write(ctx.io.stdout, `${parseTemplate(format).render(info)}\n`);
    return 0;
  }
  const keys: [string, string][] = [
    ['Containers', 'Containers'], ['ContainersRunning', ' Running'], ['ContainersPaused', ' Paused'], ['ContainersStopped', ' Stopped'], ['Images', 'Images'],
    ['ServerVersion', 'Server Version'], ['Driver', 'Storage Driver'], ['CgroupDriver', 'Cgroup Driver'], ['CgroupVersion', 'Cgroup Version'],
    ['KernelVersion', 'Kernel Version'], ['OperatingSystem', 'Operating System'], ['OSType', 'OSType'], ['Architecture', 'Architecture'],
    ['NCPU', 'CPUs'], ['MemTotal', 'Total Memory'], ['Name', 'Name'], ['ID', 'ID'], ['DockerRootDir', 'Berth Root Dir'],
  ];
  const lines = keys.filter(([k]) => info[k] !== undefined).map(([k, label]) => ` ${label}: ${String(info[k])}\n`);
  await write(ctx.io.stdout, `Server:\n${lines.join('')}`);
  return 0;
}

