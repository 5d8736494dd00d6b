/** Tests for the v1 blkio mapping, including the BFQ fallback of kernels without CFQ. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBlkioRecursive, v1BlkioWrites } from './blkio.ts';

describe('v1BlkioWrites', () => {
  it('uses blkio.weight when the kernel still has CFQ', () => {
    assert.deepEqual(v1BlkioWrites({ weight: 500 }, new Set(['blkio.weight', 'blkio.bfq.weight'])), [{ file: 'blkio.weight', value: '500' }]);
  });

  it('falls back to the bfq files when the plain ones are absent', () => {
    const files = new Set(['blkio.bfq.weight', 'blkio.bfq.weight_device']);
    assert.deepEqual(v1BlkioWrites({ weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 300 }] }, files), [
      { file: 'blkio.bfq.weight', value: '500' },
      { file: 'blkio.bfq.weight_device', value: '8:0 300' },
    ]);
  });

  it('a weight with neither file present is a clear error', () => {
    assert.throws(() => v1BlkioWrites({ weight: 500 }, new Set()), {
      kind: 'failed-precondition',
      message: 'set blkio weight: neither blkio.weight nor blkio.bfq.weight exists (no cfq or bfq i/o scheduler in this kernel)',
    });
    assert.throws(() => v1BlkioWrites({ leafWeight: 500 }, new Set(['blkio.bfq.weight'])), /cfq only/);
  });

  it('throttles write one device per line to the throttle files', () => {
    assert.deepEqual(
      v1BlkioWrites(
        {
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }, { major: 8, minor: 16, rate: 10 }],
          throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
        },
        new Set(),
      ),
      [
        { file: 'blkio.throttle.read_bps_device', value: '8:0 1048576' },
        { file: 'blkio.throttle.read_bps_device', value: '8:16 10' },
        { file: 'blkio.throttle.write_iops_device', value: '8:0 100' },
      ],
    );
  });

  it('parses recursive stats, skipping the Total line', () => {
    assert.deepEqual(parseBlkioRecursive('8:0 Read 10\n8:0 Write 20\n8:0 Total 30\nTotal 30\n'), [
      { major: 8, minor: 0, op: 'read', value: 10 },
      { major: 8, minor: 0, op: 'write', value: 20 },
      { major: 8, minor: 0, op: 'total', value: 30 },
    ]);
  });
});
