/** Tests for the v2 cpu mapping: shares → weight and cpu.max. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuMaxValue, cpuSharesToWeight, v2CpusetWrites, v2CpuWrites } from './cpu.ts';

describe('v2 cpu mapping', () => {
  it('shares convert to weight with the runc/crun linear formula', () => {
    assert.equal(cpuSharesToWeight(0), 0);
    assert.equal(cpuSharesToWeight(2), 1);
    assert.equal(cpuSharesToWeight(1024), 39);
    assert.equal(cpuSharesToWeight(512), 20);
    assert.equal(cpuSharesToWeight(262144), 10000);
  });

  it('cpu.max holds quota and period, max when there is no quota, default period 100ms', () => {
    assert.equal(cpuMaxValue(50000, 100000), '50000 100000');
    assert.equal(cpuMaxValue(50000, undefined), '50000 100000');
    assert.equal(cpuMaxValue(-1, 20000), 'max 20000');
    assert.equal(cpuMaxValue(undefined, 20000), 'max 20000');
    assert.equal(cpuMaxValue(undefined, undefined), undefined);
  });

  it('writes weight, cpu.max, then burst and idle; cpuset apart', () => {
    assert.deepEqual(v2CpuWrites({ shares: 1024, quota: 20000, burst: 5000, idle: 0, cpus: '0', mems: '0' }), [
      { file: 'cpu.weight', value: '39' },
      { file: 'cpu.max', value: '20000 100000' },
      { file: 'cpu.max.burst', value: '5000' },
      { file: 'cpu.idle', value: '0' },
    ]);
    assert.deepEqual(v2CpusetWrites({ cpus: '0', mems: '0' }), [
      { file: 'cpuset.cpus', value: '0' },
      { file: 'cpuset.mems', value: '0' },
    ]);
  });

  it('realtime budgets do not exist in v2 and are refused', () => {
    assert.throws(() => v2CpuWrites({ realtimeRuntime: 1000 }), { kind: 'failed-precondition' });
  });
});
