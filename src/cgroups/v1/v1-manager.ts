/**
 * CgroupV1Manager: the container's cgroup on a legacy or hybrid host. Each mounted hierarchy
 * (cpu, memory, name=systemd…) gets its own directory at the same path. On a hybrid host the
 * cgroup2 hierarchy gets one too: it holds controllers the legacy side left unbound (hugetlb
 * on this VM), which are then driven with their v2 files, and the core freezer if v1 has none.
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Resources } from '../../oci/runtime-spec.ts';
import { EngineError, failedPrecondition, invalidArgument, notImplemented } from '../../util/errors.ts';
import type { CgroupWrite } from '../cgroup-file.ts';
import { applyWrites, listCgroupDir, parseFlatKeyed, readCgroupFile, readCgroupNumber, writeCgroupFile } from '../cgroup-file.ts';
import type { CgroupsPath } from '../cgroups-path.ts';
import { hierarchyDir } from '../cgroups-path.ts';
import type { CgroupLayout } from '../layout.ts';
import type { CgroupManager, CgroupPaths, FreezerState, ManagerOptions } from '../manager.ts';
import { collectPids, isSigkill, removeCgroupTree, signalAll } from '../manager.ts';
import type { PollOptions } from '../poll.ts';
import type { CgroupStats } from '../stats.ts';
import { readV2HugetlbStats } from '../v2/hugetlb.ts';
import { checkMemoryBeforeUpdate } from '../v2/memory.ts';
import { readV2FreezerState, setV2FreezerState } from '../v2/freezer.ts';
import { enableControllers } from '../v2/subtree-control.ts';
import { V2_CONTROLLER_WRITES } from '../v2/v2-manager.ts';
import { readV1BlkioStats, v1BlkioWrites } from './blkio.ts';
import { readV1CpuStats, v1CpuWrites } from './cpu.ts';
import { inheritCpuset, v1CpusetWrites } from './cpuset.ts';
import { v1DevicesWrites } from './devices.ts';
import { readV1FreezerState, setV1FreezerState } from './freezer.ts';
import { readV1HugetlbStats, v1HugetlbWrites } from './hugetlb.ts';
import { readV1MemoryCurrent, readV1MemoryStats, v1MemoryWrites } from './memory.ts';
import { v1NetClsWrites, v1NetPrioWrites } from './net-cls.ts';
import { readPidsStats, v1PidsWrites } from './pids.ts';

/** The unified directory's key in `CgroupPaths.dirs`, as in /proc/self/cgroup's `0::` line. */
const UNIFIED = '';

/** v1 controller name → its v2 name, for resources that may land in the unified hierarchy. */
const V2_NAME: Record<string, string> = { blkio: 'io' };

interface V1Location {
  /** Controller → hierarchy mount point; cpuset is seeded and unified controllers delegated from there. */
  roots: Record<string, string>;
  dirs: Record<string, string>;
  path: string;
  /** Controllers to drive through the unified directory (hybrid hosts). */
  unifiedControllers: string[];
  mode: 'v1' | 'hybrid';
}

export class CgroupV1Manager implements CgroupManager {
  readonly #location: V1Location;
  readonly #options: ManagerOptions;

  constructor(location: V1Location, options: ManagerOptions = {}) {
    this.#location = location;
    this.#options = options;
  }

  /** A manager for the cgroup `spec` names in every hierarchy of `layout`. */
  static open(layout: CgroupLayout, spec: CgroupsPath, options: ManagerOptions = {}): CgroupV1Manager {
    if (layout.mode === 'v2') throw invalidArgument('open cgroup v1 manager: this host has no cgroup v1 hierarchy');
    const roots: Record<string, string> = {};
    const dirs: Record<string, string> = {};
    for (const [controller, mountPoint] of layout.v1) {
      roots[controller] = mountPoint;
      dirs[controller] = hierarchyDir(mountPoint, spec, layout.self.get(controller));
    }
    let unifiedControllers: string[] = [];
    if (layout.mode === 'hybrid' && layout.v2Root !== undefined) {
      roots[UNIFIED] = layout.v2Root;
      dirs[UNIFIED] = hierarchyDir(layout.v2Root, spec, layout.self.get(UNIFIED));
      unifiedControllers = layout.v2Controllers.filter((name) => !layout.v1.has(name) && !Object.values(V2_NAME).includes(name));
    }
    return new CgroupV1Manager({ roots, dirs, path: spec.path, unifiedControllers, mode: layout.mode }, options);
  }

