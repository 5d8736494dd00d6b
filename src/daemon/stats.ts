/**
 * `GET /containers/{id}/stats`: the container's cgroup usage in Docker's StatsResponse shape
 * (moby's daemon/stats_collector), which `docker stats` turns into percentages: cpu_stats
 * against precpu_stats and the host's system_cpu_usage, memory usage minus inactive file pages.
 * One sample each second while streaming; `stream=false` waits for a second one like Docker.
 */

import { readFile } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { loadCgroup } from '../runtime/index.ts';
import type { CgroupStats } from '../cgroups/stats.ts';
import { ZERO_TIME, type Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import { parseNetworkMode } from './network.ts';

const INTERVAL_MS = 1000;
/** USER_HZ: /proc/stat counts in 1/100 s. */
const NS_PER_TICK = 10_000_000;

interface CpuSample {
  cpu_usage: { total_usage: number; usage_in_kernelmode: number; usage_in_usermode: number };
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: { periods: number; throttled_periods: number; throttled_time: number };
}

export interface StatsResponse {
  name: string;
  id: string;
  read: string;
  preread: string;
  pids_stats: { current?: number; limit?: number };
  blkio_stats: { io_service_bytes_recursive: Array<{ major: number; minor: number; op: string; value: number }> | null; io_serviced_recursive: Array<{ major: number; minor: number; op: string; value: number }> | null };
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuSample;
  precpu_stats: CpuSample;
  memory_stats: { usage?: number; max_usage?: number; failcnt?: number; limit?: number; stats?: Record<string, number> };
  /** per interface of the container's own network namespace (moby leaves loopback out) */
  networks?: Record<string, NetworkCounters>;
}

export interface NetworkCounters {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/** /proc/PID/net/dev: the counters of every interface but `lo` in that process's namespace. */
export function parseNetDev(text: string): Record<string, NetworkCounters> {
  const out: Record<string, NetworkCounters> = {};
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (name === 'lo' || f.length < 12) continue;
    out[name] = { rx_bytes: f[0]!, rx_packets: f[1]!, rx_errors: f[2]!, rx_dropped: f[3]!, tx_bytes: f[8]!, tx_packets: f[9]!, tx_errors: f[10]!, tx_dropped: f[11]! };
  }
  return out;
}

/** Only a namespace of the container's own: with --network host the counters would be the host's. */
async function networkCounters(ctx: DaemonContext, c: Container): Promise<Record<string, NetworkCounters> | undefined> {
  if (parseNetworkMode(c.record.HostConfig.NetworkMode, ctx.network !== undefined).kind !== 'network' || c.record.State.Pid <= 0) return undefined;
  const counters = parseNetDev(await readFile(`/proc/${c.record.State.Pid}/net/dev`, 'utf8'));
  return Object.keys(counters).length > 0 ? counters : undefined;
}

async function systemCpuUsage(): Promise<number> {
  const stat = await readFile('/proc/stat', 'utf8');
  const fields = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1, 8);
  return fields.reduce((sum, f) => sum + Number(f), 0) * NS_PER_TICK;
}

const ZERO_CPU: CpuSample = { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } };

interface Sample {
  at: string;
  cgroup: CgroupStats;
  cpu: CpuSample;
  networks?: Record<string, NetworkCounters>;
}

async function sample(ctx: DaemonContext, c: Container): Promise<Sample | undefined> {
  if (!c.running) return undefined;
  try {
    const record = await ctx.runtime.store.load(c.id);
    const cgroup = await loadCgroup(record).stats();
    const cpu = cgroup.cpu;
    const networks = await networkCounters(ctx, c);
    return {
      at: new Date().toISOString(),
      cgroup,
      ...(networks ? { networks } : {}),
      cpu: {
        cpu_usage: { total_usage: cpu?.usageTotal ?? 0, usage_in_kernelmode: cpu?.usageSystem ?? 0, usage_in_usermode: cpu?.usageUser ?? 0 },
        system_cpu_usage: await systemCpuUsage(),
        online_cpus: availableParallelism(),
        throttling_data: { periods: cpu?.throttling.periods ?? 0, throttled_periods: cpu?.throttling.throttledPeriods ?? 0, throttled_time: cpu?.throttling.throttledTime ?? 0 },
      },
    };
  } catch {
    // exited meanwhile: its cgroup is gone
    return undefined;
  }
}

function finite(value: number | undefined, otherwise: number): number {
  return value === undefined || !Number.isFinite(value) ? otherwise : value;
}

function response(c: Container, now: Sample | undefined, before: Sample | undefined): StatsResponse {
  const g = now?.cgroup;
  const blkio = (op: 'serviceBytes' | 'serviced') => g?.blockIO?.[op].map((e) => ({ major: e.major, minor: e.minor, op: e.op.charAt(0).toUpperCase() + e.op.slice(1), value: e.value })) ?? null;
  return {
    name: c.record.Name,
    id: c.id,
    read: now?.at ?? ZERO_TIME,
    preread: before?.at ?? ZERO_TIME,
    pids_stats: g?.pids ? { current: g.pids.current, ...(Number.isFinite(g.pids.limit) ? { limit: g.pids.limit } : {}) } : {},
    blkio_stats: { io_service_bytes_recursive: blkio('serviceBytes'), io_serviced_recursive: blkio('serviced') },
    num_procs: 0,
    storage_stats: {},
    cpu_stats: now?.cpu ?? ZERO_CPU,
    precpu_stats: before?.cpu ?? ZERO_CPU,
    memory_stats: g?.memory
      ? {
          usage: g.memory.usage,
          ...(g.memory.maxUsage !== undefined ? { max_usage: g.memory.maxUsage } : {}),
          ...(g.memory.failcnt !== undefined ? { failcnt: g.memory.failcnt } : {}),
          // no limit: Docker reports the host's memory
          limit: Math.min(finite(g.memory.limit, totalmem()), totalmem()),
          stats: g.memory.stat,
        }
      : {},
    ...(now?.networks ? { networks: now.networks } : {}),
  };
}

/** The samples, one per second while `stream`; otherwise one (after a first, for precpu, unless oneShot). */
export async function* containerStats(ctx: DaemonContext, c: Container, options: { stream: boolean; oneShot: boolean; signal: AbortSignal }): AsyncGenerator<StatsResponse> {
  const sleep = (): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, INTERVAL_MS);
      options.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  let before = await sample(ctx, c);
  if (!options.stream) {
    if (options.oneShot || !before) {
      yield response(c, before, undefined);
      return;
    }
    await sleep();
    yield response(c, await sample(ctx, c), before);
    return;
  }
  yield response(c, before, undefined);
  while (!options.signal.aborted) {
    await sleep();
    if (options.signal.aborted) return;
    const now = await sample(ctx, c);
    yield response(c, now, before);
    if (!now) return;
    before = now;
  }
}
