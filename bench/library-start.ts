/**
 * Start latency inside the runtime library, without Node's start-up: the daemon will call
 * create/start in-process, so what it pays per container is this, not the CLI's wall time.
 * One Node process runs N busybox /bin/true containers through the public API
 * (src/runtime/index.ts) and times:
 *   compile   compileInitPlan() alone (spec already parsed)
 *   create    create() call → it resolves, i.e. the init sent `ready` (spec load, cgroup, plan,
 *             shim spawn, clone, mounts, pivot_root...)
 *   start     start() call → it resolves (state load, fifo write, state save)
 *   exec      start() call → the init is no longer the shim (/proc/PID/exe changed, or it is gone)
 *   delete    deleteContainer() (not part of start latency; shown so the cycle adds up)
 *
 *   node --import tsx bench/library-start.ts [--runs 50] [--warmup 5] [--mode exit|wait] [--spare] [--root DIR] [--json]
 *
 * The state root (default: a directory in the scratch dir) is kept in memory as berthd keeps its
 * own (keepStateInMemory: a tmpfs of its own where the filesystem is a disk's); --root DIR on a
 * disk filesystem that holds files already shows what a disk costs.
 *
 * --spare: as the daemon does, a spare shim is spawned before each cycle, outside the timings
 * (`prepareSpareShims`), and create() takes it (`takeSpareShim`) instead of spawning one, and
 * the cgroup migration lock is kept warm (`keepMigrationLockWarm`, as from each create request):
 * the daemon's figure, not the CLI's. The shims' stdio is then /dev/null, as the daemon's.
 *
 * Env: NODE_EXTRA_CA_CERTS does not matter here (it only costs at Node start-up, outside the
 * timings). Needs root and a built native/build/berth-shim.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Runtime, create, start, deleteContainer, waitExit, loadSpec, compileInitPlan, keepMigrationLockWarm, prepareSpareShims, keepStateInMemory, mountOnHost, unmountOnHost, releaseStandingShims } from '../src/runtime/index.ts';
import type { ContainerRecord, CreateOptions } from '../src/runtime/index.ts';
import { invalidArgument } from '../src/util/errors.ts';

type Mode = 'exit' | 'wait';
type Sample = Record<'compile' | 'create' | 'start' | 'exec' | 'delete', number>;

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function options(): { runs: number; warmup: number; mode: Mode; spare: boolean; json: boolean; root?: string } {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '50' },
      warmup: { type: 'string', default: '5' },
      mode: { type: 'string', default: 'exit' },
      spare: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      root: { type: 'string' },
    },
  });
  const runs = Number(values.runs);
  const warmup = Number(values.warmup);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) throw invalidArgument('parse options: --runs and --warmup take whole numbers');
  if (values.mode !== 'exit' && values.mode !== 'wait') throw invalidArgument(`parse options: --mode ${values.mode}: want exit or wait`);
  return { runs, warmup, mode: values.mode, spare: values.spare ?? false, json: values.json ?? false, ...(values.root !== undefined ? { root: values.root } : {}) };
}

/** The executable behind a pid, or undefined once it has exited (a zombie has none either). */
function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/**
 * Busy-polls until pid runs something other than `shimExe`. A timer would add its own
 * millisecond of latency; the poll is a readlink per iteration, a few µs.
 */
function waitExec(pid: number, shimExe: string | undefined, deadline: number): number {
  for (;;) {
    const exe = exeOf(pid);
    const now = performance.now();
    if (exe === undefined || exe !== shimExe) return now;
    if (now > deadline) throw new Error(`wait for exec of pid ${pid}: still ${exe} after 5 s`);
  }
}

/** Plan compile alone, with the inputs create() would give it for this container. */
function timeCompile(rt: Runtime, record: ContainerRecord, mode: Mode): number {
  const dirs = Object.entries(record.cgroupPaths.dirs);
  const t0 = performance.now();
  compileInitPlan({
    spec: record.config,
    rootfs: record.rootfs,
    bundle: record.bundle,
    fifoPath: rt.store.fifoPath(record.id),
    mode,
    cgroupProcs: dirs.map(([, dir]) => join(dir, 'cgroup.procs')),
    cgroupMounts: dirs.map(([name, hostPath]) => ({ name: name.replace(/^name=/, ''), hostPath })),
    host: { selinux: false, apparmor: false },
    syncHooks: false,
  });
  return performance.now() - t0;
}

async function cycle(rt: Runtime, bundle: string, id: string, mode: Mode, spare: boolean): Promise<Sample> {
  const t0 = performance.now();
  const stdio: CreateOptions['stdio'] = spare ? ['ignore', 'ignore', 'ignore'] : ['ignore', 'ignore', 'inherit'];
  const { record, shim } = await create(rt, id, { bundle, mode, stdio, takeSpareShim: spare });
  const t1 = performance.now();
  try {
    const shimExe = exeOf(record.pid);
    const t2 = performance.now();
    await start(rt, id);
    const t3 = performance.now();
    const t4 = waitExec(record.pid, shimExe, t3 + 5000);
    if (mode === 'wait') await waitExit(shim);
    else shim.close();
    const compile = timeCompile(rt, record, mode);
    const t5 = performance.now();
    await deleteContainer(rt, id, { force: true });
    const t6 = performance.now();
    return { compile, create: t1 - t0, start: t3 - t2, exec: t4 - t2, delete: t6 - t5 };
  } catch (err) {
    shim.close();
    await deleteContainer(rt, id, { force: true }).catch(() => {});
    throw err;
  }
}

