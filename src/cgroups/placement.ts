/**
 * How a container's init gets into its cgroup. A cgroup v2 directory can take it at birth
 * (clone3 CLONE_INTO_CGROUP: no migration, so no wait for the kernel's migration lock); every v1
 * hierarchy needs its pid written to cgroup.procs after the clone.
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
  if (v2Dir === undefined) return { procsFiles: [...procsFiles] };
  return { cloneInto: v2Dir, procsFiles: procsFiles.filter((file) => dirname(file) !== v2Dir) };
}
