/**
 * Conformance suite every CgroupManager implementation runs against a tmpdir cgroupfs
 * (containerd's testsuite pattern): the same lifecycle, only the files that prove it differ
 * between v1 and v2. Called from each implementation's test file.
 */

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Resources } from '../oci/runtime-spec.ts';
import type { CgroupfsFixture } from './cgroupfs-fixture.ts';
import { createCgroupfsFixture } from './cgroupfs-fixture.ts';
import type { CgroupMode } from './layout.ts';
import type { CgroupManager, CgroupPaths } from './manager.ts';
import { openCgroupManager, loadCgroupManager } from './index.ts';

const RESOURCES: Resources = {
  memory: { limit: 64 * 1024 * 1024, swap: 128 * 1024 * 1024 },
  pids: { limit: 32 },
  cpu: { shares: 512, quota: 50000, period: 100000 },
};

/** [controller (v1 dir key; '' = unified), file, value the kernel should hold]. */
const EXPECTED: Record<'v1' | 'v2', Array<[string, string, string]>> = {
  v1: [
    ['memory', 'memory.limit_in_bytes', '67108864'],
    ['memory', 'memory.memsw.limit_in_bytes', '134217728'],
    ['pids', 'pids.max', '32'],
    ['cpu', 'cpu.shares', '512'],
    ['cpu', 'cpu.cfs_period_us', '100000'],
    ['cpu', 'cpu.cfs_quota_us', '50000'],
  ],
  v2: [
    ['', 'memory.max', '67108864'],
    ['', 'memory.swap.max', '67108864'],
    ['', 'pids.max', '32'],
    ['', 'cpu.weight', '20'],
    ['', 'cpu.max', '50000 100000'],
  ],
};

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function dirOf(paths: CgroupPaths, controller: string): string {
  const dir = paths.dirs[controller];
  assert.ok(dir !== undefined, `no directory for ${controller}`);
  return dir;
}

function exitOf(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode ?? child.exitCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
}

