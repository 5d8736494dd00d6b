/** Tests for the v1 cpu, cpuset, pids, hugetlb and net_cls/net_prio mappings. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { v1CpuWrites } from './cpu.ts';
import { v1CpusetWrites } from './cpuset.ts';
import { v1PidsWrites } from './pids.ts';
import { v1HugetlbWrites } from './hugetlb.ts';
import { v1NetClsWrites, v1NetPrioWrites } from './net-cls.ts';

describe('v1 cpu, cpuset, pids, hugetlb, net_cls mapping', () => {
  it('cpu: period before quota, burst after quota, rt period before runtime', () => {
    assert.deepEqual(v1CpuWrites({ shares: 512, quota: 50000, period: 20000, burst: 1000, realtimePeriod: 1000000, realtimeRuntime: 950000, idle: 1 }), [
      { file: 'cpu.shares', value: '512' },
      { file: 'cpu.cfs_period_us', value: '20000' },
      { file: 'cpu.cfs_quota_us', value: '50000' },
      { file: 'cpu.cfs_burst_us', value: '1000' },
      { file: 'cpu.rt_period_us', value: '1000000' },
      { file: 'cpu.rt_runtime_us', value: '950000' },
      { file: 'cpu.idle', value: '1' },
    ]);
    assert.deepEqual(v1CpuWrites({ quota: -5 }), [{ file: 'cpu.cfs_quota_us', value: '-1' }]);
  });

  it('cpuset, pids (≤ 0 is max), hugetlb per page size', () => {
    assert.deepEqual(v1CpusetWrites({ cpus: '0-1', mems: '0' }), [
      { file: 'cpuset.cpus', value: '0-1' },
      { file: 'cpuset.mems', value: '0' },
    ]);
    assert.deepEqual(v1PidsWrites({ limit: 0 }), [{ file: 'pids.max', value: 'max' }]);
    assert.deepEqual(v1PidsWrites({ limit: -1 }), [{ file: 'pids.max', value: 'max' }]);
    assert.deepEqual(v1PidsWrites({ limit: 100 }), [{ file: 'pids.max', value: '100' }]);
    assert.deepEqual(v1HugetlbWrites([{ pageSize: '2MB', limit: 4194304 }]), [{ file: 'hugetlb.2MB.limit_in_bytes', value: '4194304' }]);
    assert.throws(() => v1HugetlbWrites([{ pageSize: '../2MB', limit: 1 }]), { kind: 'invalid-argument' });
  });

  it('net_cls class id and one net_prio line per interface', () => {
    const network = { classID: 0x100001, priorities: [{ name: 'eth0', priority: 5 }, { name: 'lo', priority: 1 }] };
    assert.deepEqual(v1NetClsWrites(network), [{ file: 'net_cls.classid', value: '1048577' }]);
    assert.deepEqual(v1NetPrioWrites(network), [
      { file: 'net_prio.ifpriomap', value: 'eth0 5' },
      { file: 'net_prio.ifpriomap', value: 'lo 1' },
    ]);
  });
});
