/**
 * Test support: a tmpdir posing as cgroupfs (youki's `set_fixture` idea). Plain directories do
 * not grow control files on mkdir, so the fixture seeds a container's directories before
 * `create()` with the files and defaults the kernel would show, and emulates the few kernel
 * behaviours the managers wait on: cgroup.events following cgroup.freeze, and rmdir refusing
 * a cgroup that still has children or processes. Not exported from index.ts.
 */

import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CgroupLayout, CgroupMode } from './layout.ts';
import { parseLayout } from './layout.ts';

/** Control files (with kernel defaults) a fresh cgroup of each v1 controller has. */
const V1_FILES: Record<string, Record<string, string>> = {
  cpu: { 'cpu.shares': '1024', 'cpu.cfs_period_us': '100000', 'cpu.cfs_quota_us': '-1', 'cpu.cfs_burst_us': '0', 'cpu.rt_period_us': '1000000', 'cpu.rt_runtime_us': '0', 'cpu.idle': '0', 'cpu.stat': 'nr_periods 7\nnr_throttled 2\nthrottled_time 5000' },
  cpuacct: { 'cpuacct.usage': '3000', 'cpuacct.usage_user': '2000', 'cpuacct.usage_sys': '1000' },
  cpuset: { 'cpuset.cpus': '', 'cpuset.mems': '' },
  memory: {
    'memory.limit_in_bytes': '9223372036854771712',
    'memory.memsw.limit_in_bytes': '9223372036854771712',
    'memory.soft_limit_in_bytes': '9223372036854771712',
    'memory.kmem.tcp.limit_in_bytes': '9223372036854771712',
    'memory.usage_in_bytes': '4096',
    'memory.max_usage_in_bytes': '8192',
    'memory.memsw.usage_in_bytes': '6144',
    'memory.failcnt': '0',
    'memory.swappiness': '60',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 0',
    'memory.use_hierarchy': '1',
    'memory.stat': 'cache 0\nrss 4096',
  },
  pids: { 'pids.max': 'max', 'pids.current': '0' },
  // This VM's kernel: no CFQ, so no blkio.weight; BFQ's weight files instead.
  blkio: {
    'blkio.bfq.weight': '100',
    'blkio.bfq.weight_device': '',
    'blkio.throttle.read_bps_device': '',
    'blkio.throttle.write_bps_device': '',
    'blkio.throttle.read_iops_device': '',
    'blkio.throttle.write_iops_device': '',
    'blkio.throttle.io_service_bytes_recursive': '8:0 Read 512\n8:0 Write 1024\nTotal 1536',
    'blkio.throttle.io_serviced_recursive': '8:0 Read 1\n8:0 Write 2\nTotal 3',
  },
  devices: { 'devices.allow': '', 'devices.deny': '', 'devices.list': 'a *:* rwm' },
  freezer: { 'freezer.state': 'THAWED' },
  hugetlb: { 'hugetlb.2MB.limit_in_bytes': '9223372036854771712', 'hugetlb.2MB.usage_in_bytes': '0', 'hugetlb.2MB.max_usage_in_bytes': '0', 'hugetlb.2MB.failcnt': '0' },
  'name=systemd': {},
};

const V2_CORE: Record<string, string> = {
  'cgroup.procs': '',
  'cgroup.freeze': '0',
  'cgroup.events': 'populated 0\nfrozen 0',
  'cgroup.kill': '',
  'cgroup.subtree_control': '',
  'cpu.stat': 'usage_usec 30\nuser_usec 20\nsystem_usec 10\nnr_periods 7\nnr_throttled 2\nthrottled_usec 5',
};

const V2_FILES: Record<string, Record<string, string>> = {
  cpu: { 'cpu.weight': '100', 'cpu.max': 'max 100000', 'cpu.max.burst': '0', 'cpu.idle': '0' },
  cpuset: { 'cpuset.cpus': '', 'cpuset.mems': '' },
  memory: { 'memory.max': 'max', 'memory.high': 'max', 'memory.low': '0', 'memory.swap.max': 'max', 'memory.current': '4096', 'memory.peak': '8192', 'memory.swap.current': '0', 'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1', 'memory.stat': 'anon 4096' },
  pids: { 'pids.max': 'max', 'pids.current': '0' },
  io: { 'io.max': '', 'io.weight': 'default 100', 'io.stat': '8:0 rbytes=512 wbytes=1024 rios=1 wios=2 dbytes=0 dios=0' },
  hugetlb: { 'hugetlb.2MB.max': 'max', 'hugetlb.2MB.current': '0', 'hugetlb.2MB.events': 'max 0' },
};

const V1_MOUNTS: Array<[string, string]> = [
  ['cpu,cpuacct', 'cpu,cpuacct'],
  ['cpuset', 'cpuset'],
  ['memory', 'memory'],
  ['devices', 'devices'],
  ['freezer', 'freezer'],
  ['blkio', 'blkio'],
  ['pids', 'pids'],
  ['name=systemd', 'systemd'],
];