  /** Reopens a cgroup recorded by `paths()`. */
  static load(paths: CgroupPaths, options: ManagerOptions = {}): CgroupV1Manager {
    if (paths.mode === 'v2') throw invalidArgument('load cgroup v1 manager: paths are from a cgroup v2 host');
    // The unified root is the unified dir minus the (absolute) cgroup path; for relative paths
    // it is unknown, and apply() then relies on the delegation done when the cgroup was made.
    const unified = paths.dirs[UNIFIED];
    const roots: Record<string, string> = {};
    if (unified !== undefined && paths.path.startsWith('/') && unified.endsWith(paths.path)) {
      roots[UNIFIED] = unified.slice(0, unified.length - paths.path.length) || '/';
    }
    return new CgroupV1Manager(
      { roots, dirs: { ...paths.dirs }, path: paths.path, unifiedControllers: [...(paths.unifiedControllers ?? [])], mode: paths.mode },
      options,
    );
  }

  /** Distinct directories: co-mounted controllers (cpu,cpuacct) share one. */
  #uniqueDirs(): string[] {
    return [...new Set(Object.values(this.#location.dirs))];
  }

  #dir(controller: string): string | undefined {
    return this.#location.dirs[controller];
  }

  /** Where a controller's resources go: its v1 dir, the unified dir, or nowhere. */
  #placement(controller: string): { dir: string; version: 1 | 2 } | undefined {
    const v1 = this.#dir(controller);
    if (v1 !== undefined) return { dir: v1, version: 1 };
    const unified = this.#dir(UNIFIED);
    if (unified !== undefined && this.#location.unifiedControllers.includes(V2_NAME[controller] ?? controller)) {
      return { dir: unified, version: 2 };
    }
    return undefined;
  }

  /**
   * memory.use_hierarchy needs no care: it is inherited from the parent at mkdir, and kernels
   * since 5.15 fix it to 1. cpuset does: see inheritCpuset.
   */
  async create(): Promise<void> {
    for (const dir of this.#uniqueDirs()) mkdirSync(dir, { recursive: true });
    const cpusetRoot = this.#location.roots.cpuset;
    const cpusetDir = this.#dir('cpuset');
    if (cpusetRoot !== undefined && cpusetDir !== undefined) await inheritCpuset(cpusetRoot, cpusetDir);
  }

  /**
   * Delegates one controller down the unified hierarchy, only when a resource needs it: the
   * ancestors' cgroup.subtree_control is shared state, so it is not touched for nothing.
   */
  async #delegate(controller: string): Promise<void> {
    const root = this.#location.roots[UNIFIED];
    const dir = this.#dir(UNIFIED);
    if (root !== undefined && dir !== undefined) await enableControllers(root, dir, [controller]);
  }

  async apply(resources: Resources): Promise<void> {
    if (resources.unified && Object.keys(resources.unified).length > 0) {
      throw failedPrecondition('set unified resources: the container cgroup is managed as cgroup v1');
    }
    if (resources.rdma && Object.keys(resources.rdma).length > 0) throw notImplemented('set rdma limits: not supported');
    const v2Writes = async (controller: string, dir: string | undefined): Promise<CgroupWrite[]> => {
      const writesFor = V2_CONTROLLER_WRITES.find(([name]) => name === (V2_NAME[controller] ?? controller))?.[1];
      return writesFor ? writesFor(resources, dir === undefined ? new Set() : await listCgroupDir(dir)) : [];
    };
    // runc's subsystem order: cpuset before anything that could move tasks, devices early.
    // Each group gets its directory, or undefined to ask only whether it has anything to write.
    const groups: Array<[string, (dir?: string) => Promise<CgroupWrite[]>]> = [
      ['cpuset', async () => v1CpusetWrites(resources.cpu)],
      ['devices', async () => v1DevicesWrites(resources.devices)],
      [
        'memory',
        async (dir) => {
          if (dir === undefined) return v1MemoryWrites(resources.memory, { limit: Infinity });
          if (resources.memory?.checkBeforeUpdate) checkMemoryBeforeUpdate(resources.memory, await readCgroupNumber(dir, 'memory.usage_in_bytes'));
          return v1MemoryWrites(resources.memory, await readV1MemoryCurrent(dir));
        },
      ],
      ['cpu', async () => v1CpuWrites(resources.cpu)],
      ['pids', async () => v1PidsWrites(resources.pids)],
      ['blkio', async (dir) => v1BlkioWrites(resources.blockIO, dir === undefined ? new Set(['blkio.weight']) : await listCgroupDir(dir))],
      ['hugetlb', async () => v1HugetlbWrites(resources.hugepageLimits)],
      ['net_cls', async () => v1NetClsWrites(resources.network)],
      ['net_prio', async () => v1NetPrioWrites(resources.network)],
    ];
    // Every value is computed and checked before the first write, so an invalid resource
    // (swap below the limit, a missing controller) leaves the cgroup untouched.
    const plan: Array<{ dir: string; writes: CgroupWrite[]; delegate?: string }> = [];
    for (const [controller, writesFor] of groups) {
      const place = this.#placement(controller);
      if (place === undefined) {
        const [wanted] = await writesFor();
        if (wanted) throw failedPrecondition(`set ${wanted.file}: the ${controller} cgroup controller is not mounted`);
      } else if (place.version === 1) {
        plan.push({ dir: place.dir, writes: await writesFor(place.dir) });
      } else {
        const writes = await v2Writes(controller, place.dir);
        if (writes.length > 0) plan.push({ dir: place.dir, writes, delegate: V2_NAME[controller] ?? controller });
      }
    }
    for (const { dir, writes, delegate } of plan) {
      if (delegate !== undefined) await this.#delegate(delegate);
      await applyWrites(dir, writes);
    }
  }

