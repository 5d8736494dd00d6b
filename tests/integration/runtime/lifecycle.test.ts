// The OCI lifecycle through the runc-compatible CLI: create → start → state → kill → delete,
// exec, pause, ps, list, hooks, joining another container's namespaces.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync, existsSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { cleanupStateRoot, makeBundle, removeBundle, rt, rtAsync, uniqueId, forceDelete, state, until, testStateRoot, cgroupDir } from './helpers.ts';

after(cleanupStateRoot);

test('create leaves the init waiting; start runs it; kill and delete end it', async () => {
  const bundle = makeBundle(['sleep', '60']);
  const id = uniqueId('life');
  const pidFile = join(bundle.dir, 'pid');
  try {
    const c = rt('create', '--bundle', bundle.dir, '--pid-file', pidFile, id);
    assert.equal(c.code, 0, c.stderr);
    const created = state(id);
    assert.equal(created.status, 'created');
    assert.equal(readFileSync(pidFile, 'utf8'), String(created.pid));
    // The init has not exec'd yet: it is still the shim.
    assert.notEqual(readlinkSync(`/proc/${created.pid}/exe`).split('/').pop(), 'busybox');
    assert.equal(rt('start', id).code, 0);
    assert.equal(state(id).status, 'running');
    assert.match(readlinkSync(`/proc/${created.pid}/exe`), /busybox/);
    assert.equal(rt('start', id).code, 1, 'a running container cannot be started again');
    const del = rt('delete', id);
    assert.equal(del.code, 1, 'a running container cannot be deleted without --force');
    assert.match(del.stderr, /not stopped/);
    assert.equal(rt('kill', id, 'KILL').code, 0);
    assert.ok(await until(() => state(id).status === 'stopped'));
    assert.equal(rt('kill', id).code, 1, 'a stopped container cannot be signalled');
    assert.equal(rt('delete', id).code, 0);
    assert.equal(rt('state', id).code, 1);
    assert.equal(existsSync(join(testStateRoot(), id)), false);
  } finally {
    forceDelete(id);
    removeBundle(bundle);
  }
});

test('exec joins every namespace and the cgroup, with env, cwd and user', () => {
  const bundle = makeBundle(['sleep', '60'], (spec) => {
    spec.process!.env!.push('GREETING=hello');
  });
  const id = uniqueId('exec');
  try {
    assert.equal(rt('run', '-d', '--bundle', bundle.dir, id).code, 0);
    const { pid } = state(id);
    const r = rt('exec', '--cwd', '/tmp', '--env', 'EXTRA=1', '--user', '1000:1000', id, 'sh', '-c',
      'echo $GREETING $EXTRA; pwd; id -u; for n in mnt uts ipc net pid cgroup; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup | grep pids');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 3), ['hello 1', '/tmp', '1000']);
    const nsInside = lines.slice(3, 9);
    const nsOfInit = ['mnt', 'uts', 'ipc', 'net', 'pid', 'cgroup'].map((n) => readlinkSync(`/proc/${pid}/ns/${n}`));
    assert.deepEqual(nsInside, nsOfInit);
    // Inside its cgroup namespace the container's own cgroup is the root.
    assert.match(lines[9] ?? '', /pids:\/$/);
    const ps = rt('ps', '--format', 'json', id);
    assert.deepEqual(JSON.parse(ps.stdout), [pid]);
    assert.equal(rt('exec', id, 'sh', '-c', 'exit 3').code, 3);
  } finally {
    forceDelete(id);
    removeBundle(bundle);
  }
});

