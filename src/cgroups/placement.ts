/**
 * How a container's init gets into its cgroup. On a pure cgroup v2 host the directory takes it
 * at birth (clone3 CLONE_INTO_CGROUP): no migration, so no wait for the kernel's migration lock.
 * Where v1 hierarchies need a cgroup.procs write anyway (v1, hybrid), every hierarchy is written:
 * CLONE_INTO_CGROUP takes cgroup_mutex, which a migration holds through its grace period (the
 * warming write of warm.ts, a concurrent start), so the clone itself would wait for it instead
 * of the container's mounts overlapping it (measured: clone3 6.9 ms).
 */

import { dirname } from 'node:path';
import type { CgroupPaths } from './manager.ts';

export interface CgroupPlacement {
  /** The cgroup v2 directory to clone the init into (pure v2, or the unified one of a hybrid host). */
  cloneInto?: string;
  /** The cgroup.procs files to write the init's pid to after the clone. */
  procsFiles: string[];
}

export function cgroupPlacement(paths: CgroupPaths, procsFiles: readonly string[]): CgroupPlacement {
  const v2Dir = paths.dirs[''];
  const migrated = procsFiles.filter((file) => dirname(file) !== v2Dir);
  if (v2Dir === undefined || migrated.length > 0) return { procsFiles: [...procsFiles] };
  return { cloneInto: v2Dir, procsFiles: [] };
}
