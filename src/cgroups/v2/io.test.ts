/** Tests for the v2 io, pids, hugetlb and unified mappings. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blkioWeightToIOWeight, parseIOStat, v2IOWrites } from './io.ts';
import { v2PidsWrites } from './pids.ts';
import { v2HugetlbWrites } from './hugetlb.ts';
import { v2UnifiedWrites } from './unified.ts';

describe('v2 io, pids, hugetlb, unified mapping', () => {
  it('throttles of one device share one io.max line; rate 0 is max', () => {
    assert.deepEqual(
      v2IOWrites(
        {
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
          throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 0 }],
          throttleReadIOPSDevice: [{ major: 8, minor: 16, rate: 100 }],
          throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 50 }],
        },
        new Set(),
      ),
      [
        { file: 'io.max', value: '8:0 rbps=1048576 wbps=max wiops=50' },
        { file: 'io.max', value: '8:16 riops=100' },
      ],
    );
  });

  it('weights go to io.bfq.weight as is, or to io.weight converted to 1-10000', () => {
    assert.equal(blkioWeightToIOWeight(10), 1);
    assert.equal(blkioWeightToIOWeight(1000), 10000);
    assert.equal(blkioWeightToIOWeight(500), 4950);
    assert.deepEqual(v2IOWrites({ weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 100 }] }, new Set(['io.bfq.weight', 'io.weight'])), [
      { file: 'io.bfq.weight', value: '500' },
      { file: 'io.bfq.weight', value: '8:0 100' },
    ]);
    assert.deepEqual(v2IOWrites({ weight: 500 }, new Set(['io.weight'])), [{ file: 'io.weight', value: '4950' }]);
    assert.throws(() => v2IOWrites({ weight: 500 }, new Set()), { kind: 'failed-precondition' });
  });

  it('parses io.stat into bytes and operations', () => {
    const stats = parseIOStat('8:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0 dios=0\n');
    assert.deepEqual(stats.serviceBytes.map((entry) => [entry.op, entry.value]), [['read', 512], ['write', 1024], ['discard', 0]]);
    assert.deepEqual(stats.serviced.map((entry) => [entry.op, entry.value]), [['read', 1], ['write', 2], ['discard', 0]]);
  });

  it('pids ≤ 0 is max; hugetlb limits use .max files', () => {
    assert.deepEqual(v2PidsWrites({ limit: -1 }), [{ file: 'pids.max', value: 'max' }]);
    assert.deepEqual(v2HugetlbWrites([{ pageSize: '1GB', limit: 1073741824 }]), [{ file: 'hugetlb.1GB.max', value: '1073741824' }]);
  });

  it('unified passes plain cgroup files through and refuses paths and core files', () => {
    assert.deepEqual(v2UnifiedWrites({ 'memory.high': '1G', 'pids.max': '10' }), [
      { file: 'memory.high', value: '1G' },
      { file: 'pids.max', value: '10' },
    ]);
    assert.throws(() => v2UnifiedWrites({ '../x.y': '1' }), { kind: 'invalid-argument' });
    assert.throws(() => v2UnifiedWrites({ 'cgroup.procs': '1' }), { kind: 'invalid-argument' });
  });
});
