import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DiskUsageLike } from '../backend.ts';
import { dfRows } from './system.ts';

test('system df rows: active and reclaimable as the docker CLI counts them', () => {
  const container = (state: string, sizeRw: number) => ({ Id: 'x', Names: ['/x'], Image: 'busybox', Command: 'true', Created: 0, State: state, Status: '', SizeRw: sizeRw });
  const usage: DiskUsageLike = {
    LayersSize: 2000,
    Images: [],
    Reclaimable: 500,
    Containers: [container('running', 100), container('paused', 50), container('exited', 300)],
    Volumes: [
      { Name: 'used', UsageData: { Size: 1000, RefCount: 1 } },
      { Name: 'idle', UsageData: { Size: 3000, RefCount: 0 } },
      { Name: 'unsized', UsageData: { Size: -1, RefCount: 0 } },
    ],
    BuildCache: [
      { ID: 'a', Type: 'regular', Size: 10, CreatedAt: '', UsageCount: 1, InUse: true, Shared: false },
      { ID: 'b', Type: 'regular', Size: 20, CreatedAt: '', UsageCount: 1, InUse: false, Shared: false },
      { ID: 'c', Type: 'regular', Size: 40, CreatedAt: '', UsageCount: 1, InUse: false, Shared: true },
    ],
  };
  assert.deepEqual(dfRows(usage), [
    { Type: 'Images', TotalCount: '0', Active: '0', Size: '2kB', Reclaimable: '500B (25%)' },
    { Type: 'Containers', TotalCount: '3', Active: '2', Size: '450B', Reclaimable: '300B (66%)' },
    { Type: 'Local Volumes', TotalCount: '3', Active: '1', Size: '4kB', Reclaimable: '3kB (75%)' },
    { Type: 'Build Cache', TotalCount: '3', Active: '1', Size: '30B', Reclaimable: '20B' },
  ]);
});

test('system df without a daemon: only images count', () => {
  const rows = dfRows({ LayersSize: 0, Images: [], Reclaimable: 0 });
  assert.deepEqual(rows.slice(1).map((r) => [r.TotalCount, r.Size]), [['0', '0B'], ['0', '0B'], ['0', '0B']]);
});
