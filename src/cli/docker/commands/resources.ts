/**
 * `volume` and `network` sub-verbs against berthd (ls, create, rm, inspect, prune), with
 * docker's columns and the `--format`/`-q` forms scripts rely on.
 */

import { ApiError } from '../../../client/index.ts';
import { parseArgs, requireArgs, UsageError } from '../args.ts';
import { runGroupVerb } from '../group.ts';
import { write } from '../context.ts';
import { alignTable, humanSize, parseTemplate, renderFormatted } from '../format/index.ts';
import { filtersJson } from './containers.ts';
import type { ApiContext } from './run.ts';

type Verb = (ctx: ApiContext, argv: string[]) => Promise<number>;

interface VolumeLike {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Scope?: string;
  Labels?: Record<string, string> | null;
}

interface NetworkLike {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
}

function errorLine(err: unknown): string {
  return err instanceof ApiError ? `Error response from daemon: ${err.message}` : `Error: ${err instanceof Error ? err.message : String(err)}`;
}

async function inspectEach(ctx: ApiContext, argv: string[], verb: string, path: (name: string) => string, missing: (name: string) => string): Promise<number> {
  const { flags, args } = parseArgs(argv, { format: { type: 'string', short: 'f' } });
  requireArgs(args, verb, '[OPTIONS] NAME [NAME...]', 1, Infinity);
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const name of args) {
    try {
      found.push(await ctx.client.json('GET', path(encodeURIComponent(name))));
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
      errors.push(missing(name));
    }
  }
  const format = flags['format'] as string | undefined;
  if (format) {
    const template = parseTemplate(format);
    await write(ctx.io.stdout, found.map((item) => `${template.render(item)}\n`).join(''));
  } else await write(ctx.io.stdout, `${JSON.stringify(found, null, 4)}\n`);
  if (errors.length === 0) return 0;
  await write(ctx.io.stderr, errors.map((e) => `${e}\n`).join(''));
  return 1;
}

async function removeEach(ctx: ApiContext, names: readonly string[], path: (name: string) => string, query: Record<string, boolean> = {}): Promise<number> {
  let code = 0;
  for (const name of names) {
    try {
      await ctx.client.call('DELETE', path(encodeURIComponent(name)), { query });
      await write(ctx.io.stdout, `${name}\n`);
    } catch (err) {
      await write(ctx.io.stderr, `${errorLine(err)}\n`);
      code = 1;
    }
  }
  return code;
}

function keyValues(list: readonly string[]): Record<string, string> {
  return Object.fromEntries(list.map((item) => {
    const eq = item.indexOf('=');
    return eq === -1 ? [item, ''] : [item.slice(0, eq), item.slice(eq + 1)];
  }));
}

export const VOLUME_VERBS: Record<string, Verb> = {
  async ls(ctx, argv) {
    const { flags, args } = parseArgs(argv, { quiet: { type: 'bool', short: 'q' }, format: { type: 'string' }, filter: { type: 'list', short: 'f' } });
    requireArgs(args, 'volume ls', '[OPTIONS]', 0);
    const { Volumes } = await ctx.client.json<{ Volumes: VolumeLike[] | null }>('GET', '/volumes', { query: { filters: filtersJson(flags['filter'] as string[]) } });
    const rows = (Volumes ?? []).map((v) => ({ Name: v.Name, Driver: v.Driver, Mountpoint: v.Mountpoint, Scope: v.Scope ?? 'local', Labels: Object.entries(v.Labels ?? {}).map(([k, val]) => `${k}=${val}`).join(',') }));
    if (flags['quiet'] === true) await write(ctx.io.stdout, rows.map((r) => `${r.Name}\n`).join(''));
    else if (flags['format']) await write(ctx.io.stdout, renderFormatted(flags['format'] as string, rows, { Name: 'VOLUME NAME', Driver: 'DRIVER', Mountpoint: 'MOUNTPOINT', Scope: 'SCOPE', Labels: 'LABELS' }));
    else await write(ctx.io.stdout, alignTable([['DRIVER', 'VOLUME NAME'], ...rows.map((r) => [r.Driver, r.Name])]));
    return 0;
  },
  async create(ctx, argv) {
    const { flags, args } = parseArgs(argv, { driver: { type: 'string', short: 'd' }, label: { type: 'list' }, opt: { type: 'list', short: 'o' }, name: { type: 'string' } });
    requireArgs(args, 'volume create', '[OPTIONS] [VOLUME]', 0, 1);
    const name = args[0] ?? (flags['name'] as string | undefined);
    const body = { ...(name ? { Name: name } : {}), Driver: (flags['driver'] as string | undefined) ?? 'local', DriverOpts: keyValues(flags['opt'] as string[]), Labels: keyValues(flags['label'] as string[]) };
    const volume = await ctx.client.json<VolumeLike>('POST', '/volumes/create', { body });
    await write(ctx.io.stdout, `${volume.Name}\n`);
    return 0;
  },
  async rm(ctx, argv) {
    const { flags, args } = parseArgs(argv, { force: { type: 'bool', short: 'f' } });
    requireArgs(args, 'volume rm', '[OPTIONS] VOLUME [VOLUME...]', 1, Infinity);
    return removeEach(ctx, args, (n) => `/volumes/${n}`, { force: flags['force'] === true });
  },
  inspect: (ctx, argv) => inspectEach(ctx, argv, 'volume inspect', (n) => `/volumes/${n}`, (n) => `Error response from daemon: get ${n}: no such volume`),
  async prune(ctx, argv) {
    const { flags, args } = parseArgs(argv, { force: { type: 'bool', short: 'f' }, all: { type: 'bool', short: 'a' }, filter: { type: 'list' } });
    requireArgs(args, 'volume prune', '[OPTIONS]', 0);
    if (flags['force'] !== true && !ctx.io.stdinIsTTY) throw new UsageError('volume prune needs --force when stdin is not a terminal');
    const filters = [...(flags['filter'] as string[]), ...(flags['all'] === true ? ['all=true'] : [])];
    const result = await ctx.client.json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/volumes/prune', { query: { filters: filtersJson(filters) } });
    const deleted = result.VolumesDeleted ?? [];
    await write(ctx.io.stdout, `${deleted.length > 0 ? `Deleted Volumes:\n${deleted.map((v) => `${v}\n`).join('')}\n` : ''}Total reclaimed space: ${humanSize(result.SpaceReclaimed)}\n`);
    return 0;
  },
};
VOLUME_VERBS['list'] = VOLUME_VERBS['ls']!;
VOLUME_VERBS['remove'] = VOLUME_VERBS['rm']!;

