// cgroup limits seen from the kernel's side: OOM kill, pids limit, cpu quota, the cgroup mount.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { runContainer, cleanupStateRoot, makeBundle, removeBundle, rt, uniqueId, forceDelete, cgroupDir } from './helpers.ts';

after(cleanupStateRoot);

test('a memory limit OOM-kills the process (137)', () => {
  const r = runContainer(['sh', '-c', 'exec dd if=/dev/zero of=/dev/null bs=128M count=1'], (spec) => {
    spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 } };
  });
  assert.equal(r.code, 137, `stdout=${r.stdout} stderr=${r.stderr}`);
});

test('a pids limit stops a fork bomb', () => {
  const r = runContainer(['sh', '-c', 'for i in $(seq 1 30); do sleep 3 & done; echo done'], (spec) => {
    spec.linux!.resources = { ...spec.linux!.resources, pids: { limit: 10 } };
  });
  assert.match(r.stderr, /can't fork/);
  assert.notEqual(r.code, 0);
});

test('cpu quota, shares and memory limit land in the cgroup files', () => {
  const bundle = makeBundle(['sleep', '30'], (spec) => {
    spec.linux!.resources = { ...spec.linux!.resources, cpu: { quota: 50000, period: 100000, shares: 512 }, memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 42 } };
  });
  const id = uniqueId('cg');
  try {
    assert.equal(rt('run', '-d', '--bundle', bundle.dir, id).code, 0);
    const read = (controller: string, file: string): string => readFileSync(`${cgroupDir(controller, id)}/${file}`, 'utf8').trim();
    if (existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')) {
      assert.equal(read('cpu', 'cpu.cfs_quota_us'), '50000');
      assert.equal(read('cpu', 'cpu.cfs_period_us'), '100000');
      assert.equal(read('cpu', 'cpu.shares'), '512');
      assert.equal(read('memory', 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
      assert.equal(read('pids', 'pids.max'), '42');
    } else {
      assert.equal(read('', 'cpu.max'), '50000 100000');
      assert.equal(read('', 'memory.max'), String(64 * 1024 * 1024));
    }
    const u = rt('update', '--memory', '128m', '--pids-limit', '50', id);
    assert.equal(u.code, 0, u.stderr);
    if (existsSync('/sys/fs/cgroup/pids/berth')) assert.equal(read('pids', 'pids.max'), '50');
    const ev = rt('events', '--stats', id);
    assert.equal(ev.code, 0, ev.stderr);
    const stats = JSON.parse(ev.stdout) as { type: string; data: { pids?: { current?: number } } };
    assert.equal(stats.type, 'stats');
    assert.ok((stats.data.pids?.current ?? 0) >= 1);
  } finally {
    forceDelete(id);
    removeBundle(bundle);
  }
  assert.equal(existsSync(cgroupDir('pids', id)), false, 'cgroup removed on delete');
});

test('the container sees its own cgroup at /sys/fs/cgroup, read-only', () => {
  const r = runContainer(['sh', '-c', 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; echo 5 > /sys/fs/cgroup/pids/pids.max 2>&1 || echo refused'], (spec) => {
    spec.linux!.resources = { ...spec.linux!.resources, pids: { limit: 77 } };
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^77\n/);
  assert.match(r.stdout + r.stderr, /refused|Read-only/);
});
