/**
 * The runtime's view of a container's cgroup: the cgroups/ manager for its layout, plus what
 * the plan needs (the cgroup.procs files, the host directories a `cgroup` mount binds).
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { Spec } from '../oci/runtime-spec.ts';
import { detectLayout, keepCgroupMigrationWarm, openCgroupManager, loadCgroupManager, warmCgroupMigration, type CgroupManager, type CgroupPaths, type CgroupMode } from '../cgroups/index.ts';
import type { CgroupMountSource } from './rootfs/mount-plan.ts';

export interface ContainerCgroup extends CgroupManager {
  mountSources(): CgroupMountSource[];
  /** Like killAll, but returns only once no process is left (so the cgroup can be removed). */
  killAllAndWait(signal: number): Promise<void>;
}

/**
 * What a `cgroup` mount shows: the container's own cgroup of each hierarchy. On a hybrid host
 * the unified hierarchy is left out, as runc binds only the legacy ones: Docker's containers
 * there have no /sys/fs/cgroup/unified, and each container saves a directory and a mount. The
 * container is still placed in the unified cgroup (runc joins it too).
 */
export function cgroupMountSources(paths: CgroupPaths): CgroupMountSource[] {
  return Object.entries(paths.dirs)
    .filter(([name]) => name !== '' || paths.mode === 'v2')
    .map(([name, hostPath]) => ({ name: name.replace(/^name=/, ''), hostPath }));
}

function extend(manager: CgroupManager): ContainerCgroup {
  const paths = manager.paths();
  return Object.assign(manager, {
    mountSources(): CgroupMountSource[] {
      return cgroupMountSources(paths);
    },
    async killAllAndWait(signal: number): Promise<void> {
      await manager.killAll(signal);
      for (let i = 0; i < 200 && (await manager.pids()).length > 0; i++) await sleep(10);
    },
  });
}

// The hierarchies a host mounts do not change under a running engine: detect them once.
let layout: ReturnType<typeof detectLayout> | undefined;
function hostLayout(): ReturnType<typeof detectLayout> {
  layout ??= detectLayout();
  return layout;
}

export async function openCgroup(spec: Spec, id: string, options: { create: boolean }): Promise<ContainerCgroup> {
  const layout = await hostLayout();
  const manager = openCgroupManager(layout, spec.linux?.cgroupsPath, id);
  if (options.create) await manager.create();
  return extend(manager);
}

/**
 * Starts warming the kernel's cgroup migration lock (cgroups/warm.ts) so that the shim's move of
 * a container's init into its cgroup, a few ms from now, does not wait for an RCU grace period.
 */
export function warmCgroupMigrationSoon(): void {
  hostLayout().then(warmCgroupMigration, () => {});
}

/** A daemon's container operations come in bursts (create, attach, start; run after run). */
const KEEP_WARM_MS = 2000;

/**
 * Keeps that lock warm for a while after the last call (a daemon about to start or exec): only
 * where processes are migrated at all — a pure v2 host clones them into their cgroup, which
 * needs no write lock.
 */
export function keepMigrationLockWarm(forMs = KEEP_WARM_MS): void {
  hostLayout().then((layout) => {
    if (layout.mode !== 'v2') keepCgroupMigrationWarm(layout, forMs);
  }, () => {});
}

export function loadCgroup(record: { cgroupPaths: CgroupPaths }): ContainerCgroup {
  return extend(loadCgroupManager(record.cgroupPaths));
}

export async function cgroupLayoutMode(): Promise<CgroupMode> {
  return (await hostLayout()).mode;
}
