import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cgroupMountSources } from './cgroup.ts';

test('a hybrid host shows the legacy hierarchies, named as in /sys/fs/cgroup, and not the unified one', () => {
  const sources = cgroupMountSources({
    mode: 'hybrid',
    path: '/berth/c1',
    dirs: {
      memory: '/sys/fs/cgroup/memory/berth/c1',
      'name=systemd': '/sys/fs/cgroup/systemd/berth/c1',
      '': '/sys/fs/cgroup/unified/berth/c1',
    },
  });
  assert.deepEqual(sources, [
    { name: 'memory', hostPath: '/sys/fs/cgroup/memory/berth/c1' },
    { name: 'systemd', hostPath: '/sys/fs/cgroup/systemd/berth/c1' },
  ]);
});

test('a cgroup v2 host shows the container cgroup itself', () => {
  const sources = cgroupMountSources({ mode: 'v2', path: '/berth/c1', dirs: { '': '/sys/fs/cgroup/berth/c1' } });
  assert.deepEqual(sources, [{ name: '', hostPath: '/sys/fs/cgroup/berth/c1' }]);
});
