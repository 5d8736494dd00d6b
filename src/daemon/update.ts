/**
 * `POST /containers/{id}/update` (docker update): new resource limits and restart policy. The
 * HostConfig is changed and saved; a running container also gets the limits in its cgroup at
 * once through the runtime's update, a stopped one at its next start. Fields left out (or 0,
 * as moby reads them) keep their value.
 */

import type { ContainerUpdateRequest, HostConfig } from '../api/index.ts';
import { update } from '../runtime/index.ts';
import { conflict, invalidArgument } from '../util/errors.ts';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import { checkRestartPolicy } from './create.ts';
import { emitContainerEvent } from './events.ts';
import { baseSpec, withResources } from './spec/spec-opts.ts';

const MIN_MEMORY = 6 * 1024 * 1024;


/** Fields where 0 (or '') means "leave as it is". */
const ZERO_KEEPS = ['CpuShares', 'Memory', 'NanoCpus', 'CpuPeriod', 'CpuQuota', 'CpusetCpus', 'CpusetMems', 'BlkioWeight', 'MemoryReservation', 'MemorySwap'] as const;

/** The container's HostConfig with the request applied, checked as moby checks it. */
export function updatedHostConfig(current: HostConfig, request: ContainerUpdateRequest): HostConfig {
  const next: HostConfig = { ...current };
  for (const key of ZERO_KEEPS) {
    const value = request[key];
    if (value !== undefined && value !== null && value !== 0 && value !== '') (next as Record<string, unknown>)[key] = value;
  }
  if (request.PidsLimit !== undefined && request.PidsLimit !== null) next.PidsLimit = request.PidsLimit;
  if (request.NanoCpus && (current.CpuPeriod || current.CpuQuota || request.CpuPeriod || request.CpuQuota)) {
    throw invalidArgument('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  }
  if ((request.CpuPeriod || request.CpuQuota) && current.NanoCpus) throw invalidArgument('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if (next.Memory && next.Memory < MIN_MEMORY) throw invalidArgument('Minimum memory limit allowed is 6MB');
  if (request.Memory && !request.MemorySwap && current.MemorySwap && current.MemorySwap > 0 && request.Memory > current.MemorySwap) {
    throw invalidArgument('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
  }
  if (next.Memory && next.MemorySwap && next.MemorySwap > 0 && next.MemorySwap < next.Memory) {
    throw invalidArgument('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (request.RestartPolicy?.Name) {
    if (current.AutoRemove) throw invalidArgument('Restart policy cannot be updated because AutoRemove is enabled for the container');
    next.RestartPolicy = { Name: request.RestartPolicy.Name, MaximumRetryCount: request.RestartPolicy.MaximumRetryCount ?? 0 };
    checkRestartPolicy(next);
  }
  return next;
}

/** The cgroup part of the spec Docker's flags make, for the runtime's update. */
export function updatedResources(hc: HostConfig): NonNullable<NonNullable<ReturnType<typeof baseSpec>['linux']>['resources']> {
  const spec = baseSpec();
  spec.linux!.resources = {};
  withResources(hc)(spec);
  return spec.linux!.resources;
}

export async function updateContainer(ctx: DaemonContext, c: Container, request: ContainerUpdateRequest): Promise<{ Warnings: string[] }> {
  return c.exclusive(async () => {
    if (c.removing) throw conflict(`cannot update container ${c.id}: removal in progress`);
    const next = updatedHostConfig(c.record.HostConfig, request);
    if (c.running) {
      try {
        await update(ctx.runtime, c.id, updatedResources(next));
      } catch (err) {
        throw invalidArgument(`Cannot update container ${c.id}: ${err instanceof Error ? err.message : String(err)}`, err);
      }
    }
    c.record.HostConfig = next;
    await ctx.store.save(c);
    emitContainerEvent(ctx, c, 'update');
    return { Warnings: [] };
  });
}
