/**
 * Healthchecks (Config.Healthcheck: the image's HEALTHCHECK under `--health-*`): the probe runs
 * inside the running container through the runtime's exec, like `docker exec`, every interval
 * (every start interval while the start period lasts); its verdicts make State.Health
 * (starting → healthy / unhealthy after `retries` failures in a row, the last five results
 * kept) and the `(healthy)` in `docker ps`. The state is kept in the container's health.json
 * (written atomically after every probe), so a restarted daemon shows it and probes on where
 * the last one left off, as moby's restore does.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { HealthConfig } from '../api/index.ts';
import type { Process, Spec } from '../oci/runtime-spec.ts';
import { exec } from '../runtime/index.ts';
import { atomicWrite } from '../util/atomic-write.ts';
import { errorCode, invalidArgument } from '../util/errors.ts';
import { humanGoDuration } from '../util/go-duration.ts';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import { emitContainerEvent } from './events.ts';

const NS_PER_MS = 1_000_000;
/** moby's defaults (daemon/health.go) */
const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_START_INTERVAL_MS = 5_000;
const DEFAULT_RETRIES = 3;
const MAX_LOG = 5;
const MAX_OUTPUT = 4096;
/** moby's containertypes.MinimumDuration */
const MINIMUM_DURATION_NS = 1_000_000;
const HEALTH_FILE = 'health.json';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: HealthLogEntry[];
}

const health = new WeakMap<Container, HealthState>();
/** each container's writes of health.json, one after another */
const writes = new WeakMap<Container, Promise<void>>();

/** moby's validateHealthCheck: the create request's healthcheck, before anything exists. */
export function checkHealthConfig(config: HealthConfig | undefined): void {
  if (!config) return;
  const durations: Array<[string, number | undefined]> = [
    ['Interval', config.Interval],
    ['Timeout', config.Timeout],
    ['StartPeriod', config.StartPeriod],
    ['StartInterval', config.StartInterval],
  ];
  for (const [name, ns] of durations) {
    if (ns !== undefined && ns !== 0 && ns < MINIMUM_DURATION_NS) throw invalidArgument(`${name} in Healthcheck cannot be less than ${humanGoDuration(MINIMUM_DURATION_NS)}`);
  }
  if (config.Retries !== undefined && config.Retries < 0) throw invalidArgument('Retries in Healthcheck cannot be negative');
}

/**
 * The image's healthcheck under the request's (moby's merge): no request healthcheck takes the
 * image's whole; otherwise each field the request leaves empty is the image's.
 */
export function mergeHealthcheck(request: HealthConfig | undefined, image: HealthConfig | undefined): HealthConfig | undefined {
  if (!image) return request;
  if (!request) return { ...image };
  const merged: HealthConfig = { ...request };
  if (!merged.Test?.length && image.Test) merged.Test = [...image.Test];
  if (!merged.Interval && image.Interval) merged.Interval = image.Interval;
  if (!merged.Timeout && image.Timeout) merged.Timeout = image.Timeout;
  if (!merged.StartPeriod && image.StartPeriod) merged.StartPeriod = image.StartPeriod;
  if (!merged.StartInterval && image.StartInterval) merged.StartInterval = image.StartInterval;
  if (!merged.Retries && image.Retries) merged.Retries = image.Retries;
  return merged;
}

/** The probe's command, or undefined when there is none (`NONE`, no test, an unknown kind). */
export function probeArgs(test: readonly string[] | undefined, shell: readonly string[] | null | undefined): string[] | undefined {
  if (!test?.length) return undefined;
  const [kind, ...rest] = test;
  if (kind === 'CMD-SHELL') return [...(shell?.length ? shell : ['/bin/sh', '-c']), rest.join(' ')];
  if (kind === 'CMD') return rest.length ? rest : undefined;
  return undefined;
}

function hasProbe(c: Container): boolean {
  return probeArgs(c.record.Config.Healthcheck?.Test, c.record.Config.Shell) !== undefined;
}

/** The container's health as inspect shows it (kept after it stops); undefined without a probe. */
export function healthOf(c: Container): HealthState | undefined {
  return hasProbe(c) ? health.get(c) : undefined;
}

function ms(ns: number | undefined, fallback: number): number {
  return ns && ns > 0 ? ns / NS_PER_MS : fallback;
}

function persist(ctx: DaemonContext, c: Container, state: HealthState): Promise<void> {
  const text = JSON.stringify(state);
  const previous = writes.get(c) ?? Promise.resolve();
  const next = previous.then(() =>
    atomicWrite(join(c.dir, HEALTH_FILE), text, { mode: 0o600 }).catch((err: unknown) => {
      // a removed container's directory is gone with its health
      if (errorCode(err) !== 'ENOENT') ctx.warn(`save health of ${c.id}: ${err instanceof Error ? err.message : String(err)}`);
    }),
  );
  writes.set(c, next);
  return next;
}

