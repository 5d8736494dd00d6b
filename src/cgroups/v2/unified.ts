/**
 * linux.resources.unified: raw v2 `file → value` pairs written after the mapped resources, so
 * they can override them. Keys are plain file names; anything that could leave the cgroup
 * directory or reconfigure the tree (cgroup.subtree_control, cgroup.procs…) is refused.
 */

import { invalidArgument } from '../../util/errors.ts';
import type { CgroupWrite } from '../cgroup-file.ts';

export function v2UnifiedWrites(unified: Record<string, string> | undefined): CgroupWrite[] {
  return Object.entries(unified ?? {}).map(([file, value]) => {
    if (!/^[a-z0-9_]+\.[a-z0-9_.]+$/.test(file) || file.includes('..')) {
      throw invalidArgument(`set unified resource ${JSON.stringify(file)}: not a cgroup file name`);
    }
    if (file.startsWith('cgroup.')) {
      throw invalidArgument(`set unified resource ${file}: the runtime manages this file`);
    }
    return { file, value };
  });
}