export const NETWORK_VERBS: Record<string, Verb> = {
  async ls(ctx, argv) {
    const { flags, args } = parseArgs(argv, { quiet: { type: 'bool', short: 'q' }, format: { type: 'string' }, filter: { type: 'list', short: 'f' }, 'no-trunc': { type: 'bool' } });
    requireArgs(args, 'network ls', '[OPTIONS]', 0);
    const list = await ctx.client.json<NetworkLike[]>('GET', '/networks', { query: { filters: filtersJson(flags['filter'] as string[]) } });
    const rows = list.map((n) => ({ ID: flags['no-trunc'] === true ? n.Id : n.Id.slice(0, 12), Name: n.Name, Driver: n.Driver, Scope: n.Scope }));
    if (flags['quiet'] === true) await write(ctx.io.stdout, rows.map((r) => `${r.ID}\n`).join(''));
    else if (flags['format']) await write(ctx.io.stdout, renderFormatted(flags['format'] as string, rows, { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE' }));
    else await write(ctx.io.stdout, alignTable([['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], ...rows.map((r) => [r.ID, r.Name, r.Driver, r.Scope])]));
    return 0;
  },
  async create(ctx, argv) {
    const { flags, args } = parseArgs(argv, { driver: { type: 'string', short: 'd' }, subnet: { type: 'list' }, gateway: { type: 'list' }, label: { type: 'list' }, opt: { type: 'list', short: 'o' }, internal: { type: 'bool' } });
    requireArgs(args, 'network create', '[OPTIONS] NETWORK', 1);
    const subnets = flags['subnet'] as string[];
    const gateways = flags['gateway'] as string[];
    const body = {
      Name: args[0],
      Driver: (flags['driver'] as string | undefined) ?? 'bridge',
      Internal: flags['internal'] === true,
      Options: keyValues(flags['opt'] as string[]),
      Labels: keyValues(flags['label'] as string[]),
      ...(subnets.length > 0 ? { IPAM: { Driver: 'default', Config: subnets.map((Subnet, i) => ({ Subnet, ...(gateways[i] ? { Gateway: gateways[i] } : {}) })) } } : {}),
    };
    const created = await ctx.client.json<{ Id: string }>('POST', '/networks/create', { body });
    await write(ctx.io.stdout, `${created.Id}\n`);
    return 0;
  },
  async rm(ctx, argv) {
    const { args } = parseArgs(argv, { force: { type: 'bool', short: 'f' } });
    requireArgs(args, 'network rm', 'NETWORK [NETWORK...]', 1, Infinity);
    return removeEach(ctx, args, (n) => `/networks/${n}`);
  },
  inspect: (ctx, argv) => inspectEach(ctx, argv, 'network inspect', (n) => `/networks/${n}`, (n) => `Error response from daemon: network ${n} not found`),
  async prune(ctx, argv) {
    const { flags, args } = parseArgs(argv, { force: { type: 'bool', short: 'f' }, filter: { type: 'list' } });
    requireArgs(args, 'network prune', '[OPTIONS]', 0);
    if (flags['force'] !== true && !ctx.io.stdinIsTTY) throw new UsageError('network prune needs --force when stdin is not a terminal');
    const result = await ctx.client.json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune');
    const deleted = result.NetworksDeleted ?? [];
    await write(ctx.io.stdout, deleted.length > 0 ? `Deleted Networks:\n${deleted.map((n) => `${n}\n`).join('')}` : '');
    return 0;
  },
};
NETWORK_VERBS['list'] = NETWORK_VERBS['ls']!;
NETWORK_VERBS['remove'] = NETWORK_VERBS['rm']!;

/** `volume VERB` / `network VERB`: the sub-verb's handler, or docker's unknown-command error. */
export function groupCommand(group: 'volume' | 'network'): Verb {
  const table = group === 'volume' ? VOLUME_VERBS : NETWORK_VERBS;
  return (ctx, argv) => runGroupVerb(ctx, argv, group, table);
}
