/**
 * `system df`: disk used by images (containers, volumes and build cache come with their
 * issues and show as empty until then), in docker's table, or per image with `-v`.
 */

import { parseArgs, requireArgs } from '../args.ts';
import { write, type CommandContext } from '../context.ts';
import { alignTable, humanSize, renderFormatted } from '../format/index.ts';
import { imageRows } from './images.ts';

function reclaimable(reclaim: number, total: number): string {
  return total > 0 ? `${humanSize(reclaim, 4)} (${Math.floor((100 * reclaim) / total)}%)` : humanSize(reclaim, 4);
}

export async function systemDfCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { verbose: { type: 'bool', short: 'v' }, format: { type: 'string' } });
  requireArgs(args, 'system df', '[OPTIONS]', 0);
  const usage = await ctx.images.systemDf();
  const active = usage.Images.filter((i) => i.Containers > 0).length;
  const rows = [
    { Type: 'Images', TotalCount: String(usage.Images.length), Active: String(active), Size: humanSize(usage.LayersSize, 4), Reclaimable: reclaimable(usage.Reclaimable, usage.LayersSize) },
    { Type: 'Containers', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' },
    { Type: 'Local Volumes', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' },
    { Type: 'Build Cache', TotalCount: '0', Active: '0', Size: '0B', Reclaimable: '0B' },
  ];
  if (typeof flags['format'] === 'string' && flags['format'] !== '') {
    await write(ctx.io.stdout, renderFormatted(flags['format'], rows, { Type: 'TYPE', TotalCount: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' }));
    return 0;
  }
  if (!flags['verbose']) {
    await write(ctx.io.stdout, alignTable([['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'], ...rows.map((r) => [r.Type, r.TotalCount, r.Active, r.Size, r.Reclaimable])]));
    return 0;
  }
  const images = imageRows(usage.Images);
  let out = 'Images space usage:\n\n';
  out += alignTable([
    ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS'],
    ...images.map((r) => [r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size, r.SharedSize, r.UniqueSize, r.Containers]),
  ]);
  out += '\nContainers space usage:\n\nCONTAINER ID   IMAGE     COMMAND   LOCAL VOLUMES   SIZE      CREATED   STATUS    NAMES\n';
  out += '\nLocal Volumes space usage:\n\nVOLUME NAME   LINKS     SIZE\n';
  out += '\nBuild cache usage: 0B\n\nCACHE ID   CACHE TYPE   SIZE      CREATED   LAST USED   USAGE     SHARED\n';
  await write(ctx.io.stdout, out);
  return 0;
}
