/** CgroupV1Manager on tmpdir cgroupfs: the conformance suite (v1 and hybrid) and v1-specific behaviour. */

import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { CgroupfsFixture } from '../cgroupfs-fixture.ts';
import { createCgroupfsFixture } from '../cgroupfs-fixture.ts';
import { runManagerSuite } from '../manager.suite.ts';
import { CgroupV1Manager } from './v1-manager.ts';
import { parseCgroupsPath } from '../cgroups-path.ts';

runManagerSuite('v1');
runManagerSuite('hybrid');

describe('CgroupV1Manager', () => {
  let fixture: CgroupfsFixture | undefined;
  afterEach(async () => {
    await fixture?.cleanup();
    fixture = undefined;
  });

  async function open(mode: 'v1' | 'hybrid', path = '/berth/c1'): Promise<[CgroupfsFixture, CgroupV1Manager]> {
    fixture = await createCgroupfsFixture(mode);
    await fixture.seedContainer(path);
    return [fixture, CgroupV1Manager.open(fixture.layout, parseCgroupsPath(path, 'c1'), { removeDir: fixture.removeDir })];
  }

  it('co-mounted controllers share one directory, and every hierarchy gets the pid', async () => {
    const [fx, manager] = await open('v1');
    const paths = manager.paths();
    assert.equal(paths.dirs.cpu, paths.dirs.cpuacct);
    assert.equal(paths.dirs['name=systemd'], join(fx.root, 'systemd/berth/c1'));
    assert.equal(manager.procsFiles().length, 8);
  });

  it('hybrid: hugetlb, bound only to cgroup2, is written as v2 files in the unified directory', async () => {
    const [fx, manager] = await open('hybrid');
    await manager.create();
    const paths = manager.paths();
    assert.deepEqual(paths.unifiedControllers, ['hugetlb']);
    const unified = paths.dirs['']!;
    assert.equal(unified, join(fx.root, 'unified/berth/c1'));
    // Delegation happens only when a hugetlb limit asks for it, from the root to the parent.
    await manager.apply({ pids: { limit: 3 } });
    assert.equal(await fx.read(join(fx.root, 'unified'), 'cgroup.subtree_control'), '');
    await manager.apply({ hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }] });
    assert.equal(await fx.read(join(fx.root, 'unified'), 'cgroup.subtree_control'), '+hugetlb');
    assert.equal(await fx.read(join(fx.root, 'unified/berth'), 'cgroup.subtree_control'), '+hugetlb');
    assert.equal(await fx.read(unified, 'cgroup.subtree_control'), '');
    assert.equal(await fx.read(unified, 'hugetlb.2MB.max'), '4194304');
    assert.ok(manager.procsFiles().includes(join(unified, 'cgroup.procs')));
    const stats = await manager.stats();
    assert.deepEqual(stats.hugetlb, { '2MB': { usage: 0, failcnt: 0 } });
  });

  it('a hybrid manager loaded from its paths still delegates and writes hugetlb in the unified dir', async () => {
    const [fx, manager] = await open('hybrid');
    await manager.create();
    const loaded = CgroupV1Manager.load(JSON.parse(JSON.stringify(manager.paths())), { removeDir: fx.removeDir });
    await loaded.apply({ hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }] });
    assert.equal(await fx.read(join(fx.root, 'unified'), 'cgroup.subtree_control'), '+hugetlb');
    assert.equal(await fx.read(manager.paths().dirs['']!, 'hugetlb.2MB.max'), '2097152');
  });

  it('killAll with SIGKILL on a paused container thaws it so the processes can die', async () => {
    const [, manager] = await open('v1');
    await manager.create();
    await manager.freeze();
    await manager.killAll('SIGKILL');
    assert.equal(await manager.state(), 'thawed');
  });

  it('an invalid resource is refused before anything is written', async () => {
    const [fx, manager] = await open('v1');
    await manager.create();
    await assert.rejects(manager.apply({ pids: { limit: 5 }, memory: { limit: 100, swap: 50 } }), { kind: 'invalid-argument' });
    assert.equal(await fx.read(manager.paths().dirs.pids!, 'pids.max'), 'max');
  });

  it('pure v1 without a hugetlb hierarchy refuses hugetlb limits by name', async () => {
    const [, manager] = await open('v1');
    await manager.create();
    await assert.rejects(manager.apply({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }), {
      kind: 'failed-precondition',
      message: 'set hugetlb.2MB.limit_in_bytes: the hugetlb cgroup controller is not mounted',
    });
  });

  it('new cpuset directories inherit cpus and mems from the root before their own values', async () => {
    const [fx, manager] = await open('v1');
    await manager.create();
    const cpuset = manager.paths().dirs.cpuset!;
    for (const dir of [join(fx.root, 'cpuset/berth'), cpuset]) {
      assert.equal(await fx.read(dir, 'cpuset.cpus'), '0-1');
      assert.equal(await fx.read(dir, 'cpuset.mems'), '0');
    }
    await manager.apply({ cpu: { cpus: '1' } });
    assert.equal(await fx.read(cpuset, 'cpuset.cpus'), '1');
    assert.equal(await fx.read(join(fx.root, 'cpuset/berth'), 'cpuset.cpus'), '0-1');
  });

  it('an update with swap reads the current limit and lands both values', async () => {
    const [fx, manager] = await open('v1');
    await manager.create();
    const memory = manager.paths().dirs.memory!;
    await manager.apply({ memory: { limit: 100, swap: 200 } });
    await manager.apply({ memory: { limit: 300, swap: 600 } });
    assert.equal(await fx.read(memory, 'memory.limit_in_bytes'), '300');
    assert.equal(await fx.read(memory, 'memory.memsw.limit_in_bytes'), '600');
  });

  it('blkio weight goes to blkio.bfq.weight on a kernel without cfq', async () => {
    const [fx, manager] = await open('v1');
    await manager.create();
    await manager.apply({ blockIO: { weight: 500 } });
    assert.equal(await fx.read(manager.paths().dirs.blkio!, 'blkio.bfq.weight'), '500');
  });

  it('blkio weight with neither weight file fails naming both', async () => {
    const [, manager] = await open('v1');
    await manager.create();
    await rm(join(manager.paths().dirs.blkio!, 'blkio.bfq.weight'));
    await assert.rejects(manager.apply({ blockIO: { weight: 500 } }), /neither blkio\.weight nor blkio\.bfq\.weight exists/);
  });

  it('devices are replayed from deny-all into devices.deny and devices.allow', async () => {
    const [fx, manager] = await open('v1');
    await manager.create();
    await manager.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
    const dir = manager.paths().dirs.devices!;
    // A plain file keeps only the last write of each: the last deny and the last allow.
    assert.equal(await fx.read(dir, 'devices.deny'), 'a *:* rwm');
    assert.equal(await fx.read(dir, 'devices.allow'), 'c 1:3 rwm');
  });

  it('net_cls requested without the controller mounted, and unified on v1, are clear errors', async () => {
    const [, manager] = await open('hybrid');
    await manager.create();
    await assert.rejects(manager.apply({ network: { classID: 1 } }), {
      message: 'set net_cls.classid: the net_cls cgroup controller is not mounted',
    });
    await assert.rejects(manager.apply({ unified: { 'memory.high': '1' } }), {
      kind: 'failed-precondition',
      message: /managed as cgroup v1/,
    });
  });

  it('a relative cgroupsPath lands under the caller’s own cgroup in each hierarchy', async () => {
    fixture = await createCgroupfsFixture('v1');
    const layout = { ...fixture.layout, self: new Map([['memory', '/process_api/x'], ['cpu', '/']]) };
    const manager = CgroupV1Manager.open(layout, parseCgroupsPath('sub/c1', 'c1'));
    assert.equal(manager.paths().dirs.memory, join(fixture.root, 'memory/process_api/x/sub/c1'));
    assert.equal(manager.paths().dirs.cpu, join(fixture.root, 'cpu,cpuacct/sub/c1'));
    assert.equal(manager.paths().dirs.pids, join(fixture.root, 'pids/sub/c1'));
  });
});
