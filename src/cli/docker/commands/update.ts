/**
 * `berth update`: new resource limits or restart policy for one or more containers
 * (`POST /containers/{id}/update`), each name printed when done, as docker prints them.
 */

import { ApiError } from '../../../client/index.ts';
import { parseArgs, requireArgs, type FlagSpecs } from '../args.ts';
import { write } from '../context.ts';
import { OptionError, parseInteger, parseRestartPolicy, ramInBytes } from './container-opts.ts';
import type { ApiContext } from './run.ts';

const UPDATE_FLAGS: FlagSpecs = {
  'blkio-weight': { type: 'string' },
  'cpu-period': { type: 'string' },
  'cpu-quota': { type: 'string' },
  'cpu-shares': { type: 'string', short: 'c' },
  cpus: { type: 'string' },
  'cpuset-cpus': { type: 'string' },
  'cpuset-mems': { type: 'string' },
  memory: { type: 'string', short: 'm' },
  'memory-reservation': { type: 'string' },
  'memory-swap': { type: 'string' },
  'pids-limit': { type: 'string' },
  restart: { type: 'string' },
};

/** The update body from the flags given; only those are sent. */
export function updateBody(flags: Record<string, unknown>): Record<string, unknown> {
  const str = (name: string): string | undefined => flags[name] as string | undefined;
  const body: Record<string, unknown> = {};
  const integers: Array<[string, string, { unsigned?: boolean; bits?: number }?]> = [
    ['blkio-weight', 'BlkioWeight', { unsigned: true, bits: 16 }],
    ['cpu-period', 'CpuPeriod'],
    ['cpu-quota', 'CpuQuota'],
    ['cpu-shares', 'CpuShares'],
    ['pids-limit', 'PidsLimit'],
  ];
  for (const [flag, field, options] of integers) if (str(flag) !== undefined) body[field] = parseInteger(flag, str(flag)!, options);
  if (str('cpus') !== undefined) body['NanoCpus'] = Math.round(Number(str('cpus')) * 1e9);
  if (str('cpuset-cpus') !== undefined) body['CpusetCpus'] = str('cpuset-cpus');
  if (str('cpuset-mems') !== undefined) body['CpusetMems'] = str('cpuset-mems');
  if (str('memory') !== undefined) body['Memory'] = ramInBytes(str('memory')!);
  if (str('memory-reservation') !== undefined) body['MemoryReservation'] = ramInBytes(str('memory-reservation')!, 'memory-reservation');
  if (str('memory-swap') !== undefined) body['MemorySwap'] = str('memory-swap') === '-1' ? -1 : ramInBytes(str('memory-swap')!, 'memory-swap');
  if (str('restart') !== undefined) body['RestartPolicy'] = parseRestartPolicy(str('restart')!);
  return body;
}

export async function updateCommand(ctx: ApiContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, UPDATE_FLAGS);
  requireArgs(args, 'update', 'CONTAINER [CONTAINER...]', 1, Infinity);
  const { client, io } = ctx;
  let body: Record<string, unknown>;
  try {
    if (!Object.values(flags).some((v) => v !== undefined)) throw new OptionError('you must provide one or more flags when using this command');
    if (typeof flags['cpus'] === 'string' && !Number.isFinite(Number(flags['cpus']))) throw new OptionError(`invalid argument "${flags['cpus']}" for "--cpus" flag: failed to parse ${flags['cpus']} as a rational number`);
    body = updateBody(flags);
  } catch (err) {
    if (!(err instanceof OptionError)) throw err;
    await write(io.stderr, `${err.message}\n`);
    return 1;
  }
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const name of args) {
    try {
      const r = await client.json<{ Warnings?: string[] | null }>('POST', `/containers/${encodeURIComponent(name)}/update`, { body });
      warnings.push(...(r.Warnings ?? []));
      await write(io.stdout, `${name}\n`);
    } catch (err) {
      errors.push(err instanceof ApiError ? `Error response from daemon: ${err.message}` : err instanceof Error ? err.message : String(err));
    }
  }
  if (warnings.length) await write(io.stdout, `${warnings.join('\n')}\n`);
  if (errors.length) {
    await write(io.stderr, `${errors.join('\n')}\n`);
    return 1;
  }
  return 0;
}
