/** CgroupV2Manager on tmpdir cgroupfs: the conformance suite and v2-specific behaviour. */

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { CgroupfsFixture } from '../cgroupfs-fixture.ts';
import { createCgroupfsFixture } from '../cgroupfs-fixture.ts';
import { parseCgroupsPath } from '../cgroups-path.ts';
import { runManagerSuite } from '../manager.suite.ts';
import { deviceFilterBytes } from './devices.ts';
import { CgroupV2Manager } from './v2-manager.ts';

runManagerSuite('v2');

describe('CgroupV2Manager', () => {
  let fixture: CgroupfsFixture;
  let manager: CgroupV2Manager;
  let dir: string;

  beforeEach(async () => {
    fixture = await createCgroupfsFixture('v2');
    await fixture.seedContainer('/berth/c2');
    manager = CgroupV2Manager.open(join(fixture.root, 'v2'), parseCgroupsPath('/berth/c2', 'c2'), { removeDir: fixture.removeDir });
    dir = join(fixture.root, 'v2/berth/c2');
  });

  afterEach(() => fixture.cleanup());

  it('create delegates every available controller from the root down to the parent only', async () => {
    await manager.create();
    const all = '+cpuset +cpu +io +memory +hugetlb +pids';
    assert.equal(await fixture.read(join(fixture.root, 'v2'), 'cgroup.subtree_control'), all);
    assert.equal(await fixture.read(join(fixture.root, 'v2/berth'), 'cgroup.subtree_control'), all);
    assert.equal(await fixture.read(dir, 'cgroup.subtree_control'), '');
  });

  it('killAll with SIGKILL uses cgroup.kill', async () => {
    await manager.create();
    await manager.killAll('SIGKILL');
    assert.equal(await fixture.read(dir, 'cgroup.kill'), '1');
  });

  it('hybrid-only and v1-only resources are refused by name', async () => {
    await manager.create();
    await assert.rejects(manager.apply({ network: { classID: 1 } }), /net_cls and net_prio exist only in cgroup v1/);
  });

  it('unified values are written after the mapped ones and win', async () => {
    await manager.create();
    await manager.apply({ pids: { limit: 5 }, unified: { 'pids.max': '9', 'memory.high': '1000' } });
    assert.equal(await fixture.read(dir, 'pids.max'), '9');
    assert.equal(await fixture.read(dir, 'memory.high'), '1000');
  });

  it('io throttles and hugetlb limits land in io.max and hugetlb.<size>.max', async () => {
    await manager.create();
    await manager.apply({
      blockIO: { weight: 100, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 10 }] },
      hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }],
    });
    assert.equal(await fixture.read(dir, 'io.weight'), String(1 + Math.floor((90 * 9999) / 990)));
    assert.equal(await fixture.read(dir, 'io.max'), '8:0 rbps=10');
    assert.equal(await fixture.read(dir, 'hugetlb.2MB.max'), '2097152');
  });

  it('device rules become a filter for the shim to attach; apply only checks them', async () => {
    await manager.create();
    const rules = [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }];
    await manager.apply({ devices: rules, pids: { limit: 7 } });
    assert.equal(await fixture.read(dir, 'pids.max'), '7');
    const filter = manager.deviceFilter({ devices: rules });
    assert.equal(filter?.dir, dir);
    assert.deepEqual(filter?.program, deviceFilterBytes(rules));
    assert.equal(manager.deviceFilter({ pids: { limit: 7 } }), undefined);
    // An explicit empty list denies everything (v1 starts from deny-all too): prologue, r0 = 0, exit.
    assert.equal(manager.deviceFilter({ devices: [] })?.program.length, 8 * 8);
  });

  it('an invalid device rule fails apply before anything is written', async () => {
    await manager.create();
    await assert.rejects(manager.apply({ pids: { limit: 3 }, devices: [{ allow: true, access: 'x' }] }), { kind: 'invalid-argument' });
    assert.notEqual(await fixture.read(dir, 'pids.max'), '3');
  });

  it('load refuses paths recorded on a v1 host', () => {
    assert.throws(() => CgroupV2Manager.load({ mode: 'hybrid', path: '/x', dirs: { '': '/x' } }), { kind: 'invalid-argument' });
  });
});
