/**
 * Turns the traces cli-trace.ts wrote for K `berth-runtime run` calls into one table: the
 * phases of a foreground run, cut at markers every run has (the bundle read, config.json read,
 * the first cgroup mkdir, the shim's spawn...), median and p90 over the K runs. The lead needs
 * to know which phase to make faster; a table of medians is steadier than one timeline.
 *
 *   node --import tsx bench/cli-breakdown.ts TRACE.json...
 *   node --import tsx bench/cli-breakdown.ts --library TRACE.json [SKIP]   (library-start.ts under
 *        the same preload: the phases of each create + start cycle, the first SKIP left out)
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

// The runtime has used both node:fs/promises and the synchronous calls for the same steps: the
// markers accept either form (fsp.readFile / fs.readFileSync, fsp.mkdir / fs.mkdirSync...).
const isOp = (e: TraceEvent, name: string): boolean => e.op === `fsp.${name}` || e.op === `fs.${name}Sync`;
const isCgroupMkdir = (e: TraceEvent): boolean => isOp(e, 'mkdir') && e.arg.startsWith('/sys/fs/cgroup/');
const isStateRead = (e: TraceEvent): boolean => isOp(e, 'readFile') && e.arg.endsWith('/state.json');
/** The exec fifo opened for writing (sync) or its handle closed after the write (async): start's release of the init. */
const isFifoRelease = (e: TraceEvent): boolean => e.arg.endsWith('/exec.fifo') && (e.op === 'handle.close' || e.op === 'fs.openSync');
/** The state directory's removal: fsp.rm, or rmSync's last rmdir (not a cgroup's). */
const isStateDirRemoval = (e: TraceEvent): boolean => e.op === 'fsp.rm' || e.op === 'fs.rmSync' || (e.op === 'fs.rmdirSync' && !e.arg.startsWith('/sys/fs/cgroup/'));

export const PHASES: Phase[] = [
  { name: 'Node start-up (to the bundle read; incl. ~5 ms of the trace preload)', until: (e) => e.op === 'fsp.readFile' && e.arg.endsWith('.mjs'), edge: 'start' },
  { name: 'bundle load + evaluation, argv parse', until: (e) => e.arg.endsWith('/config.json'), edge: 'start' },
  { name: 'spec load + checks, state dir, cgroup layout detection', until: isCgroupMkdir, edge: 'start' },
  { name: 'cgroup create + apply (mkdir per hierarchy, cpuset copy, device rules)', until: (e) => e.arg.includes('/.state.json.'), edge: 'start' },
  { name: 'state save #1, plan compile, shim lookup', until: (e) => e.op === 'cp.spawn', edge: 'start' },
  { name: 'spawn() of the shim (fork+exec, synchronous)', until: (e) => e.op === 'child.spawned', edge: 'start' },
  { name: 'shim: exec, plan read, clone3 → `pid` message', until: (e) => e.op === 'fs.readFileSync' && /^\/proc\/\d+\/stat$/.test(e.arg), edge: 'start' },
  // The init's set-up (cgroup.procs writes, mounts, pivot_root) runs while Node saves the pid.
  { name: 'state save #2 (pid) ∥ init set-up in the shim, until `ready`', until: isStateRead, edge: 'start' },
  { name: 'start: state load, status, exec fifo write', until: isFifoRelease, edge: 'end' },
  { name: 'state save #3 (started), fifo unlink', until: (e) => isOp(e, 'unlink') && e.arg.endsWith('/exec.fifo'), edge: 'end' },
  { name: 'wait for the container\'s exit (`exit` message)', until: isStateRead, edge: 'start' },
  { name: 'delete: state load, cgroup rmdir, state dir rm', until: isStateDirRemoval, edge: 'end' },
];

