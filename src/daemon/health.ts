/**
 * Healthchecks (Config.Healthcheck, `--health-cmd` and friends): the probe runs inside the
 * running container through the runtime's exec, like `docker exec`, every interval; its verdicts
 * make State.Health (starting → healthy / unhealthy after `retries` failures in a row, the last
 * five results kept) and the `(healthy)` in `docker ps`.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Process, Spec } from '../oci/runtime-spec.ts';
import { exec } from '../runtime/index.ts';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';

const NS_PER_MS = 1_000_000;
const DEFAULT_INTERVAL_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 3;
const MAX_LOG = 5;
const MAX_OUTPUT = 4096;

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

export function healthOf(c: Container): HealthState | undefined {
  return c.running ? health.get(c) : undefined;
}

function probeArgs(test: readonly string[] | undefined): string[] | undefined {
  if (!test?.length) return undefined;
  const [kind, ...rest] = test;
  if (kind === 'CMD-SHELL') return ['/bin/sh', '-c', rest.join(' ')];
  if (kind === 'CMD') return rest.length ? rest : undefined;
  return undefined;
}

function ms(ns: number | undefined, fallback: number): number {
  return ns && ns > 0 ? ns / NS_PER_MS : fallback;
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
  result.child?.stdout?.on('data', take);
  result.child?.stderr?.on('data', take);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  const report = await Promise.race([result.exit!, timedOut]).finally(() => clearTimeout(timer));
  if (report === undefined) {
    result.child?.kill('SIGKILL');
    return { exitCode: -1, output: `Health check exceeded timeout (${timeoutMs / 1000}s)` };
  }
  return { exitCode: report.code, output: report.error ? report.error.message : output.slice(0, MAX_OUTPUT) };
}

/** Called once a start succeeded; the loop ends with that run of the container. */
export function startHealthcheck(ctx: DaemonContext, c: Container): void {
  const config = c.record.Config.Healthcheck;
  const args = probeArgs(config?.Test);
  if (!args) {
    health.delete(c);
    return;
  }
  const run = c.record.State.StartedAt;
  const interval = ms(config!.Interval, DEFAULT_INTERVAL_MS);
  const timeout = ms(config!.Timeout, DEFAULT_TIMEOUT_MS);
  const retries = config!.Retries && config!.Retries > 0 ? config!.Retries : DEFAULT_RETRIES;
  const startPeriodEnds = Date.parse(run) + ms(config!.StartPeriod, 0);
  const state: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };
  health.set(c, state);
  const current = (): boolean => c.running && c.record.State.StartedAt === run;
  const tick = async (): Promise<void> => {
    if (!current()) return;
    const start = new Date().toISOString();
    const { exitCode, output } = await probe(ctx, c, args, timeout).catch((err: unknown) => ({ exitCode: -1, output: err instanceof Error ? err.message : String(err) }));
    if (!current()) return;
    state.Log = [...state.Log, { Start: start, End: new Date().toISOString(), ExitCode: exitCode, Output: output }].slice(-MAX_LOG);
    if (exitCode === 0) {
      state.Status = 'healthy';
      state.FailingStreak = 0;
    } else if (Date.now() >= startPeriodEnds || state.Status !== 'starting') {
      // failures within the start period do not count while the container is still starting
      state.FailingStreak += 1;
      if (state.FailingStreak >= retries) state.Status = 'unhealthy';
    }
    setTimeout(() => void tick(), interval).unref();
  };
  setTimeout(() => void tick(), interval).unref();
}
