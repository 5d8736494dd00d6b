/**
 * Public surface of cgroups/: detect the host's layout, open a container's cgroup on it (v1,
 * hybrid or v2), or reopen one from the paths recorded in the container's state.
 */

import type { CgroupLayout } from './layout.ts';
import type { CgroupManager, CgroupPaths, ManagerOptions } from './manager.ts';
import { parseCgroupsPath } from './cgroups-path.ts';
import { CgroupV1Manager } from './v1/v1-manager.ts';
import { CgroupV2Manager } from './v2/v2-manager.ts';
import { invalidArgument } from '../util/errors.ts';

export type { CgroupLayout, CgroupMode, LayoutSources } from './layout.ts';
export { detectLayout, parseLayout } from './layout.ts';
export type { CgroupManager, CgroupPaths, DeviceFilter, FreezerState, ManagerOptions } from './manager.ts';
export type { CgroupStats, MemoryStats, CpuStats, PidsStats, BlockIOStats, BlockIOEntry, HugetlbStats } from './stats.ts';
export type { CgroupsPath } from './cgroups-path.ts';
export { parseCgroupsPath, isSystemdCgroupsPath, parseSystemdCgroupsPath, DEFAULT_PARENT } from './cgroups-path.ts';
export type { CgroupWrite } from './cgroup-file.ts';
export { CgroupWriteError } from './cgroup-file.ts';
export { CgroupV1Manager } from './v1/v1-manager.ts';
export { CgroupV2Manager } from './v2/v2-manager.ts';
export type { BpfInstruction } from './v2/devices-bpf.ts';
export { deviceFilterProgram, encodeBpfProgram } from './v2/devices-bpf.ts';
export { deviceFilterBytes } from './v2/devices.ts';
export { keepCgroupMigrationWarm, ownProcsFile, warmCgroupMigration } from './warm.ts';
export { cgroupPlacement, type CgroupPlacement } from './placement.ts';

/**
 * The manager for a container's cgroup: `cgroupsPath` as in linux.cgroupsPath (absent →
 * `/berth/<containerId>`). Nothing is created until `create()`.
 */
export function openCgroupManager(
  layout: CgroupLayout,
  cgroupsPath: string | undefined,
  containerId: string,
  options: ManagerOptions = {},
): CgroupManager {
  const spec = parseCgroupsPath(cgroupsPath, containerId);
  if (layout.mode === 'v2') {
    if (layout.v2Root === undefined) throw invalidArgument('open cgroup: no cgroup2 mount found');
    return CgroupV2Manager.open(layout.v2Root, spec, { ...options, ownCgroup: layout.self.get('') ?? '/' });
  }
  return CgroupV1Manager.open(layout, spec, options);
}

/** Reopens a container's cgroup from the paths its state recorded. */
export function loadCgroupManager(paths: CgroupPaths, options: ManagerOptions = {}): CgroupManager {
  return paths.mode === 'v2' ? CgroupV2Manager.load(paths, options) : CgroupV1Manager.load(paths, options);
}
