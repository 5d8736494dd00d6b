/** The cgroup.procs a warming write goes to: this process's own cgroup, in one hierarchy. */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLayout } from './layout.ts';
import { ownProcsFile } from './warm.ts';

const HYBRID_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

test('a v1 or hybrid host warms through a legacy hierarchy, at our own cgroup', () => {
  const layout = parseLayout({ mountinfo: HYBRID_MOUNTINFO, cgroup: '3:pids:/user.slice\n2:cpu:/daemons/berthd\n0::/\n', v2Controllers: 'hugetlb' });
  assert.equal(ownProcsFile(layout), '/sys/fs/cgroup/cpu/daemons/berthd/cgroup.procs');
});

test('a v2 host warms through the unified hierarchy', () => {
  const layout = parseLayout({
    mountinfo: '25 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n',
    cgroup: '0::/system.slice/berthd.service\n',
    v2Controllers: 'cpuset cpu io memory pids',
  });
  assert.equal(ownProcsFile(layout), '/sys/fs/cgroup/system.slice/berthd.service/cgroup.procs');
});
