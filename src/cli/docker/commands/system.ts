/**
 * `system df`: disk used by images, containers, local volumes and the build cache, in docker's
 * table, or item by item with `-v`. Without a daemon (the image store in-process) there are no
 * containers, volumes or build cache to count.
 */

import { parseArgs, requireArgs } from '../args.ts';
import type { DiskUsageContainer, DiskUsageLike } from '../backend.ts';
import { write, type CommandContext } from '../context.ts';
import { ago, alignTable, humanSize, renderFormatted } from '../format/index.ts';
import { commandColumn } from './containers.ts';
import { imageRows } from './images.ts';

interface DfRow {
  Type: string;
  TotalCount: string;
  Active: string;
  Size: string;
  Reclaimable: string;
}

function withPercent(reclaim: number, total: number): string {
  return total > 0 ? `${humanSize(reclaim, 4)} (${Math.floor((100 * reclaim) / total)}%)` : humanSize(reclaim, 4);
}

/** docker counts a container as active while it runs, is paused or restarting. */
function activeContainer(c: DiskUsageContainer): boolean {
  return ['running', 'paused', 'restarting'].some((s) => c.State.includes(s));
}

/** The four rows of `docker system df`, computed as the docker CLI does from `GET /system/df`. */
export function dfRows(usage: DiskUsageLike): DfRow[] {
  const containers = usage.Containers ?? [];
  const volumes = usage.Volumes ?? [];
  const cache = usage.BuildCache ?? [];
  const rwOf = (c: DiskUsageContainer): number => Math.max(0, c.SizeRw ?? 0);
  const containersSize = containers.reduce((sum, c) => sum + rwOf(c), 0);
  const containersIdle = containers.filter((c) => !activeContainer(c)).reduce((sum, c) => sum + rwOf(c), 0);
  const sized = volumes.filter((v) => v.UsageData && v.UsageData.Size >= 0);
  const volumesSize = sized.reduce((sum, v) => sum + v.UsageData!.Size, 0);
  const volumesIdle = sized.filter((v) => v.UsageData!.RefCount === 0).reduce((sum, v) => sum + v.UsageData!.Size, 0);
  const cacheSize = cache.filter((b) => !b.Shared).reduce((sum, b) => sum + b.Size, 0);
  const cacheIdle = cache.filter((b) => !b.Shared && !b.InUse).reduce((sum, b) => sum + b.Size, 0);
  return [
    { Type: 'Images', TotalCount: String(usage.Images.length), Active: String(usage.Images.filter((i) => i.Containers > 0).length), Size: humanSize(usage.LayersSize, 4), Reclaimable: withPercent(usage.Reclaimable, usage.LayersSize) },
    { Type: 'Containers', TotalCount: String(containers.length), Active: String(containers.filter(activeContainer).length), Size: humanSize(containersSize, 4), Reclaimable: withPercent(containersIdle, containersSize) },
    { Type: 'Local Volumes', TotalCount: String(volumes.length), Active: String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length), Size: humanSize(volumesSize, 4), Reclaimable: withPercent(volumesIdle, volumesSize) },
    { Type: 'Build Cache', TotalCount: String(cache.length), Active: String(cache.filter((b) => b.InUse).length), Size: humanSize(cacheSize, 4), Reclaimable: humanSize(cacheIdle, 4) },
  ];
}

function verbose(usage: DiskUsageLike): string {
  let out = 'Images space usage:\n\n';
  out += alignTable([
    ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS'],
    ...imageRows(usage.Images).map((r) => [r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size, r.SharedSize, r.UniqueSize, r.Containers]),
  ]);
  out += '\nContainers space usage:\n\n';
  out += alignTable([
    ['CONTAINER ID', 'IMAGE', 'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES'],
    ...(usage.Containers ?? []).map((c) => [
      c.Id.slice(0, 12),
      c.Image,
      commandColumn(c.Command, true),
      String((c.Mounts ?? []).filter((m) => m.Type === 'volume').length),
      humanSize(Math.max(0, c.SizeRw ?? 0), 3),
      ago(c.Created),
      c.Status,
      c.Names.map((n) => n.replace(/^\//, '')).join(','),
    ]),
  ]);
  out += '\nLocal Volumes space usage:\n\n';
  out += alignTable([
    ['VOLUME NAME', 'LINKS', 'SIZE'],
    ...(usage.Volumes ?? []).map((v) => [v.Name, v.UsageData ? String(v.UsageData.RefCount) : 'N/A', v.UsageData && v.UsageData.Size >= 0 ? humanSize(v.UsageData.Size, 3) : 'N/A']),
  ]);
  const cache = usage.BuildCache ?? [];
  out += `\nBuild cache usage: ${humanSize(cache.reduce((sum, b) => sum + b.Size, 0), 3)}\n\n`;
  out += alignTable([
    ['CACHE ID', 'CACHE TYPE', 'SIZE', 'CREATED', 'LAST USED', 'USAGE', 'SHARED'],
    ...cache.map((b) => [b.ID.slice(0, 12), b.Type, humanSize(b.Size, 3), ago(Date.parse(b.CreatedAt) / 1000), b.LastUsedAt ? ago(Date.parse(b.LastUsedAt) / 1000) : '', String(b.UsageCount), String(b.Shared)]),
  ]);
  return out;
}

export async function systemDfCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { verbose: { type: 'bool', short: 'v' }, format: { type: 'string' } });
  requireArgs(args, 'system df', '[OPTIONS]', 0);
  const usage = await ctx.images.systemDf();
  const rows = dfRows(usage);
  if (typeof flags['format'] === 'string' && flags['format'] !== '') {
    await write(ctx.io.stdout, renderFormatted(flags['format'], rows, { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' }));
    return 0;
  }
  if (!flags['verbose']) {
    await write(ctx.io.stdout, alignTable([['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], ...rows.map((r) => [r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable])]));
    return 0;
  }
  await write(ctx.io.stdout, verbose(usage));
  return 0;
}
