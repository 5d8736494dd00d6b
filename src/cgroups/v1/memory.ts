/**
 * v1 memory controller: OCI linux.resources.memory → memory.* files, and memory stats.
 * The kernel keeps memory.limit_in_bytes ≤ memory.memsw.limit_in_bytes at every instant, so
 * the order of the two writes depends on the values being replaced (see `v1MemoryWrites`).
 */

import type { Memory } from '../../oci/runtime-spec.ts';
import { invalidArgument } from '../../util/errors.ts';
import type { CgroupWrite } from '../cgroup-file.ts';
import { parseFlatKeyed, readCgroupFile, readCgroupNumber } from '../cgroup-file.ts';
import type { MemoryStats } from '../stats.ts';

/** What the kernel holds now; only the memory limit decides the write order. */
export interface V1MemoryCurrent {
  /** memory.limit_in_bytes; Infinity when unlimited. */
  limit: number;
}

function limitValue(bytes: number): string {
  return bytes < 0 ? '-1' : String(bytes);
}

/**
 * The OCI `swap` is memory+swap, exactly memory.memsw.limit_in_bytes; 0 means "not set".
 * A limit of -1 with no swap given lifts both, as runc does, so an update to "unlimited"
 * is not refused because memsw stayed below it.
 */
export function v1MemoryWrites(memory: Memory | undefined, current: V1MemoryCurrent): CgroupWrite[] {
  if (!memory) return [];
  const writes: CgroupWrite[] = [];
  const limit = memory.limit ?? 0;
  let swap = memory.swap ?? 0;
  if (limit === -1 && swap === 0) swap = -1;
  if (limit > 0 && swap > 0 && swap < limit) {
    throw invalidArgument(`set memory limit: memory+swap ${swap} is lower than the memory limit ${limit}`);
  }
  const memoryWrite = { file: 'memory.limit_in_bytes', value: limitValue(limit) };
  const memswWrite = { file: 'memory.memsw.limit_in_bytes', value: limitValue(swap) };
  if (limit !== 0 && swap !== 0) {
    // memsw must never drop below the memory limit. If the new memsw is at least the current
    // memory limit, writing it first is valid and makes room for any new limit ≤ memsw;
    // otherwise we are shrinking, and the memory limit must come down first.
    const swapFirst = swap === -1 || swap >= current.limit;
    writes.push(...(swapFirst ? [memswWrite, memoryWrite] : [memoryWrite, memswWrite]));
  } else if (limit !== 0) {
    writes.push(memoryWrite);
  } else if (swap !== 0) {
    writes.push(memswWrite);
  }
  if (memory.reservation !== undefined && memory.reservation !== 0) {
    writes.push({ file: 'memory.soft_limit_in_bytes', value: limitValue(memory.reservation) });
  }
  // memory.kmem.limit_in_bytes is refused by kernels ≥ 5.16 and deprecated before: runc and crun
  // ignore `kernel`; the TCP buffer limit still works.
  if (memory.kernelTCP !== undefined && memory.kernelTCP !== 0) {
    writes.push({ file: 'memory.kmem.tcp.limit_in_bytes', value: limitValue(memory.kernelTCP) });
  }
  if (memory.swappiness !== undefined && memory.swappiness !== -1) {
    if (memory.swappiness < 0 || memory.swappiness > 100) {
      throw invalidArgument(`set memory.swappiness: ${memory.swappiness} is outside 0-100`);
    }
    writes.push({ file: 'memory.swappiness', value: String(memory.swappiness) });
  }
  if (memory.disableOOMKiller) writes.push({ file: 'memory.oom_control', value: '1' });
  if (memory.useHierarchy !== undefined) {
    writes.push({ file: 'memory.use_hierarchy', value: memory.useHierarchy ? '1' : '0' });
  }
  return writes;
}

export async function readV1MemoryCurrent(dir: string): Promise<V1MemoryCurrent> {
  return { limit: (await readCgroupNumber(dir, 'memory.limit_in_bytes')) ?? Infinity };
}

export async function readV1MemoryStats(dir: string): Promise<MemoryStats> {
  const number = async (file: string) => (await readCgroupNumber(dir, file)) ?? 0;
  const stats: MemoryStats = {
    usage: await number('memory.usage_in_bytes'),
    limit: (await readCgroupNumber(dir, 'memory.limit_in_bytes')) ?? Infinity,
    maxUsage: await number('memory.max_usage_in_bytes'),
    failcnt: await number('memory.failcnt'),
    stat: parseFlatKeyed((await readCgroupFile(dir, 'memory.stat')) ?? ''),
  };
  const memswUsage = await readCgroupNumber(dir, 'memory.memsw.usage_in_bytes');
  if (memswUsage !== undefined) {
    stats.swapUsage = Math.max(0, memswUsage - stats.usage);
    stats.swapLimit = (await readCgroupNumber(dir, 'memory.memsw.limit_in_bytes')) ?? Infinity;
  }
  const oomControl = parseFlatKeyed((await readCgroupFile(dir, 'memory.oom_control')) ?? '');
  if (oomControl.oom_kill !== undefined) stats.oomKill = oomControl.oom_kill;
  return stats;
}
