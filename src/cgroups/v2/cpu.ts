/**
 * v2 cpu and cpuset controllers. cpu.weight (1–10000) replaces cpu.shares (2–262144), and
 * cpu.max holds quota and period in one file.
 */

import type { Cpu } from '../../oci/runtime-spec.ts';
import { failedPrecondition } from '../../util/errors.ts';
import type { CgroupWrite } from '../cgroup-file.ts';
import { parseFlatKeyed, readCgroupFile } from '../cgroup-file.ts';
import type { CpuStats } from '../stats.ts';

/** The kernel's default CFS period, used when a quota comes without one. */
export const DEFAULT_CPU_PERIOD = 100000;

/**
 * Linear map of shares [2, 262144] onto weight [1, 10000], as runc and crun have long done:
 * 2 → 1, 1024 (the default) → 39, 262144 → 10000. 0 means "unset".
 */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** `quota period`, or `max period` for no quota; undefined when neither is given. */
export function cpuMaxValue(quota: number | undefined, period: number | undefined): string | undefined {
  if (!quota && !period) return undefined;
  const quotaText = quota && quota > 0 ? String(quota) : 'max';
  return `${quotaText} ${period || DEFAULT_CPU_PERIOD}`;
}

export function v2CpuWrites(cpu: Cpu | undefined): CgroupWrite[] {
  if (!cpu) return [];
  if (cpu.realtimeRuntime || cpu.realtimePeriod) {
    throw failedPrecondition('set cpu realtime runtime: cgroup v2 has no realtime budget files');
  }
  const writes: CgroupWrite[] = [];
  if (cpu.shares) writes.push({ file: 'cpu.weight', value: String(cpuSharesToWeight(cpu.shares)) });
  const max = cpuMaxValue(cpu.quota, cpu.period);
  if (max !== undefined) writes.push({ file: 'cpu.max', value: max });
  // After cpu.max: the burst may not exceed the quota in effect.
  if (cpu.burst !== undefined) writes.push({ file: 'cpu.max.burst', value: String(cpu.burst) });
  if (cpu.idle !== undefined) writes.push({ file: 'cpu.idle', value: String(cpu.idle) });
  return writes;
}

export function v2CpusetWrites(cpu: Cpu | undefined): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  if (cpu?.cpus) writes.push({ file: 'cpuset.cpus', value: cpu.cpus });
  if (cpu?.mems) writes.push({ file: 'cpuset.mems', value: cpu.mems });
  return writes;
}

/** cpu.stat is always present in v2 (usage even without the cpu controller); µs → ns. */
export async function readV2CpuStats(dir: string): Promise<CpuStats> {
  const stat = parseFlatKeyed((await readCgroupFile(dir, 'cpu.stat')) ?? '');
  const ns = (key: string) => (stat[key] ?? 0) * 1000;
  return {
    usageTotal: ns('usage_usec'),
    usageUser: ns('user_usec'),
    usageSystem: ns('system_usec'),
    throttling: {
      periods: stat.nr_periods ?? 0,
      throttledPeriods: stat.nr_throttled ?? 0,
      throttledTime: ns('throttled_usec'),
    },
  };
}
