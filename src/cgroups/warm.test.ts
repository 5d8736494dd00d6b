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

test('keeping the lock warm writes our pid to our own cgroup.procs until the window has passed', async () => {
  const { mkdtemp, mkdir, readFile, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { setTimeout: sleep } = await import('node:timers/promises');
  const { keepCgroupMigrationWarm } = await import('./warm.ts');
  const root = await mkdtemp(join(tmpdir(), 'berth-warm-'));
  try {
    // a stand-in hierarchy: a plain file where cgroupfs would have cgroup.procs
    await mkdir(join(root, 'pids', 'daemons'), { recursive: true });
    const procs = join(root, 'pids', 'daemons', 'cgroup.procs');
    await writeFile(procs, '');
    const layout = parseLayout({ mountinfo: `39 31 0:36 / ${root}/pids rw,relatime - cgroup cgroup rw,pids\n`, cgroup: '3:pids:/daemons\n', v2Controllers: '' });
    keepCgroupMigrationWarm(layout, 300);
    await sleep(50);
    // one fd for every write: on a plain file they follow one another (cgroupfs takes each alone)
    const pid = String(process.pid);
    const early = await readFile(procs, 'utf8');
    assert.match(early, new RegExp(`^(${pid}){2,}$`), 'several no-op migrations of this process');
    await sleep(450);
    const done = (await readFile(procs, 'utf8')).length;
    assert.ok(done > early.length, 'still writing inside the window');
    await sleep(100);
    assert.equal((await readFile(procs, 'utf8')).length, done, 'no writes once the window has passed');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