async function probe(ctx: DaemonContext, c: Container, args: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }> {
  const spec = JSON.parse(await readFile(join(c.dir, 'config.json'), 'utf8')) as Spec;
  const process: Process = { ...spec.process!, args, terminal: false };
  delete process.consoleSize;
  const result = await exec(ctx.runtime, c.id, { process, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const take = (chunk: Buffer): void => {
    if (output.length < MAX_OUTPUT) output += chunk.toString();
  };
  const streams = [result.child?.stdout, result.child?.stderr].filter((s): s is Readable => s !== undefined && s !== null);
  for (const stream of streams) stream.on('data', take);
  // the output is complete when the pipes close, which may come after the exit report
  const drained = streams.map((stream) => new Promise<void>((resolve) => (stream.readableEnded || stream.destroyed ? resolve() : stream.once('close', () => resolve()))));
  const finished = Promise.all([result.exit!, ...drained]).then(([report]) => report);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  const report = await Promise.race([finished, timedOut]).finally(() => clearTimeout(timer));
  if (report === undefined) {
    // the probe itself, in the container; its shim then reports the exit and ends
    try {
      globalThis.process.kill(result.pid, 'SIGKILL');
    } catch {
      result.child?.kill('SIGKILL');
    }
    return { exitCode: -1, output: `Health check exceeded timeout (${humanGoDuration(timeoutMs * NS_PER_MS)})` };
  }
  if (report.error) return { exitCode: -1, output: report.error.message };
  return { exitCode: report.code, output: output.slice(0, MAX_OUTPUT) };
}

/** moby's handleProbeResult: the log, the streak and the status that follow a probe. */
function record(previous: HealthState, entry: HealthLogEntry, retries: number, startPeriodEnds: number): HealthState {
  const state: HealthState = { ...previous, Log: [...previous.Log, entry].slice(-MAX_LOG) };
  if (entry.ExitCode === 0) {
    state.Status = 'healthy';
    state.FailingStreak = 0;
  } else if (state.Status !== 'starting' || Date.parse(entry.Start) >= startPeriodEnds) {
    // failures within the start period do not count while the container is still starting
    state.FailingStreak += 1;
    if (state.FailingStreak >= retries) state.Status = 'unhealthy';
  }
  return state;
}

/** Probes the current run of a container until it ends; `state` is where it starts from. */
function monitor(ctx: DaemonContext, c: Container, state: HealthState): void {
  const config = c.record.Config.Healthcheck!;
  const args = probeArgs(config.Test, c.record.Config.Shell)!;
  const run = c.record.State.StartedAt;
  const interval = ms(config.Interval, DEFAULT_INTERVAL_MS);
  const startInterval = ms(config.StartInterval, DEFAULT_START_INTERVAL_MS);
  const timeout = ms(config.Timeout, DEFAULT_TIMEOUT_MS);
  const retries = config.Retries && config.Retries > 0 ? config.Retries : DEFAULT_RETRIES;
  const startPeriodEnds = Date.parse(run) + ms(config.StartPeriod, 0);
  const current = (): boolean => c.running && c.record.State.StartedAt === run && health.get(c) === state;
  const next = (): number => (state.Status === 'starting' && Date.now() < startPeriodEnds ? startInterval : interval);
  const schedule = (): void => void setTimeout(() => void tick(), next()).unref();
  const tick = async (): Promise<void> => {
    if (!current()) return;
    // a frozen container cannot answer; moby stops probing while paused
    if (c.record.State.Paused) return schedule();
    const start = new Date().toISOString();
    const { exitCode, output } = await probe(ctx, c, args, timeout).catch((err: unknown) => ({ exitCode: -1, output: err instanceof Error ? err.message : String(err) }));
    if (!current()) return;
    const after = record(state, { Start: start, End: new Date().toISOString(), ExitCode: exitCode, Output: output }, retries, startPeriodEnds);
    // on disk before anyone can see it: a verdict a client read survives a kill -9 of the daemon
    await persist(ctx, c, after);
    if (!current()) return;
    const changed = after.Status !== state.Status;
    Object.assign(state, after);
    if (changed) emitContainerEvent(ctx, c, `health_status: ${state.Status}`);
    schedule();
  };
  schedule();
}

/** Called once a start succeeded: starting again (the log is kept, as moby keeps it). */
export function startHealthcheck(ctx: DaemonContext, c: Container): void {
  if (!hasProbe(c)) {
    health.delete(c);
    return;
  }
  const state: HealthState = { Status: 'starting', FailingStreak: 0, Log: health.get(c)?.Log ?? [] };
  health.set(c, state);
  void persist(ctx, c, state);
  monitor(ctx, c, state);
}

async function loadHealth(c: Container): Promise<HealthState | undefined> {
  try {
    const state = JSON.parse(await readFile(join(c.dir, HEALTH_FILE), 'utf8')) as HealthState;
    return ['starting', 'healthy', 'unhealthy'].includes(state.Status) && Array.isArray(state.Log) ? state : undefined;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * At daemon start, after the containers were reconciled: every container's last health, and
 * the probes of those still running resumed from it (a running one without a saved state
 * starts over).
 */
export async function restoreHealth(ctx: DaemonContext, containers: readonly Container[]): Promise<void> {
  for (const c of containers) {
    if (!hasProbe(c)) continue;
    const saved = await loadHealth(c).catch((err: unknown) => {
      ctx.warn(`load health of ${c.id}: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    });
    if (!c.running) {
      if (saved) health.set(c, saved);
      continue;
    }
    if (!saved) {
      startHealthcheck(ctx, c);
      continue;
    }
    health.set(c, saved);
    monitor(ctx, c, saved);
  }
}
