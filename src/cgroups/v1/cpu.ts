/**
 * v1 cpu and cpuacct controllers: CFS shares/quota/burst, realtime budget, SCHED_IDLE, and
 * usage/throttling stats (cpuacct for usage, cpu.stat for throttling).
 */

import type { Cpu } from '../../oci/runtime-spec.ts';
import type { CgroupWrite } from '../cgroup-file.ts';
import { parseFlatKeyed, readCgroupFile, readCgroupNumber } from '../cgroup-file.ts';
import type { CpuStats } from '../stats.ts';

/**
 * Order: period before quota (quota is checked against the period in effect), burst after quota
 * (the kernel refuses a burst larger than the quota), rt period before runtime (runtime ≤ period).
 */
export function v1CpuWrites(cpu: Cpu | undefined): CgroupWrite[] {
  if (!cpu) return [];
  const writes: CgroupWrite[] = [];
  if (cpu.shares) writes.push({ file: 'cpu.shares', value: String(cpu.shares) });
  if (cpu.period) writes.push({ file: 'cpu.cfs_period_us', value: String(cpu.period) });
  if (cpu.quota) writes.push({ file: 'cpu.cfs_quota_us', value: String(cpu.quota < 0 ? -1 : cpu.quota) });
  if (cpu.burst !== undefined) writes.push({ file: 'cpu.cfs_burst_us', value: String(cpu.burst) });
  if (cpu.realtimePeriod) writes.push({ file: 'cpu.rt_period_us', value: String(cpu.realtimePeriod) });
  if (cpu.realtimeRuntime) writes.push({ file: 'cpu.rt_runtime_us', value: String(cpu.realtimeRuntime) });
  if (cpu.idle !== undefined) writes.push({ file: 'cpu.idle', value: String(cpu.idle) });
  return writes;
}

/** Usage from the cpuacct hierarchy (ns), throttling from the cpu hierarchy's cpu.stat (`throttled_time` in ns). */
export async function readV1CpuStats(cpuDir: string | undefined, cpuacctDir: string | undefined): Promise<CpuStats> {
  const stats: CpuStats = {
    usageTotal: 0,
    usageUser: 0,
    usageSystem: 0,
    throttling: { periods: 0, throttledPeriods: 0, throttledTime: 0 },
  };
  if (cpuacctDir !== undefined) {
    stats.usageTotal = (await readCgroupNumber(cpuacctDir, 'cpuacct.usage')) ?? 0;
    stats.usageUser = (await readCgroupNumber(cpuacctDir, 'cpuacct.usage_user')) ?? 0;
    stats.usageSystem = (await readCgroupNumber(cpuacctDir, 'cpuacct.usage_sys')) ?? 0;
  }
  if (cpuDir !== undefined) {
    const stat = parseFlatKeyed((await readCgroupFile(cpuDir, 'cpu.stat')) ?? '');
    stats.throttling = {
      periods: stat.nr_periods ?? 0,
      throttledPeriods: stat.nr_throttled ?? 0,
      throttledTime: stat.throttled_time ?? 0,
    };
  }
  return stats;
}
