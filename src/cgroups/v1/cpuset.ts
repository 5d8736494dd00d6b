/**
 * v1 cpuset controller. A new v1 cpuset cgroup starts with empty cpuset.cpus and cpuset.mems,
 * and the kernel refuses to attach tasks to it (ENOSPC) until both are set, so every directory
 * we create is seeded from its parent before the container's own values are written.
 */

import type { Cpu } from '../../oci/runtime-spec.ts';
import type { CgroupWrite } from '../cgroup-file.ts';
import { readCgroupFile, writeCgroupFile } from '../cgroup-file.ts';
import { dirname } from 'node:path';

export function v1CpusetWrites(cpu: Cpu | undefined): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  if (cpu?.cpus) writes.push({ file: 'cpuset.cpus', value: cpu.cpus });
  if (cpu?.mems) writes.push({ file: 'cpuset.mems', value: cpu.mems });
  return writes;
}

/**
 * Copies cpuset.cpus/cpuset.mems from parent to child for each directory from just below
 * `root` down to `leaf` whose value is empty; directories outside `root` are never written.
 */
export async function inheritCpuset(root: string, leaf: string): Promise<void> {
  const chain: string[] = [];
  for (let dir = leaf; dir !== root && dir.startsWith(`${root}/`); dir = dirname(dir)) chain.unshift(dir);
  for (const dir of chain) {
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (((await readCgroupFile(dir, file)) ?? '') !== '') continue;
      const inherited = (await readCgroupFile(dirname(dir), file)) ?? '';
      if (inherited !== '') await writeCgroupFile(dir, file, inherited);
    }
  }
}