  procsFiles(): string[] {
    return this.#uniqueDirs().map((dir) => join(dir, 'cgroup.procs'));
  }

  async addProcess(pid: number): Promise<void> {
    for (const dir of this.#uniqueDirs()) await writeCgroupFile(dir, 'cgroup.procs', String(pid));
  }

  pids(): Promise<number[]> {
    const dir = this.#dir('pids') ?? this.#dir('freezer') ?? this.#dir('memory') ?? this.#uniqueDirs()[0];
    return dir === undefined ? Promise.resolve([]) : collectPids(dir);
  }

  async oomKills(): Promise<number> {
    const memory = this.#dir('memory');
    if (memory === undefined) return 0;
    return parseFlatKeyed((await readCgroupFile(memory, 'memory.oom_control')) ?? '')['oom_kill'] ?? 0;
  }

  async stats(): Promise<CgroupStats> {
    const stats: CgroupStats = {};
    const memory = this.#dir('memory');
    if (memory !== undefined) stats.memory = await readV1MemoryStats(memory);
    const cpu = this.#dir('cpu');
    const cpuacct = this.#dir('cpuacct');
    if (cpu !== undefined || cpuacct !== undefined) stats.cpu = await readV1CpuStats(cpu, cpuacct);
    const pids = this.#dir('pids');
    if (pids !== undefined) stats.pids = await readPidsStats(pids);
    const blkio = this.#dir('blkio');
    if (blkio !== undefined) stats.blockIO = await readV1BlkioStats(blkio);
    const hugetlb = this.#placement('hugetlb');
    if (hugetlb !== undefined) {
      const files = await listCgroupDir(hugetlb.dir);
      stats.hugetlb = hugetlb.version === 1 ? await readV1HugetlbStats(hugetlb.dir, files) : await readV2HugetlbStats(hugetlb.dir, files);
    }
    return stats;
  }

  #freezer(): { dir: string; version: 1 | 2 } {
    const v1 = this.#dir('freezer');
    if (v1 !== undefined) return { dir: v1, version: 1 };
    // The v2 freezer is part of the cgroup core, not a controller: any unified dir has it.
    const unified = this.#dir(UNIFIED);
    if (unified !== undefined) return { dir: unified, version: 2 };
    throw failedPrecondition('freeze cgroup: the freezer controller is not mounted');
  }

  async #setState(state: FreezerState, options?: PollOptions): Promise<void> {
    const { dir, version } = this.#freezer();
    await (version === 1 ? setV1FreezerState(dir, state, options) : setV2FreezerState(dir, state, options));
  }

  freeze(options?: PollOptions): Promise<void> {
    return this.#setState('frozen', options);
  }

  thaw(options?: PollOptions): Promise<void> {
    return this.#setState('thawed', options);
  }

  state(): Promise<FreezerState> {
    const { dir, version } = this.#freezer();
    return version === 1 ? readV1FreezerState(dir) : readV2FreezerState(dir);
  }

  /**
   * Freeze, signal, thaw: the freeze keeps processes from forking past the pid list. Without a
   * freezer the signal goes out unfrozen (best effort, as runc does). A paused container stays
   * paused, except for SIGKILL: v1 frozen tasks cannot die until thawed.
   */
  async killAll(signal: NodeJS.Signals | number): Promise<void> {
    let frozenHere = isSigkill(signal);
    try {
      if ((await this.state()) === 'thawed') {
        await this.freeze();
        frozenHere = true;
      }
    } catch (err) {
      if (!(err instanceof EngineError && err.kind === 'failed-precondition')) throw err;
    }
    try {
      signalAll(await this.pids(), signal);
    } finally {
      if (frozenHere) await this.thaw();
    }
  }

  /** Every hierarchy is attempted; the first failure is reported after the others were tried. */
  async destroy(): Promise<void> {
    let first: unknown;
    for (const dir of this.#uniqueDirs()) {
      try {
        await removeCgroupTree(dir, this.#options);
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }

  paths(): CgroupPaths {
    const paths: CgroupPaths = { mode: this.#location.mode, path: this.#location.path, dirs: { ...this.#location.dirs } };
    if (this.#location.unifiedControllers.length > 0) paths.unifiedControllers = [...this.#location.unifiedControllers];
    return paths;
  }
}
