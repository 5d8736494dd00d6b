/** Which hierarchies take the init at clone time (CLONE_INTO_CGROUP) and which by a cgroup.procs write. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cgroupPlacement } from './placement.ts';

describe('cgroupPlacement', () => {
  it('clones into the v2 directory of a pure v2 host and writes nothing', () => {
    const placement = cgroupPlacement(
      { mode: 'v2', path: '/berth/c1', dirs: { '': '/sys/fs/cgroup/berth/c1' } },
      ['/sys/fs/cgroup/berth/c1/cgroup.procs'],
    );
    assert.deepEqual(placement, { cloneInto: '/sys/fs/cgroup/berth/c1', procsFiles: [] });
  });

  it('writes every hierarchy of a hybrid host, the unified one too: the v1 ones need a migration anyway', () => {
    const placement = cgroupPlacement(
      {
        mode: 'hybrid',
        path: '/berth/c1',
        dirs: { cpu: '/sys/fs/cgroup/cpu/berth/c1', pids: '/sys/fs/cgroup/pids/berth/c1', '': '/sys/fs/cgroup/unified/berth/c1' },
        unifiedControllers: ['hugetlb'],
      },
      ['/sys/fs/cgroup/cpu/berth/c1/cgroup.procs', '/sys/fs/cgroup/pids/berth/c1/cgroup.procs', '/sys/fs/cgroup/unified/berth/c1/cgroup.procs'],
    );
    assert.equal(placement.cloneInto, undefined);
    assert.equal(placement.procsFiles.length, 3);
  });

  it('writes every hierarchy of a v1 host', () => {
    const files = ['/sys/fs/cgroup/cpu,cpuacct/berth/c1/cgroup.procs', '/sys/fs/cgroup/memory/berth/c1/cgroup.procs'];
    const placement = cgroupPlacement(
      { mode: 'v1', path: '/berth/c1', dirs: { cpu: '/sys/fs/cgroup/cpu,cpuacct/berth/c1', cpuacct: '/sys/fs/cgroup/cpu,cpuacct/berth/c1', memory: '/sys/fs/cgroup/memory/berth/c1' } },
      files,
    );
    assert.deepEqual(placement, { procsFiles: files });
  });
});
