/** Tests for layout detection on sample mountinfo of v1, hybrid and v2 hosts. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLayout } from './layout.ts';

/** CentOS 7 style: every controller in v1, some co-mounted, no cgroup2. */
const V1_MOUNTINFO = `
22 17 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
23 22 0:21 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
26 22 0:24 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
27 22 0:25 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,net_cls,net_prio
28 22 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
29 22 0:27 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpuset,clone_children
30 22 0:28 / /sys/fs/cgroup/hugetlb rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,hugetlb
`;

const V1_CGROUP = `11:hugetlb:/
10:cpuset:/
9:memory:/user.slice
4:net_cls,net_prio:/
3:cpu,cpuacct:/user.slice
1:name=systemd:/user.slice/session-1.scope
`;

/** This VM: v1 controllers each on their own mount, cgroup2 beside them holding hugetlb. */
const HYBRID_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

const HYBRID_CGROUP = `9:name=systemd:/
8:pids:/
4:memory:/process_api/8a39
1:cpu:/
0::/
`;

/** Debian 12: unified only. */
const V2_MOUNTINFO = `25 21 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
40 25 0:22 / /run/bound\\040cgroup rw,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
`;

describe('parseLayout', () => {
  it('a v1 host maps co-mounted controllers and named hierarchies to their mount point', () => {
    const layout = parseLayout({ mountinfo: V1_MOUNTINFO, cgroup: V1_CGROUP });
    assert.equal(layout.mode, 'v1');
    assert.equal(layout.v2Root, undefined);
    assert.deepEqual(Object.fromEntries(layout.v1), {
      'name=systemd': '/sys/fs/cgroup/systemd',
      cpu: '/sys/fs/cgroup/cpu,cpuacct',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
      net_cls: '/sys/fs/cgroup/net_cls,net_prio',
      net_prio: '/sys/fs/cgroup/net_cls,net_prio',
      memory: '/sys/fs/cgroup/memory',
      cpuset: '/sys/fs/cgroup/cpuset',
      hugetlb: '/sys/fs/cgroup/hugetlb',
    });
    assert.equal(layout.self.get('cpuacct'), '/user.slice');
    assert.equal(layout.self.get('name=systemd'), '/user.slice/session-1.scope');
  });

  it('a hybrid host keeps both sides and the controllers cgroup2 offers', () => {
    const layout = parseLayout({ mountinfo: HYBRID_MOUNTINFO, cgroup: HYBRID_CGROUP, v2Controllers: 'hugetlb\n' });
    assert.equal(layout.mode, 'hybrid');
    assert.equal(layout.v2Root, '/sys/fs/cgroup/unified');
    assert.deepEqual(layout.v2Controllers, ['hugetlb']);
    assert.equal(layout.v1.get('cpu'), '/sys/fs/cgroup/cpu');
    assert.equal(layout.v1.get('cpuacct'), '/sys/fs/cgroup/cpuacct');
    assert.equal(layout.v1.get('name=systemd'), '/sys/fs/cgroup/systemd');
    assert.equal(layout.v1.has('hugetlb'), false);
    assert.equal(layout.v1.size, 9);
    assert.equal(layout.self.get('memory'), '/process_api/8a39');
    assert.equal(layout.self.get(''), '/');
  });

  it('a unified host is v2, with the first cgroup2 mount as root and escapes decoded', () => {
    const layout = parseLayout({ mountinfo: V2_MOUNTINFO, cgroup: '0::/user.slice/user-0.slice/session-3.scope\n', v2Controllers: 'cpuset cpu io memory hugetlb pids rdma misc' });
    assert.equal(layout.mode, 'v2');
    assert.equal(layout.v2Root, '/sys/fs/cgroup');
    assert.equal(layout.v1.size, 0);
    assert.equal(layout.v2Controllers.length, 8);
    assert.equal(layout.self.get(''), '/user.slice/user-0.slice/session-3.scope');
    const bound = parseLayout({ mountinfo: V2_MOUNTINFO.split('\n')[1]!, cgroup: '' });
    assert.equal(bound.v2Root, '/run/bound cgroup');
  });

  it('a cgroup2 host that keeps only a named v1 hierarchy for systemd is v2', () => {
    const mountinfo = `${V2_MOUNTINFO}\n50 25 0:40 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd`;
    assert.equal(parseLayout({ mountinfo, cgroup: '' }).mode, 'v2');
  });
});