export function runManagerSuite(mode: CgroupMode): void {
  describe(`CgroupManager conformance (${mode})`, () => {
    let fixture: CgroupfsFixture;
    let manager: CgroupManager;
    const children: ChildProcess[] = [];
    const path = '/berth/suite-ctr';

    beforeEach(async () => {
      fixture = await createCgroupfsFixture(mode);
      await fixture.seedContainer(path);
      manager = openCgroupManager(fixture.layout, path, 'suite-ctr', { removeDir: fixture.removeDir });
    });

    afterEach(async () => {
      for (const child of children.splice(0)) child.kill('SIGKILL');
      await fixture.cleanup();
    });

    function sleeper(): ChildProcess {
      const child = spawn('sleep', ['60'], { stdio: 'ignore' });
      children.push(child);
      return child;
    }

    it('create makes the cgroup in every hierarchy and lists each cgroup.procs', async () => {
      await manager.create();
      const paths = manager.paths();
      assert.equal(paths.path, path);
      const dirs = new Set(Object.values(paths.dirs));
      assert.ok(dirs.size >= 1);
      for (const dir of dirs) assert.ok(dir.endsWith(path), `${dir} ends with ${path}`);
      assert.deepEqual(new Set(manager.procsFiles()), new Set([...dirs].map((dir) => join(dir, 'cgroup.procs'))));
    });

    it('apply writes memory, pids and cpu limits the kernel reads back', async () => {
      await manager.create();
      await manager.apply(RESOURCES);
      const paths = manager.paths();
      for (const [controller, file, value] of EXPECTED[mode === 'v2' ? 'v2' : 'v1']) {
        assert.equal(await fixture.read(dirOf(paths, controller), file), value, file);
      }
    });

    it('a write the kernel cannot take names file, value and errno', async () => {
      // A kernel booted without swap accounting has no memsw / swap.max file.
      await manager.create();
      const [controller, file] = mode === 'v2' ? ['', 'memory.swap.max'] : ['memory', 'memory.memsw.limit_in_bytes'];
      await rm(join(dirOf(manager.paths(), controller), file));
      await assert.rejects(manager.apply(RESOURCES), {
        name: 'CgroupWriteError',
        message: `write ${file}=${mode === 'v2' ? 67108864 : 134217728}: ENOENT`,
      });
    });

    it('memory.checkBeforeUpdate refuses a limit below current usage and writes nothing', async () => {
      await manager.create();
      // The fixture's cgroup uses 4096 bytes.
      await assert.rejects(manager.apply({ pids: { limit: 3 }, memory: { limit: 1024, checkBeforeUpdate: true } }), {
        kind: 'failed-precondition',
        message: 'set memory limit 1024: the cgroup already uses 4096 bytes',
      });
      assert.equal(await fixture.read(dirOf(manager.paths(), mode === 'v2' ? '' : 'pids'), 'pids.max'), 'max');
      await manager.apply({ memory: { limit: 8192, checkBeforeUpdate: true } });
    });

    it('addProcess puts a process in every hierarchy and pids lists it', async () => {
      await manager.create();
      const child = sleeper();
      await manager.addProcess(child.pid!);
      assert.deepEqual(await manager.pids(), [child.pid]);
      for (const file of manager.procsFiles()) assert.equal((await fixture.read(file, '')).trim(), String(child.pid));
    });

    it('freeze and thaw settle and state reports them', async () => {
      await manager.create();
      assert.equal(await manager.state(), 'thawed');
      await manager.freeze({ timeoutMs: 2000 });
      assert.equal(await manager.state(), 'frozen');
      await manager.thaw({ timeoutMs: 2000 });
      assert.equal(await manager.state(), 'thawed');
    });

    it('killAll with SIGTERM reaches every member and leaves the cgroup thawed', async () => {
      await manager.create();
      const child = sleeper();
      await manager.addProcess(child.pid!);
      await manager.killAll('SIGTERM');
      assert.equal(await exitOf(child), 'SIGTERM');
      assert.equal(await manager.state(), 'thawed');
    });

    it('stats reports memory, cpu and pids in the common shape', async () => {
      await manager.create();
      await manager.apply(RESOURCES);
      const stats = await manager.stats();
      assert.equal(stats.memory?.usage, 4096);
      assert.equal(stats.memory?.limit, 64 * 1024 * 1024);
      assert.equal(stats.memory?.maxUsage, 8192);
      assert.equal(stats.cpu?.usageTotal, 30000 / (mode === 'v2' ? 1 : 10));
      assert.equal(stats.cpu?.throttling.throttledPeriods, 2);
      assert.deepEqual(stats.pids, { current: 0, limit: 32 });
      assert.deepEqual(
        stats.blockIO?.serviceBytes.filter((entry) => entry.op === 'read'),
        [{ major: 8, minor: 0, op: 'read', value: 512 }],
      );
    });

    it('oomKills reads the OOM killer\'s count alone', async () => {
      await manager.create();
      const memory = dirOf(manager.paths(), mode === 'v2' ? '' : 'memory');
      if (mode === 'v2') await fixture.write(memory, 'memory.events', 'low 0\nhigh 0\nmax 3\noom 2\noom_kill 2');
      else await fixture.write(memory, 'memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 2');
      assert.equal(await manager.oomKills(), 2);
      assert.equal(await manager.oomKills(), (await manager.stats()).memory?.oomKill);
    });

    it('a manager loaded from paths() drives the same cgroup', async () => {
      await manager.create();
      const loaded = loadCgroupManager(JSON.parse(JSON.stringify(manager.paths())) as CgroupPaths, { removeDir: fixture.removeDir });
      assert.deepEqual(loaded.paths(), manager.paths());
      await loaded.apply({ pids: { limit: 7 } });
      assert.equal(await fixture.read(dirOf(manager.paths(), mode === 'v2' ? '' : 'pids'), 'pids.max'), '7');
    });

    it('destroy removes sub-cgroups first, and a second destroy is fine', async () => {
      await manager.create();
      const paths = manager.paths();
      const anyDir = Object.values(paths.dirs)[0]!;
      await fixture.seedCgroup(join(anyDir, 'nested'), [], mode === 'v2' ? 2 : 1);
      await manager.destroy();
      for (const dir of Object.values(paths.dirs)) assert.equal(await exists(dir), false, `${dir} removed`);
      assert.equal(await exists(join(fixture.root, Object.keys(paths.dirs).length > 1 ? 'memory' : 'v2', 'berth')), true, 'parent kept');
      await manager.destroy();
    });

    it('destroy with a live process fails as a conflict after retrying', async () => {
      await manager.create();
      const child = sleeper();
      await manager.addProcess(child.pid!);
      await assert.rejects(manager.destroy(), { kind: 'conflict', message: /EBUSY/ });
    });
  });
}
