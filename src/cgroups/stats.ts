/**
 * Resource usage of a container's cgroup, the same shape for v1 and v2 so `berth-runtime events
 * --stats` and the Docker stats endpoint need not know the host's layout. Times in nanoseconds,
 * sizes in bytes; `Infinity` stands for "no limit" (`max`).
 */

export interface MemoryStats {
  usage: number;
  limit: number;
  /** v1 max_usage_in_bytes, v2 memory.peak (kernel ≥ 5.19). */
  maxUsage?: number;
  /** v1 only: how often the limit was hit. */
  failcnt?: number;
  swapUsage?: number;
  swapLimit?: number;
  /** OOM events: v2 memory.events `oom`, v1 has no counter for it. */
  oom?: number;
  /** Processes killed by the OOM killer (v1 oom_control `oom_kill`, v2 memory.events `oom_kill`). */
  oomKill?: number;
  /** memory.stat verbatim. */
  stat: Record<string, number>;
}

export interface CpuStats {
  usageTotal: number;
  usageUser: number;
  usageSystem: number;
  throttling: { periods: number; throttledPeriods: number; throttledTime: number };
}

export interface PidsStats {
  current: number;
  limit: number;
}

export interface BlockIOEntry {
  major: number;
  minor: number;
  op: 'read' | 'write' | 'sync' | 'async' | 'discard' | 'total';
  value: number;
}

export interface BlockIOStats {
  serviceBytes: BlockIOEntry[];
  serviced: BlockIOEntry[];
}

export interface HugetlbStats {
  usage: number;
  maxUsage?: number;
  failcnt: number;
}

export interface CgroupStats {
  memory?: MemoryStats;
  cpu?: CpuStats;
  pids?: PidsStats;
  blockIO?: BlockIOStats;
  /** Keyed by page size as the kernel names it (`2MB`). */
  hugetlb?: Record<string, HugetlbStats>;
}
