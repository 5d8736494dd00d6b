import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phases, libraryPhases, PHASES, LIBRARY_PHASES, type Trace, type TraceEvent } from './cli-breakdown.ts';
import { selfTimes, type CpuProfile } from './cpu-profile-top.ts';

function ev(t: number, op: string, arg: string, ms = 0.1): TraceEvent {
  return { t, ms, op, arg };
}

/** The events of one foreground run, in the order berth-runtime makes them (values in ms). */
function runTrace(): Trace {
  const dir = '/tmp/r/c1';
  return {
    node: { loopStart: 20, bootstrapComplete: 15 },
    preloadAt: 22,
    exitAt: 120,
    events: [
      ev(30, 'fsp.readFile', '/repo/dist/berth-runtime.mjs'),
      ev(45, 'fsp.readFile', '/b/config.json'),
      ev(47, 'fsp.mkdir', '/tmp/r'),
      ev(50, 'fsp.mkdir', '/sys/fs/cgroup/cpu/berth/c1'),
      ev(51, 'fsp.open', '/sys/fs/cgroup/devices/berth/c1/devices.allow'),
      ev(60, 'fsp.open', `${dir}/.state.json.1.1.tmp`),
      ev(61, 'handle.sync', `${dir}/.state.json.1.1.tmp`, 1),
      ev(62, 'handle.sync', dir, 1),
      ev(65, 'cp.spawn', '/shim', 4),
      ev(70, 'child.spawned', '/shim', 0),
      ev(76, 'fs.readFileSync', '/proc/42/stat'),
      ev(77, 'fsp.open', `${dir}/.state.json.1.2.tmp`),
      ev(79, 'handle.close', `${dir}/.state.json.1.2.tmp`),
      ev(80, 'handle.close', dir),
      ev(90, 'fsp.readFile', `${dir}/state.json`),
      ev(91, 'fsp.open', `${dir}/exec.fifo`),
      ev(92, 'handle.close', `${dir}/exec.fifo`, 0.5),
      ev(93, 'fsp.open', `${dir}/.state.json.1.3.tmp`),
      ev(99, 'fsp.unlink', `${dir}/exec.fifo`, 1),
      ev(101, 'child.exit', '/shim', 0),
      ev(104, 'fsp.readFile', `${dir}/state.json`),
      ev(105, 'fsp.rmdir', '/sys/fs/cgroup/cpu/berth/c1'),
      ev(110, 'fsp.rm', dir, 2),
    ],
  };
}

test('phases cuts a foreground run at its markers and adds up to the exit', () => {
  const got = phases(runTrace());
  assert.ok(got);
  assert.equal(got.length, PHASES.length + 1);
  const want = [30, 15, 5, 10, 5, 5, 6, 14, 2.5, 7.5, 4, 8, 8];
  got.forEach((ms, i) => assert.ok(Math.abs(ms - want[i]!) < 1e-9, `phase ${i} (${PHASES[i]?.name ?? 'exit'}): ${ms} != ${want[i]}`));
  assert.ok(Math.abs(got.reduce((a, b) => a + b, 0) - 120) < 1e-9);
});

test('phases gives up on a trace of another flow (no shim spawned)', () => {
  const trace = runTrace();
  trace.events = trace.events.filter((e) => !e.op.startsWith('cp.') && !e.op.startsWith('child.'));
  assert.equal(phases(trace), undefined);
});

test('selfTimes charges each time delta to the sampled function', () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '', url: '', lineNumber: -1 } },
      { id: 2, callFrame: { functionName: 'create', url: 'file:///repo/dist/berth-runtime.mjs', lineNumber: 9 } },
    ],
    samples: [2, 2, 1, 2],
    timeDeltas: [100, 50, 25, 10],
  };
  const into = new Map<string, number>([['create berth-runtime.mjs:10', 1]]);
  selfTimes(profile, into);
  assert.deepEqual(Object.fromEntries(into), { 'create berth-runtime.mjs:10': 161, '(anonymous)': 25 });
});

test('libraryPhases cuts every create + start cycle of a long-lived process', () => {
  const cycle = (t0: number, id: string): TraceEvent[] => [
    ev(t0, 'fsp.readFile', '/b/config.json'),
    ev(t0 + 1, 'fsp.readFile', '/proc/self/mountinfo'),
    ev(t0 + 2, 'fsp.mkdir', `/sys/fs/cgroup/cpu/berth/${id}`),
    ev(t0 + 4, 'fsp.open', `/sys/fs/cgroup/devices/berth/${id}/devices.deny`),
    ev(t0 + 7, 'fsp.open', `/r/${id}/.state.json.1.1.tmp`),
    ev(t0 + 8, 'cp.spawn', '/shim', 2),
    ev(t0 + 10, 'child.spawned', '/shim'),
    ev(t0 + 12, 'fs.readFileSync', '/proc/9/stat'),
    ev(t0 + 15, 'fsp.readFile', `/r/${id}/state.json`),
    ev(t0 + 16, 'handle.close', `/r/${id}/exec.fifo`, 1),
    ev(t0 + 19, 'fsp.unlink', `/r/${id}/exec.fifo`, 1),
    ev(t0 + 21, 'fsp.rm', `/r/${id}`),
  ];
  const trace: Trace = { node: { loopStart: 0, bootstrapComplete: 0 }, preloadAt: 0, exitAt: 100, events: [...cycle(10, 'a'), ...cycle(40, 'b')] };
  const rows = libraryPhases(trace);
  assert.deepEqual(rows, [
    [1, 1, 2, 3, 1, 2, 2, 3, 2, 3],
    [1, 1, 2, 3, 1, 2, 2, 3, 2, 3],
  ]);
  assert.equal(rows[0]!.length, LIBRARY_PHASES.length);
});