test('pause freezes every process and resume thaws them', async () => {
  const bundle = makeBundle(['sleep', '60']);
  const id = uniqueId('pause');
  try {
    assert.equal(rt('run', '-d', '--bundle', bundle.dir, id).code, 0);
    const { pid } = state(id);
    assert.equal(rt('pause', id).code, 0);
    assert.equal(state(id).status, 'paused');
    const freezer = join(cgroupDir('freezer', id), 'freezer.state');
    if (existsSync(freezer)) assert.equal(readFileSync(freezer, 'utf8').trim(), 'FROZEN');
    // A frozen task does not run: it is stopped in the freezer, not merely sleeping.
    assert.ok(/\(.*\) [DS]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')));
    assert.equal(rt('resume', id).code, 0);
    assert.equal(state(id).status, 'running');
    assert.equal(rt('resume', id).code, 1);
  } finally {
    forceDelete(id);
    removeBundle(bundle);
  }
});

test('list shows containers with their status', () => {
  const bundle = makeBundle(['sleep', '60']);
  const id = uniqueId('list');
  try {
    assert.equal(rt('create', '--bundle', bundle.dir, id).code, 0);
    const table = rt('list');
    assert.match(table.stdout, /^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER/);
    assert.match(table.stdout, new RegExp(`${id}\\s+\\d+\\s+created\\s+${bundle.dir}`));
    const json = JSON.parse(rt('list', '--format', 'json').stdout) as Array<{ id: string; status: string }>;
    assert.equal(json.find((c) => c.id === id)?.status, 'created');
    assert.equal(rt('list', '-q').stdout.split('\n').includes(id), true);
  } finally {
    forceDelete(id);
    removeBundle(bundle);
  }
});

test('all six hook kinds run in order, container hooks inside the container\'s namespaces', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-hooks-'));
  const log = join(dir, 'log');
  const hook = join(dir, 'hook.sh');
  // Each hook logs its name, the status it was given, and how many network interfaces its
  // network namespace has: the container's has only lo.
  writeFileSync(hook, `#!/bin/sh\nstate=$(cat)\nstatus=$(echo "$state" | sed 's/.*"status":"\\([a-z]*\\)".*/\\1/')\necho "$1 $status $(tail -n +3 /proc/net/dev | wc -l)" >> ${log}\n`);
  chmodSync(hook, 0o755);
  const bundle = makeBundle(['sh', '-c', 'echo "process $(hostname)" >> /hooklog'], (spec) => {
    const h = (name: string): { path: string; args: string[] } => ({ path: hook, args: ['hook.sh', name] });
    spec.root!.readonly = false;
    spec.hooks = {
      prestart: [h('prestart')],
      createRuntime: [h('createRuntime')],
      createContainer: [h('createContainer')],
      // startContainer's path resolves inside the container.
      startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat >/dev/null; echo "startContainer $(hostname)" >> /hooklog'] }],
      poststart: [h('poststart')],
      poststop: [h('poststop')],
    };
  });
  const id = uniqueId('hooks');
  try {
    const r = rt('run', '--bundle', bundle.dir, id);
    assert.equal(r.code, 0, r.stderr);
    const hostIfaces = readFileSync('/proc/net/dev', 'utf8').trim().split('\n').length - 2;
    assert.ok(hostIfaces > 1);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
      `prestart created ${hostIfaces}`,
      `createRuntime created ${hostIfaces}`,
      'createContainer created 1',
      `poststart running ${hostIfaces}`,
      `poststop stopped ${hostIfaces}`,
    ]);
    assert.deepEqual(readFileSync(join(bundle.rootfs, 'hooklog'), 'utf8').trim().split('\n'), ['startContainer berth', 'process berth']);
  } finally {
    forceDelete(id);
    removeBundle(bundle);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failing createRuntime hook aborts create and leaves nothing', () => {
  const bundle = makeBundle(['true'], (spec) => {
    spec.hooks = { createRuntime: [{ path: '/bin/false' }] };
  });
  const id = uniqueId('hookfail');
  try {
    const r = rt('create', '--bundle', bundle.dir, id);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /createRuntime hook \/bin\/false: exit status 1/);
    assert.equal(existsSync(join(testStateRoot(), id)), false);
    assert.equal(existsSync(cgroupDir('pids', id)), false);
  } finally {
    forceDelete(id);
    removeBundle(bundle);
  }
});

test('a second container joins the first one\'s pid, ipc and net namespaces by path', async () => {
  const first = makeBundle(['sh', '-c', 'nc -l -p 7777 -e echo from-first & sleep 60']);
  const idA = uniqueId('joinA');
  const idB = uniqueId('joinB');
  let second;
  try {
    assert.equal(rt('run', '-d', '--bundle', first.dir, idA).code, 0);
    const pidA = state(idA).pid;
    second = makeBundle(['sh', '-c', 'sleep 0.3; ps -o comm | grep -c sleep; nc 127.0.0.1 7777 </dev/null'], (spec) => {
      spec.linux!.namespaces = spec.linux!.namespaces!.map((ns) =>
        ['pid', 'ipc', 'network'].includes(ns.type) ? { type: ns.type, path: `/proc/${pidA}/ns/${ns.type === 'network' ? 'net' : ns.type}` } : ns,
      );
    });
    const r = await rtAsync(['run', '--bundle', second.dir, idB]);
    assert.equal(r.code, 0, r.stderr);
    const [sleeps, reply] = r.stdout.trim().split('\n');
    assert.ok(Number(sleeps) >= 1, 'sees the first container\'s sleep');
    assert.equal(reply, 'from-first');
  } finally {
    forceDelete(idB);
    forceDelete(idA);
    removeBundle(first);
    if (second) removeBundle(second);
  }
});
