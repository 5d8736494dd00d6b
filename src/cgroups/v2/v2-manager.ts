/**
 * CgroupV2Manager: the container's cgroup on a unified (cgroup2-only) host. One directory holds
 * every controller; freezing and killing are built into the core (cgroup.freeze, cgroup.kill).
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Resources } from '../../oci/runtime-spec.ts';
import { failedPrecondition, invalidArgument, notImplemented } from '../../util/errors.ts';
import type { CgroupWrite } from '../cgroup-file.ts';
import { applyWrites, listCgroupDir, parseFlatKeyed, readCgroupFile, readCgroupNumber, writeCgroupFile } from '../cgroup-file.ts';
import type { CgroupsPath } from '../cgroups-path.ts';
import { hierarchyDir } from '../cgroups-path.ts';
import type { CgroupManager, CgroupPaths, DeviceFilter, FreezerState, ManagerOptions } from '../manager.ts';
import { collectPids, isSigkill, removeCgroupTree, signalAll } from '../manager.ts';
import type { PollOptions } from '../poll.ts';
import type { CgroupStats } from '../stats.ts';
import { readPidsStats } from '../v1/pids.ts';
import { v2CpusetWrites, v2CpuWrites, readV2CpuStats } from './cpu.ts';
import { v2DeviceFilter } from './devices.ts';
import { readV2FreezerState, setV2FreezerState } from './freezer.ts';
import { readV2HugetlbStats, v2HugetlbWrites } from './hugetlb.ts';
import { readV2IOStats, v2IOWrites } from './io.ts';
import { checkMemoryBeforeUpdate, readV2MemoryStats, v2MemoryWrites } from './memory.ts';
import { v2PidsWrites } from './pids.ts';
import { enableControllers } from './subtree-control.ts';
import { v2UnifiedWrites } from './unified.ts';

/**
 * The v2 writes for `resources`, per controller in the order they are applied. Each group is
 * computed only when asked for: the hybrid v1 manager applies just the groups it places in its
 * unified directory, and must not trip over a v2 mapping (io weights) it will not use.
 */
export const V2_CONTROLLER_WRITES: ReadonlyArray<[string, (resources: Resources, files: ReadonlySet<string>) => CgroupWrite[]]> = [
  ['cpuset', (resources) => v2CpusetWrites(resources.cpu)],
  ['memory', (resources) => v2MemoryWrites(resources.memory)],
  ['cpu', (resources) => v2CpuWrites(resources.cpu)],
  ['pids', (resources) => v2PidsWrites(resources.pids)],
  ['io', (resources, files) => v2IOWrites(resources.blockIO, files)],
  ['hugetlb', (resources) => v2HugetlbWrites(resources.hugepageLimits)],
];

interface V2Location {
  /** Mount point of the hierarchy; controllers are delegated from here down. */
  root: string;
  dir: string;
  path: string;
}

export class CgroupV2Manager implements CgroupManager {
  readonly #root: string;
  readonly #path: string;
  readonly #dir: string;
  readonly #options: ManagerOptions;

  constructor(location: V2Location, options: ManagerOptions = {}) {
    this.#root = location.root;
    this.#path = location.path;
    this.#dir = location.dir;
    this.#options = options;
  }

  /** A manager for the cgroup `spec` names in the hierarchy mounted at `root`. */
  static open(root: string, spec: CgroupsPath, options: ManagerOptions & { ownCgroup?: string } = {}): CgroupV2Manager {
    return new CgroupV2Manager({ root, dir: hierarchyDir(root, spec, options.ownCgroup), path: spec.path }, options);
  }

  /** Reopens a cgroup recorded by `paths()` (the root is only needed by `create()`). */
  static load(paths: CgroupPaths, options: ManagerOptions = {}): CgroupV2Manager {
    const dir = paths.dirs[''];
    if (paths.mode !== 'v2' || dir === undefined) throw invalidArgument('load cgroup v2 manager: paths are not from a cgroup v2 host');
    return new CgroupV2Manager({ root: dir, dir, path: paths.path }, options);
  }