export interface CgroupfsFixture {
  root: string;
  layout: CgroupLayout;
  /** Gives `dir` the files a fresh cgroup has; `controllers` are those of its hierarchy. */
  seedCgroup(dir: string, controllers: readonly string[], version: 1 | 2): Promise<void>;
  /** Seeds every hierarchy's directories from the root down to `path` (absolute cgroupsPath). */
  seedContainer(path: string): Promise<void>;
  read(dir: string, file: string): Promise<string>;
  write(dir: string, file: string, value: string): Promise<void>;
  /** cgroupfs rmdir semantics: EBUSY with children or processes, else the whole directory goes. */
  removeDir(dir: string): Promise<void>;
  cleanup(): Promise<void>;
}

function busy(dir: string): Error {
  return Object.assign(new Error(`rmdir ${dir}: EBUSY`), { code: 'EBUSY' });
}

/**
 * A fake host: `v1` has legacy hierarchies only (cpu,cpuacct co-mounted), `hybrid` adds a cgroup2
 * mount offering hugetlb (as this VM does), `v2` is a unified host offering every controller.
 */
export async function createCgroupfsFixture(mode: CgroupMode): Promise<CgroupfsFixture> {
  const root = await mkdtemp(join(tmpdir(), `berth-cgroupfs-${mode}-`));
  // The kernel reports the frozen state in cgroup.events once it has been reached; a timer
  // mirrors cgroup.freeze there (file watching coalesces the truncate and the write, and misses).
  const v2Dirs = new Set<string>();
  const mirror = setInterval(() => {
    for (const dir of v2Dirs) {
      try {
        const frozen = readFileSync(join(dir, 'cgroup.freeze'), 'utf8').trim() === '1' ? 1 : 0;
        writeFileSync(join(dir, 'cgroup.events'), `populated 0\nfrozen ${frozen}`);
      } catch {
        v2Dirs.delete(dir);
      }
    }
  }, 5);
  mirror.unref();
  const lines: string[] = [];
  let id = 30;
  if (mode !== 'v2') {
    for (const [options, name] of V1_MOUNTS) {
      lines.push(`${id} 1 0:${id} / ${root}/${name} rw,relatime - cgroup cgroup rw,${options}`);
      id++;
    }
  }
  const v2Root = mode === 'v2' ? `${root}/v2` : `${root}/unified`;
  const v2Controllers = mode === 'v2' ? ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids'] : ['hugetlb'];
  if (mode !== 'v1') lines.push(`${id} 1 0:${id} / ${v2Root} rw,relatime - cgroup2 cgroup2 rw,nsdelegate`);
  const layout = parseLayout({
    mountinfo: lines.join('\n'),
    cgroup: mode === 'v2' ? '0::/\n' : '9:name=systemd:/\n8:pids:/\n4:memory:/\n1:cpu,cpuacct:/\n0::/\n',
    v2Controllers: v2Controllers.join(' '),
  });

  const fixture: CgroupfsFixture = {
    root,
    layout,
    async seedCgroup(dir, controllers, version) {
      await mkdir(dir, { recursive: true });
      const files: Record<string, string> = { 'cgroup.procs': '' };
      if (version === 2) Object.assign(files, V2_CORE, { 'cgroup.controllers': controllers.join(' ') });
      for (const controller of controllers) Object.assign(files, (version === 1 ? V1_FILES : V2_FILES)[controller]);
      for (const [file, value] of Object.entries(files)) await writeFile(join(dir, file), value);
      if (version === 2) v2Dirs.add(dir);
    },
    async seedContainer(path) {
      const parts = path.split('/').filter((part) => part !== '');
      const hierarchies: Array<[string, string[], 1 | 2]> = [];
      for (const [options, name] of mode === 'v2' ? [] : V1_MOUNTS) hierarchies.push([join(root, name), options.split(','), 1]);
      if (mode !== 'v1') hierarchies.push([v2Root, v2Controllers, 2]);
      for (const [mount, controllers, version] of hierarchies) {
        let dir = mount;
        await fixture.seedCgroup(dir, controllers, version);
        // The root has its own cpuset; children start empty, as in the kernel.
        if (version === 1 && controllers.includes('cpuset')) {
          await writeFile(join(dir, 'cpuset.cpus'), '0-1');
          await writeFile(join(dir, 'cpuset.mems'), '0');
        }
        for (const part of parts) {
          dir = join(dir, part);
          await fixture.seedCgroup(dir, controllers, version);
        }
      }
    },
    async read(dir, file) {
      return (await readFile(join(dir, file), 'utf8')).trimEnd();
    },
    async write(dir, file, value) {
      await writeFile(join(dir, file), value);
    },
    async removeDir(dir) {
      v2Dirs.delete(dir);
      const entries = await readdir(dir, { withFileTypes: true });
      if (entries.some((entry) => entry.isDirectory())) throw busy(dir);
      const procs = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
      if (procs.trim() !== '') throw busy(dir);
      await rm(dir, { recursive: true });
    },
    async cleanup() {
      clearInterval(mirror);
      await rm(root, { recursive: true, force: true });
    },
  };
  return fixture;
}
