/**
 * The cgroup managers against the real kernel of this machine (root; v1 hybrid here, the v2
 * branches run on unified hosts): limits read back from the kernel's own files, a real process
 * moved in, frozen, thawed, killed, and every directory removed again.
 */

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, readFile, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { CgroupLayout, CgroupManager, CgroupPaths } from '../../../src/cgroups/index.ts';
import { CgroupV2Manager, detectLayout, loadCgroupManager, openCgroupManager, parseCgroupsPath } from '../../../src/cgroups/index.ts';

const isRoot = process.getuid?.() === 0;
const MiB = 1024 * 1024;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function read(dir: string, file: string): Promise<string> {
  return (await readFile(join(dir, file), 'utf8')).trim();
}

function exitOf(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode ?? child.exitCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
}

/** /proc/PID/stat field 3; a v1-frozen task sleeps in the refrigerator, shown as D. */
async function procState(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

describe('cgroups on this host', { skip: isRoot ? false : 'needs root' }, () => {
  const parent = `/berth-test-${randomBytes(4).toString('hex')}`;
  const path = `${parent}/ctr`;
  let layout: CgroupLayout;
  let manager: CgroupManager;
  let paths: CgroupPaths;
  const children: ChildProcess[] = [];

  function dir(controller: string): string {
    const found = paths.dirs[layout.mode === 'v2' ? '' : controller];
    assert.ok(found, `no ${controller} directory`);
    return found;
  }

  function sleeper(): ChildProcess {
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    children.push(child);
    return child;
  }

  before(async () => {
    layout = await detectLayout();
    manager = openCgroupManager(layout, path, 'ctr');
    paths = manager.paths();
    await manager.create();
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(children.map(exitOf));
    await manager.destroy().catch(() => undefined);
    // The parent is the test's own; berth never removes parents it may share.
    for (const leaf of new Set(Object.values(paths.dirs))) await rmdir(dirname(leaf)).catch(() => undefined);
  });

  it('detects this host’s layout', () => {
    assert.notEqual(layout.v1.size + (layout.v2Root ? 1 : 0), 0);
    if (layout.mode !== 'v2') {
      assert.ok(layout.v1.has('memory') && layout.v1.has('pids') && layout.v1.has('freezer'));
    }
  });

  it('applies memory, pids and cpu limits the kernel reads back', async () => {
    await manager.apply({
      memory: { limit: 64 * MiB, swap: 128 * MiB },
      pids: { limit: 16 },
      cpu: { shares: 512, quota: 20000, period: 100000 },
    });
    if (layout.mode === 'v2') {
      assert.equal(await read(dir('memory'), 'memory.max'), String(64 * MiB));
      assert.equal(await read(dir('memory'), 'memory.swap.max'), String(64 * MiB));
      assert.equal(await read(dir('cpu'), 'cpu.weight'), '20');
      assert.equal(await read(dir('cpu'), 'cpu.max'), '20000 100000');
    } else {
      assert.equal(await read(dir('memory'), 'memory.limit_in_bytes'), String(64 * MiB));
      if (await exists(join(dir('memory'), 'memory.memsw.limit_in_bytes'))) {
        assert.equal(await read(dir('memory'), 'memory.memsw.limit_in_bytes'), String(128 * MiB));
      }
      assert.equal(await read(dir('cpu'), 'cpu.shares'), '512');
      assert.equal(await read(dir('cpu'), 'cpu.cfs_quota_us'), '20000');
      assert.equal(await read(dir('cpu'), 'cpu.cfs_period_us'), '100000');
    }
    assert.equal(await read(dir('pids'), 'pids.max'), '16');
  });

  it('raises and lowers memory with swap in an order the kernel accepts', async () => {
    const limitFile = layout.mode === 'v2' ? 'memory.max' : 'memory.limit_in_bytes';
    await manager.apply({ memory: { limit: 256 * MiB, swap: 512 * MiB } });
    assert.equal(await read(dir('memory'), limitFile), String(256 * MiB));
    await manager.apply({ memory: { limit: 32 * MiB, swap: 48 * MiB } });
    assert.equal(await read(dir('memory'), limitFile), String(32 * MiB));
    if (layout.mode !== 'v2' && (await exists(join(dir('memory'), 'memory.memsw.limit_in_bytes')))) {
      assert.equal(await read(dir('memory'), 'memory.memsw.limit_in_bytes'), String(48 * MiB));
    }
  });

  it('device rules replace the inherited allow-all (v1)', { skip: false }, async (t) => {
    if (layout.mode === 'v2') return t.skip('v2 device filters need the bpf attach step');
    await manager.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
    assert.equal(await read(dir('devices'), 'devices.list'), 'c 1:3 rwm');
  });

  it('hugetlb limits land wherever this host binds hugetlb', async (t) => {
    const place = layout.v1.has('hugetlb') ? paths.dirs.hugetlb : paths.dirs[''];
    const file = layout.v1.has('hugetlb') ? 'hugetlb.2MB.limit_in_bytes' : 'hugetlb.2MB.max';
    if (place === undefined || (layout.mode !== 'v1' && !layout.v2Controllers.includes('hugetlb'))) return t.skip('no hugetlb controller');
    await manager.apply({ hugepageLimits: [{ pageSize: '2MB', limit: 4 * MiB }] });
    assert.equal(await read(place, file), String(4 * MiB));
  });

  it('blkio weight uses blkio.weight, or blkio.bfq.weight on kernels without cfq', async (t) => {
    if (layout.mode === 'v2') return t.skip('v2 host');
    const blkio = dir('blkio');
    const plain = await exists(join(blkio, 'blkio.weight'));
    const bfq = await exists(join(blkio, 'blkio.bfq.weight'));
    if (!plain && !bfq) {
      await assert.rejects(manager.apply({ blockIO: { weight: 500 } }), /neither blkio\.weight nor blkio\.bfq\.weight exists/);
      return;
    }
    await manager.apply({ blockIO: { weight: 300 } });
    assert.match(await read(blkio, plain ? 'blkio.weight' : 'blkio.bfq.weight'), /(^|\s)300$/);
  });

  it('moves a process in, lists it, and reports stats', async () => {
    const child = sleeper();
    await manager.addProcess(child.pid!);
    assert.deepEqual(await manager.pids(), [child.pid]);
    const own = await readFile(`/proc/${child.pid}/cgroup`, 'utf8');
    for (const line of own.trim().split('\n')) assert.ok(line.endsWith(`:${path}`), `${line} is in ${path}`);
    const stats = await manager.stats();
    assert.equal(stats.pids?.current, 1);
    assert.equal(stats.pids?.limit, 16);
    assert.equal(stats.memory?.limit, 32 * MiB);
    // v1 leaves a migrated task's pages charged to its old cgroup, so usage may well be 0.
    assert.equal(typeof stats.memory?.usage, 'number');
    assert.ok(Object.keys(stats.memory?.stat ?? {}).length > 10, 'memory.stat parsed');
    assert.ok(stats.cpu !== undefined);
  });

  it('freezes and thaws the process', async () => {
    const [pid] = await manager.pids();
    assert.ok(pid !== undefined);
    await manager.freeze();
    assert.equal(await manager.state(), 'frozen');
    if (layout.mode !== 'v2' && paths.dirs.freezer) assert.equal(await read(paths.dirs.freezer, 'freezer.state'), 'FROZEN');
    assert.equal(await procState(pid), 'D');
    // A re-opened manager (the next CLI verb) sees the same state.
    assert.equal(await loadCgroupManager(JSON.parse(JSON.stringify(paths)) as CgroupPaths).state(), 'frozen');
    await manager.thaw();
    assert.equal(await manager.state(), 'thawed');
    assert.equal(await procState(pid), 'S');
  });

  it('killAll with SIGTERM goes through freeze and thaw and reaches the process', async () => {
    const child = sleeper();
    await manager.addProcess(child.pid!);
    await manager.killAll('SIGTERM');
    assert.equal(await exitOf(child), 'SIGTERM');
    assert.equal(await manager.state(), 'thawed');
  });

  it('killAll with SIGKILL empties the cgroup', async () => {
    const extra = sleeper();
    await manager.addProcess(extra.pid!);
    await manager.killAll('SIGKILL');
    for (const child of children) await exitOf(child);
    for (let i = 0; i < 100 && (await manager.pids()).length > 0; i++) await sleep(10);
    assert.deepEqual(await manager.pids(), []);
  });

  it('destroy removes the cgroup from every hierarchy', async () => {
    await manager.destroy();
    for (const leaf of new Set(Object.values(paths.dirs))) {
      assert.equal(await exists(leaf), false, `${leaf} removed`);
      await rmdir(dirname(leaf));
      assert.equal(await exists(dirname(leaf)), false, `${dirname(leaf)} removed`);
    }
  });
});

/**
 * The v2 manager on a real cgroup2 hierarchy. On a hybrid host that is the unified mount
 * (few controllers, but the whole v2 core: cgroup.freeze, cgroup.events, cgroup.kill, rmdir);
 * on a unified host it is /sys/fs/cgroup itself.
 */
describe('cgroup v2 core on this host', { skip: isRoot ? false : 'needs root' }, () => {
  const parent = `/berth-test-${randomBytes(4).toString('hex')}`;
  let v2Root: string | undefined;
  let manager: CgroupManager | undefined;
  const children: ChildProcess[] = [];

  function sleeper(): ChildProcess {
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    children.push(child);
    return child;
  }

  before(async () => {
    const layout = await detectLayout();
    v2Root = layout.v2Root;
    if (v2Root === undefined) return;
    manager = CgroupV2Manager.open(v2Root, parseCgroupsPath(`${parent}/ctr`, 'ctr'));
    await manager.create();
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(children.map(exitOf));
    await manager?.destroy().catch(() => undefined);
    if (v2Root !== undefined) await rmdir(join(v2Root, parent)).catch(() => undefined);
  });

  it('freezes through cgroup.freeze and sees cgroup.events settle', async (t) => {
    if (!manager) return t.skip('no cgroup2 mount');
    const child = sleeper();
    await manager.addProcess(child.pid!);
    assert.deepEqual(await manager.pids(), [child.pid]);
    await manager.freeze();
    assert.equal(await manager.state(), 'frozen');
    assert.match(await read(manager.paths().dirs['']!, 'cgroup.events'), /^frozen 1$/m);
    await manager.thaw();
    assert.equal(await manager.state(), 'thawed');
  });

  it('killAll with SIGTERM freezes, signals and thaws', async (t) => {
    if (!manager) return t.skip('no cgroup2 mount');
    const child = sleeper();
    await manager.addProcess(child.pid!);
    await manager.killAll('SIGTERM');
    assert.equal(await exitOf(child), 'SIGTERM');
    assert.equal(await manager.state(), 'thawed');
  });

  it('killAll with SIGKILL goes through cgroup.kill, even when frozen', async (t) => {
    if (!manager) return t.skip('no cgroup2 mount');
    const child = sleeper();
    await manager.addProcess(child.pid!);
    await manager.freeze();
    await manager.killAll('SIGKILL');
    assert.equal(await exitOf(child), 'SIGKILL');
    await manager.thaw();
  });

  it('destroy removes the directory', async (t) => {
    if (!manager || v2Root === undefined) return t.skip('no cgroup2 mount');
    for (let i = 0; i < 100 && (await manager.pids()).length > 0; i++) await sleep(10);
    await manager.destroy();
    assert.equal(await exists(join(v2Root, parent, 'ctr')), false);
    await rmdir(join(v2Root, parent));
    assert.equal(await exists(join(v2Root, parent)), false);
  });
});
