/** Tests for the v2 memory mapping: OCI memory+swap → memory.swap.max. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkMemoryBeforeUpdate, swapMaxValue, v2MemoryWrites } from './memory.ts';

describe('v2 memory mapping', () => {
  it('memory.swap.max is the OCI memory+swap minus the limit', () => {
    assert.equal(swapMaxValue(300, 100), 200);
    assert.equal(swapMaxValue(100, 100), 0);
    assert.equal(swapMaxValue(-1, 100), -1);
    assert.equal(swapMaxValue(0, 100), undefined);
    assert.equal(swapMaxValue(0, -1), -1);
  });

  it('swap without a memory limit, or below it, is refused', () => {
    assert.throws(() => swapMaxValue(300, 0), /needs a memory limit/);
    assert.throws(() => swapMaxValue(300, -1), /needs a memory limit/);
    assert.throws(() => swapMaxValue(50, 100), /lower than the memory limit/);
  });

  it('writes swap.max, max and low; v1-only knobs are ignored like runc does', () => {
    assert.deepEqual(
      v2MemoryWrites({ limit: 100, swap: 300, reservation: 50, kernel: 1, kernelTCP: 1, swappiness: 10, disableOOMKiller: true }),
      [
        { file: 'memory.swap.max', value: '200' },
        { file: 'memory.max', value: '100' },
        { file: 'memory.low', value: '50' },
      ],
    );
    assert.deepEqual(v2MemoryWrites({ limit: -1 }), [
      { file: 'memory.swap.max', value: 'max' },
      { file: 'memory.max', value: 'max' },
    ]);
  });

  it('checkBeforeUpdate refuses a limit below current usage, and only when asked', () => {
    assert.throws(() => checkMemoryBeforeUpdate({ limit: 100, checkBeforeUpdate: true }, 4096), {
      kind: 'failed-precondition',
      message: 'set memory limit 100: the cgroup already uses 4096 bytes',
    });
    checkMemoryBeforeUpdate({ limit: 100 }, 4096);
    checkMemoryBeforeUpdate({ limit: 8192, checkBeforeUpdate: true }, 4096);
    checkMemoryBeforeUpdate({ limit: -1, checkBeforeUpdate: true }, 4096);
  });
});
