/** The DEVICE_FILTER step as it goes on the wire, and when there is none (no root needed). */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CgroupV2Manager, deviceFilterBytes, loadCgroupManager, parseCgroupsPath } from '../cgroups/index.ts';
import type { DeviceCgroup } from '../oci/runtime-spec.ts';
import { applyDeviceFilter, deviceFilterSteps } from './device-filter.ts';
import { Op, encodePlan } from './plan/plan.ts';

const rules: DeviceCgroup[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
];
const v2 = CgroupV2Manager.open('/sys/fs/cgroup', parseCgroupsPath('/berth/df', 'df'));

describe('deviceFilterSteps', () => {
  it('is one DEVICE_FILTER record: op 55, the cgroup dir as str, the program as raw bpf_insn bytes', () => {
    const steps = deviceFilterSteps(v2, { devices: rules });
    assert.equal(steps.length, 1);
    const wire = encodePlan(steps);
    const program = deviceFilterBytes(rules);
    const dir = Buffer.from('/sys/fs/cgroup/berth/df\0');
    assert.equal(Op.DEVICE_FILTER, 55);
    assert.equal(wire.toString('latin1', 0, 8), 'BRTHPLN1');
    assert.equal(wire.readUInt32LE(8), wire.length);
    assert.equal(wire.readUInt32LE(12), 1);
    assert.equal(wire.readUInt32LE(16), 55);
    assert.equal(wire.readUInt32LE(20), 2);
    assert.equal(wire.readUInt32LE(24), dir.length);
    assert.deepEqual(wire.subarray(28, 28 + dir.length), dir);
    const at = 28 + dir.length;
    assert.equal(wire.readUInt32LE(at), program.length);
    assert.equal(program.length % 8, 0);
    assert.deepEqual(wire.subarray(at + 4), program);
  });

  it('is nothing without device rules, or where v1 applied them itself', () => {
    assert.deepEqual(deviceFilterSteps(v2, { pids: { limit: 5 } }), []);
    const v1 = loadCgroupManager({ mode: 'hybrid', path: '/berth/df', dirs: { devices: '/sys/fs/cgroup/devices/berth/df' } });
    assert.deepEqual(deviceFilterSteps(v1, { devices: rules }), []);
  });

  it('refuses an invalid rule while building the step', () => {
    assert.throws(() => deviceFilterSteps(v2, { devices: [{ allow: true, access: 'rwx' }] }), { kind: 'invalid-argument' });
  });
});

describe('applyDeviceFilter', () => {
  it('starts no shim when there is nothing to attach', async () => {
    await applyDeviceFilter(v2, {}, { shimPath: '/nonexistent/berth-shim' });
  });

  it('reports a shim that cannot start', async () => {
    await assert.rejects(applyDeviceFilter(v2, { devices: rules }, { shimPath: '/nonexistent/berth-shim' }), {
      kind: 'unavailable',
      message: /spawn \/nonexistent\/berth-shim/,
    });
  });
});
