/** Tests for the v1 memory mapping: swap math and the memory/memsw write order. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { v1MemoryWrites } from './memory.ts';

const MiB = 1024 * 1024;
const files = (writes: Array<{ file: string }>) => writes.map((write) => write.file);

describe('v1MemoryWrites', () => {
  it('OCI swap is memory+swap and goes to memsw verbatim; a fresh cgroup takes the limit first', () => {
    // A fresh cgroup's limit is unlimited: memsw 300M first would undercut it (EINVAL).
    assert.deepEqual(v1MemoryWrites({ limit: 100 * MiB, swap: 300 * MiB }, { limit: Infinity }), [
      { file: 'memory.limit_in_bytes', value: String(100 * MiB) },
      { file: 'memory.memsw.limit_in_bytes', value: String(300 * MiB) },
    ]);
  });

  it('raising limits writes memsw first so the new limit never exceeds the old memsw', () => {
    // old: limit 100M, memsw 200M; new limit 300M > old memsw.
    assert.deepEqual(files(v1MemoryWrites({ limit: 300 * MiB, swap: 600 * MiB }, { limit: 100 * MiB })), [
      'memory.memsw.limit_in_bytes',
      'memory.limit_in_bytes',
    ]);
  });

  it('lowering limits writes memory first so memsw never drops below the old limit', () => {
    // old: limit 100M, memsw 200M; new memsw 80M < old limit.
    assert.deepEqual(files(v1MemoryWrites({ limit: 50 * MiB, swap: 80 * MiB }, { limit: 100 * MiB })), [
      'memory.limit_in_bytes',
      'memory.memsw.limit_in_bytes',
    ]);
  });

  it('unlimited memory with no swap given lifts memsw too, memsw first', () => {
    assert.deepEqual(v1MemoryWrites({ limit: -1 }, { limit: 100 * MiB }), [
      { file: 'memory.memsw.limit_in_bytes', value: '-1' },
      { file: 'memory.limit_in_bytes', value: '-1' },
    ]);
  });

  it('swap below the limit is refused before anything is written', () => {
    assert.throws(() => v1MemoryWrites({ limit: 100, swap: 50 }, { limit: Infinity }), { kind: 'invalid-argument' });
  });

  it('reservation, kernelTCP, swappiness, oom killer and hierarchy map to their files; kernel is ignored', () => {
    assert.deepEqual(
      v1MemoryWrites({ reservation: 10, kernel: 99, kernelTCP: 20, swappiness: 0, disableOOMKiller: true, useHierarchy: true }, { limit: Infinity }),
      [
        { file: 'memory.soft_limit_in_bytes', value: '10' },
        { file: 'memory.kmem.tcp.limit_in_bytes', value: '20' },
        { file: 'memory.swappiness', value: '0' },
        { file: 'memory.oom_control', value: '1' },
        { file: 'memory.use_hierarchy', value: '1' },
      ],
    );
    assert.throws(() => v1MemoryWrites({ swappiness: 101 }, { limit: Infinity }), /outside 0-100/);
  });
});