  async create(): Promise<void> {
    mkdirSync(this.#dir, { recursive: true });
    await enableControllers(this.#root, this.#dir, 'all');
  }

  /**
   * All values are computed and checked before the first write (see CgroupV1Manager.apply).
   * Device rules are only checked here: enforcing them takes bpf(2), which the runtime has the
   * shim do with what deviceFilter() returns.
   */
  async apply(resources: Resources): Promise<void> {
    if (resources.network?.classID !== undefined || resources.network?.priorities?.length) {
      throw failedPrecondition('set network class and priorities: net_cls and net_prio exist only in cgroup v1');
    }
    if (resources.rdma && Object.keys(resources.rdma).length > 0) throw notImplemented('set rdma limits: not supported');
    this.deviceFilter(resources);
    if (resources.memory?.checkBeforeUpdate) {
      checkMemoryBeforeUpdate(resources.memory, await readCgroupNumber(this.#dir, 'memory.current'));
    }
    const files = await listCgroupDir(this.#dir);
    const writes = V2_CONTROLLER_WRITES.flatMap(([, writesFor]) => writesFor(resources, files));
    // Last, so raw values can override the mapped ones.
    writes.push(...v2UnifiedWrites(resources.unified));
    await applyWrites(this.#dir, writes);
  }

  deviceFilter(resources: Resources): DeviceFilter | undefined {
    return v2DeviceFilter(this.#dir, resources.devices);
  }

  procsFiles(): string[] {
    return [join(this.#dir, 'cgroup.procs')];
  }

  async addProcess(pid: number): Promise<void> {
    await writeCgroupFile(this.#dir, 'cgroup.procs', String(pid));
  }

  pids(): Promise<number[]> {
    return collectPids(this.#dir);
  }

  async oomKills(): Promise<number> {
    return parseFlatKeyed((await readCgroupFile(this.#dir, 'memory.events')) ?? '')['oom_kill'] ?? 0;
  }

  async stats(): Promise<CgroupStats> {
    const files = await listCgroupDir(this.#dir);
    const stats: CgroupStats = { cpu: await readV2CpuStats(this.#dir) };
    if (files.has('memory.current')) stats.memory = await readV2MemoryStats(this.#dir);
    if (files.has('pids.current')) stats.pids = await readPidsStats(this.#dir);
    if (files.has('io.stat')) stats.blockIO = await readV2IOStats(this.#dir);
    const hugetlb = await readV2HugetlbStats(this.#dir, files);
    if (Object.keys(hugetlb).length > 0) stats.hugetlb = hugetlb;
    return stats;
  }

  freeze(options?: PollOptions): Promise<void> {
    return setV2FreezerState(this.#dir, 'frozen', options);
  }

  thaw(options?: PollOptions): Promise<void> {
    return setV2FreezerState(this.#dir, 'thawed', options);
  }

  state(): Promise<FreezerState> {
    return readV2FreezerState(this.#dir);
  }

  /**
   * cgroup.kill (5.14+) kills the whole subtree atomically, forks included. Other signals need
   * the freeze: without it a process could fork between reading cgroup.procs and the kill.
   */
  async killAll(signal: NodeJS.Signals | number): Promise<void> {
    if (isSigkill(signal) && (await listCgroupDir(this.#dir)).has('cgroup.kill')) {
      await writeCgroupFile(this.#dir, 'cgroup.kill', '1');
      return;
    }
    const wasFrozen = (await this.state()) === 'frozen';
    if (!wasFrozen) await this.freeze();
    try {
      signalAll(await this.pids(), signal);
    } finally {
      if (!wasFrozen) await this.thaw();
    }
  }

  destroy(): Promise<void> {
    return removeCgroupTree(this.#dir, this.#options);
  }

  paths(): CgroupPaths {
    return { mode: 'v2', path: this.#path, dirs: { '': this.#dir } };
  }
}