/** Durations from `from` to each marker of `list` in turn, or undefined when one is missing. */
function cut(events: TraceEvent[], list: Phase[], from: number): number[] | undefined {
  const out: number[] = [];
  let at = from;
  let index = 0;
  for (const phase of list) {
    let found: number | undefined;
    for (; index < events.length; index++) {
      const e = events[index]!;
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
  return out;
}

/**
 * Phase durations of one trace (one per PHASES entry, then the process exit), or undefined when a
 * marker is missing (another flow than a foreground run).
 */
export function phases(trace: Trace): number[] | undefined {
  const out = cut(trace.events, PHASES, 0);
  if (!out) return undefined;
  return [...out, trace.exitAt - out.reduce((a, b) => a + b, 0)];
}

const isSpecRead = (e: TraceEvent): boolean => isOp(e, 'readFile') && e.arg.endsWith('/config.json');

/** One library create() + start(), from its config.json read (bench/library-start.ts's cycle). */
export const LIBRARY_PHASES: Phase[] = [
  { name: 'create: spec load + checks, state dir', until: (e) => e.arg === '/proc/self/mountinfo', edge: 'start' },
  { name: 'create: cgroup layout detection (mountinfo, /proc/self/cgroup, controllers)', until: isCgroupMkdir, edge: 'start' },
  { name: 'create: cgroup mkdir per hierarchy, cpuset copy, memory read', until: (e) => /devices\.(allow|deny)$/.test(e.arg), edge: 'start' },
  { name: 'create: device rules (one open+write+close per rule)', until: (e) => e.arg.includes('/.state.json.'), edge: 'start' },
  { name: 'create: state save #1, plan compile, shim lookup', until: (e) => e.op === 'cp.spawn', edge: 'start' },
  { name: 'create: spawn() of the shim', until: (e) => e.op === 'child.spawned', edge: 'start' },
  { name: 'create: shim exec, plan read, clone3 → `pid`', until: (e) => e.op === 'fs.readFileSync' && /^\/proc\/\d+\/stat$/.test(e.arg), edge: 'start' },
  { name: 'create: state save #2 (pid) ∥ init set-up until `ready`', until: isStateRead, edge: 'start' },
  { name: 'start: state load, status, exec fifo write', until: isFifoRelease, edge: 'end' },
  { name: 'start: state save #3 (started), fifo unlink', until: (e) => isOp(e, 'unlink') && e.arg.endsWith('/exec.fifo'), edge: 'end' },
];

/** Phase durations of every create + start cycle in a trace of one long-lived process. */
export function libraryPhases(trace: Trace): number[][] {
  const starts = trace.events.map((e, i) => (isSpecRead(e) ? i : -1)).filter((i) => i >= 0);
  const rows: number[][] = [];
  starts.forEach((first, k) => {
    const segment = trace.events.slice(first, starts[k + 1] ?? trace.events.length);
    const row = cut(segment, LIBRARY_PHASES, segment[0]!.t);
    if (row) rows.push(row);
  });
  return rows;
}

function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

function table(title: string, names: string[], rows: number[][]): string[] {
  const fmt = (x: number): string => x.toFixed(2);
  return [
    `| ${title} | median ms | p90 ms |`,
    '|---|---:|---:|',
    ...names.map((name, i) => {
      const xs = rows.map((r) => r[i]!);
      return `| ${name} | ${fmt(quantile(xs, 0.5))} | ${fmt(quantile(xs, 0.9))} |`;
    }),
  ];
}

/** `--library TRACE`: the phases of the create + start cycles library-start.ts made (skipping `skip` warm-up cycles). */
function mainLibrary(file: string, skip: number): void {
  const rows = libraryPhases(JSON.parse(readFileSync(file, 'utf8')) as Trace).slice(skip);
  if (rows.length === 0) throw invalidArgument(`summarize trace ${file}: no create + start cycle in it`);
  const lines = table(`phase of a library create() + start() (${rows.length} cycles)`, LIBRARY_PHASES.map((p) => p.name), rows);
  const sum = (from: number, to: number): number[] => rows.map((r) => r.slice(from, to).reduce((a, b) => a + b, 0));
  const fmt = (x: number): string => x.toFixed(2);
  const creates = sum(0, 8);
  const starts = sum(8, 10);
  lines.push(`| **create (sum)** | **${fmt(quantile(creates, 0.5))}** | ${fmt(quantile(creates, 0.9))} |`);
  lines.push(`| **start (sum)** | **${fmt(quantile(starts, 0.5))}** | ${fmt(quantile(starts, 0.9))} |`);
  process.stdout.write(lines.join('\n') + '\n');
}

function main(args: string[]): void {
  if (args[0] === '--library') {
    if (!args[1]) throw invalidArgument('summarize traces: --library needs a trace file');
    mainLibrary(args[1], Number(args[2] ?? 0));
    return;
  }
  const files = args;
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
