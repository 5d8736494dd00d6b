/**
 * Turns the traces cli-trace.ts wrote for K `berth-runtime run` calls into one table: the
 * phases of a foreground run, cut at markers every run has (the bundle read, config.json read,
 * the first cgroup mkdir, the shim's spawn...), median and p90 over the K runs. The lead needs
 * to know which phase to make faster; a table of medians is steadier than one timeline.
 *
 *   node --import tsx bench/cli-breakdown.ts TRACE.json...
 */

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { invalidArgument } from '../src/util/errors.ts';

export interface TraceEvent {
  t: number;
  ms: number;
  op: string;
  arg: string;
}

export interface Trace {
  node: { loopStart: number; bootstrapComplete: number };
  preloadAt: number;
  exitAt: number;
  events: TraceEvent[];
}

interface Phase {
  name: string;
  /** Where the phase ends: the start (or end) of the first event from `from` on that matches. */
  until: (e: TraceEvent) => boolean;
  edge: 'start' | 'end';
}

export const PHASES: Phase[] = [
  { name: 'Node start-up (to the bundle read; incl. ~5 ms of the trace preload)', until: (e) => e.op === 'fsp.readFile' && e.arg.endsWith('.mjs'), edge: 'start' },
  { name: 'bundle load + evaluation, argv parse', until: (e) => e.arg.endsWith('/config.json'), edge: 'start' },
  { name: 'spec load + checks, state dir, cgroup layout detection', until: (e) => e.op === 'fsp.mkdir' && e.arg.startsWith('/sys/fs/cgroup/'), edge: 'start' },
  { name: 'cgroup create + apply (mkdir per hierarchy, cpuset copy, device rules)', until: (e) => e.arg.includes('/.state.json.'), edge: 'start' },
  { name: 'state save #1 (write, fsync file + dir), plan compile, shim lookup', until: (e) => e.op === 'cp.spawn', edge: 'start' },
  { name: 'spawn() of the shim (fork+exec, synchronous in Node)', until: (e) => e.op === 'child.spawned', edge: 'start' },
  { name: 'shim: exec, plan read, clone3 → `pid` message', until: (e) => e.op === 'fs.readFileSync' && /^\/proc\/\d+\/stat$/.test(e.arg), edge: 'start' },
  // The init's set-up (cgroup.procs writes, mounts, pivot_root) runs while Node saves the pid.
  { name: 'state save #2 (pid) ∥ init set-up in the shim, until `ready`', until: (e) => e.op === 'fsp.readFile' && e.arg.endsWith('/state.json'), edge: 'start' },
  { name: 'start: state load, status, exec fifo write', until: (e) => e.op === 'handle.close' && e.arg.endsWith('/exec.fifo'), edge: 'end' },
  { name: 'state save #3 (started), fifo unlink', until: (e) => e.op === 'fsp.unlink' && e.arg.endsWith('/exec.fifo'), edge: 'end' },
  { name: 'wait for the container\'s exit (`exit` message)', until: (e) => e.op === 'fsp.readFile' && e.arg.endsWith('/state.json'), edge: 'start' },
  { name: 'delete: state load, cgroup rmdir, state dir rm', until: (e) => e.op === 'fsp.rm', edge: 'end' },
];

/**
 * Phase durations of one trace (one per PHASES entry, then the process exit), or undefined when a
 * marker is missing (another flow than a foreground run).
 */
export function phases(trace: Trace): number[] | undefined {
  const out: number[] = [];
  let at = 0;
  let index = 0;
  for (const phase of PHASES) {
    let found: number | undefined;
    for (; index < trace.events.length; index++) {
      const e = trace.events[index]!;
      if (e.t >= at && phase.until(e)) {
        found = phase.edge === 'start' ? e.t : e.t + e.ms;
        index++;
        break;
      }
    }
    if (found === undefined) return undefined;
    out.push(found - at);
    at = found;
  }
  out.push(trace.exitAt - at);
  return out;
}

function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

function main(files: string[]): void {
  if (files.length === 0) throw invalidArgument('summarize traces: no trace files given');
  const traces = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Trace);
  const rows = traces.map(phases).filter((r): r is number[] => r !== undefined);
  if (rows.length === 0) throw invalidArgument('summarize traces: no trace has the phases of a foreground run');
  const names = [...PHASES.map((p) => p.name), 'process exit'];
  const fmt = (x: number): string => x.toFixed(1);
  const lines = [
    `| phase of \`berth-runtime run\` (${rows.length} traced runs) | median ms | p90 ms |`,
    '|---|---:|---:|',
    ...names.map((name, i) => {
      const xs = rows.map((r) => r[i]!);
      return `| ${name} | ${fmt(quantile(xs, 0.5))} | ${fmt(quantile(xs, 0.9))} |`;
    }),
  ];
  const totals = traces.map((t) => t.exitAt);
  lines.push(`| **total (traced, to the \`exit\` event)** | **${fmt(quantile(totals, 0.5))}** | ${fmt(quantile(totals, 0.9))} |`);

  // What the file system costs across the whole call: counts and the summed durations.
  const count = (pred: (e: TraceEvent) => boolean): [number, number] => {
    const per = traces.map((t) => t.events.filter(pred));
    return [quantile(per.map((p) => p.length), 0.5), quantile(per.map((p) => p.reduce((s, e) => s + e.ms, 0)), 0.5)];
  };
  const isFs = (e: TraceEvent): boolean => e.op.startsWith('fs') || e.op.startsWith('handle.');
  const kinds: Array<[string, (e: TraceEvent) => boolean]> = [
    ['all node:fs calls', isFs],
    ['on /sys/fs/cgroup', (e) => isFs(e) && e.arg.startsWith('/sys/fs/cgroup/')],
    ['of which devices.allow/deny writes (open+write+close)', (e) => isFs(e) && /devices\.(allow|deny)$/.test(e.arg)],
    ['fsync (file and directory)', (e) => e.op === 'handle.sync' || e.op === 'fs.fsyncSync'],
    ['state.json saves (tmp write, fsync, rename, dir fsync)', (e) => isFs(e) && (e.arg.includes('.state.json.') || /\/[^/.]+$/.test(e.arg) && e.op === 'handle.sync')],
  ];
  lines.push('', '| node:fs calls per run (median) | calls | summed ms inside the calls (not the event-loop hops between them) |', '|---|---:|---:|');
  for (const [label, pred] of kinds) {
    const [n, ms] = count(pred);
    lines.push(`| ${label} | ${n} | ${fmt(ms)} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
