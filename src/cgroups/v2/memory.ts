/**
 * v2 memory controller. memory.swap.max counts swap alone, while OCI `swap` (from the v1 days)
 * is memory+swap: the conversion below is the one runc and crun apply. `kernel`, `kernelTCP`,
 * `swappiness`, `disableOOMKiller` and `useHierarchy` have no v2 file and are ignored, as runc
 * and crun ignore them.
 */

import type { Memory } from '../../oci/runtime-spec.ts';
import { failedPrecondition, invalidArgument } from '../../util/errors.ts';
import type { CgroupWrite } from '../cgroup-file.ts';
import { parseFlatKeyed, readCgroupFile, readCgroupNumber } from '../cgroup-file.ts';
import type { MemoryStats } from '../stats.ts';

function maxValue(bytes: number): string {
  return bytes < 0 ? 'max' : String(bytes);
}

/**
 * memory.swap.max for an OCI memory+swap value: -1 → max; 0 → unset (undefined); otherwise
 * swap − limit, which needs a real memory limit to subtract. A limit of -1 with no swap given
 * lifts swap too, matching v1 where memsw follows an unlimited memory limit.
 */
export function swapMaxValue(swap: number, limit: number): number | undefined {
  if (limit === -1 && swap === 0) return -1;
  if (swap === -1) return -1;
  if (swap === 0) return undefined;
  if (limit <= 0) throw invalidArgument('set memory.swap.max: a swap limit needs a memory limit');
  if (swap < limit) throw invalidArgument(`set memory.swap.max: memory+swap ${swap} is lower than the memory limit ${limit}`);
  return swap - limit;
}

/** swap.max before max: lowering memory.max never fails on swap, and neither order constrains the other in v2. */
export function v2MemoryWrites(memory: Memory | undefined): CgroupWrite[] {
  if (!memory) return [];
  const writes: CgroupWrite[] = [];
  const limit = memory.limit ?? 0;
  const swapMax = swapMaxValue(memory.swap ?? 0, limit);
  if (swapMax !== undefined) writes.push({ file: 'memory.swap.max', value: maxValue(swapMax) });
  if (limit !== 0) writes.push({ file: 'memory.max', value: maxValue(limit) });
  if (memory.reservation !== undefined && memory.reservation !== 0) {
    writes.push({ file: 'memory.low', value: maxValue(memory.reservation) });
  }
  return writes;
}

export async function readV2MemoryStats(dir: string): Promise<MemoryStats> {
  const events = parseFlatKeyed((await readCgroupFile(dir, 'memory.events')) ?? '');
  const stats: MemoryStats = {
    usage: (await readCgroupNumber(dir, 'memory.current')) ?? 0,
    limit: (await readCgroupNumber(dir, 'memory.max')) ?? Infinity,
    oom: events.oom ?? 0,
    oomKill: events.oom_kill ?? 0,
    stat: parseFlatKeyed((await readCgroupFile(dir, 'memory.stat')) ?? ''),
  };
  const peak = await readCgroupNumber(dir, 'memory.peak');
  if (peak !== undefined) stats.maxUsage = peak;
  const swapUsage = await readCgroupNumber(dir, 'memory.swap.current');
  if (swapUsage !== undefined) {
    stats.swapUsage = swapUsage;
    stats.swapLimit = (await readCgroupNumber(dir, 'memory.swap.max')) ?? Infinity;
  }
  return stats;
}

/**
 * memory.checkBeforeUpdate: refuse a new limit below what the cgroup already uses, instead of
 * letting the kernel reclaim or OOM-kill to get there. Same rule for v1 (usage_in_bytes) and
 * v2 (memory.current); `usage` undefined means a fresh cgroup, nothing to check.
 */
export function checkMemoryBeforeUpdate(memory: Memory | undefined, usage: number | undefined): void {
  if (!memory?.checkBeforeUpdate || usage === undefined) return;
  const limit = memory.limit ?? 0;
  if (limit > 0 && limit < usage) {
    throw failedPrecondition(`set memory limit ${limit}: the cgroup already uses ${usage} bytes`);
  }
}