function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

function summarize(samples: Sample[]): Record<keyof Sample, { median: number; p90: number; min: number; max: number }> {
  const keys: Array<keyof Sample> = ['compile', 'create', 'start', 'exec', 'delete'];
  const out = {} as Record<keyof Sample, { median: number; p90: number; min: number; max: number }>;
  for (const key of keys) {
    const xs = samples.map((s) => s[key]).sort((a, b) => a - b);
    out[key] = { median: quantile(xs, 0.5), p90: quantile(xs, 0.9), min: xs[0]!, max: xs[xs.length - 1]! };
  }
  return out;
}

async function main(): Promise<void> {
  const opts = options();
  const work = mkdtempSync(join(tmpdir(), 'berth-libstart-'));
  const root = opts.root ?? join(work, 'root');
  // as berthd keeps its state root (a tmpfs of its own where /run is on disk, as on this VM)
  const rootKind = await keepStateInMemory(root, mountOnHost);
  const rt = new Runtime({ root, warn: (m) => process.stderr.write(`warning: ${m}\n`) });
  let current: string | undefined;
  let stop = false;
  const onSignal = (): void => {
    // The loop is mostly awaiting the shim: let the finally below clean up, then go.
    process.exitCode = 130;
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const bundle = join(work, 'bundle');
    execFileSync('bash', [join(REPO, 'scripts/fixtures/bundle.sh'), bundle, '/bin/true'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const spec = await loadSpec(bundle);
    const tag = `${process.pid}-${Date.now().toString(36)}`;
    const samples: Sample[] = [];
    const total = opts.warmup + opts.runs;
    for (let i = 0; i < total && !stop; i++) {
      current = `libstart-${tag}-${i}`;
      if (opts.spare) {
        await prepareSpareShims(1, { now: true });
        // the daemon keeps the cgroup migration lock warm from each create request on
        keepMigrationLockWarm();
      }
      const sample = await cycle(rt, bundle, current, opts.mode, opts.spare);
      current = undefined;
      if (i >= opts.warmup) samples.push(sample);
    }
    if (stop) return;
    const summary = summarize(samples);
    const load = loadavg().map((x) => x.toFixed(2)).join(' ');
    const ca = process.env['NODE_EXTRA_CA_CERTS'] ? 'set' : 'unset';
    const header = `${new Date().toISOString()}, state root ${root} (${rootKind === 'disk' ? 'disk' : 'tmpfs'}), load average ${load}, ${cpus().length} CPUs, node ${process.version}, NODE_EXTRA_CA_CERTS ${ca} (costs only at start-up, outside the timings)`;
    if (opts.json) {
      process.stdout.write(JSON.stringify({ when: header, mode: opts.mode, spare: opts.spare, runs: samples.length, args: spec.process?.args, summary, samples }, null, 2) + '\n');
      return;
    }
    const fmt = (x: number): string => x.toFixed(2);
    const rows = [
      ['compile', 'compileInitPlan() alone'],
      ['create', 'create() → resolved (init sent `ready`)'],
      ['start', 'start() → resolved'],
      ['exec', 'start() → init exec\'d (/proc/PID/exe not the shim)'],
      ['delete', 'deleteContainer({ force })'],
    ] as const;
    const lines = [
      `### Library start latency, busybox /bin/true, mode ${opts.mode}${opts.spare ? ', spare shim' : ''} (${header})`,
      '',
      `${samples.length} containers in one Node process after ${opts.warmup} warm-up; ms.`,
      '',
      '| phase | median | p90 | min | max |',
      '|---|---:|---:|---:|---:|',
      ...rows.map(([key, label]) => {
        const s = summary[key];
        return `| ${label} | ${fmt(s.median)} | ${fmt(s.p90)} | ${fmt(s.min)} | ${fmt(s.max)} |`;
      }),
    ];
    const plan = samples.map((s) => s.create + s.exec).sort((a, b) => a - b);
    lines.push(`| **create() + start() → exec'd** (plan → init exec'd) | **${fmt(quantile(plan, 0.5))}** | ${fmt(quantile(plan, 0.9))} | ${fmt(plan[0]!)} | ${fmt(plan[plan.length - 1]!)} |`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    if (current) await deleteContainer(rt, current, { force: true }).catch(() => {});
    if (rootKind === 'mounted') await unmountOnHost(root).catch((err: unknown) => process.stderr.write(`library-start: unmount ${root}: ${String(err)}\n`));
    await releaseStandingShims();
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`library-start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
