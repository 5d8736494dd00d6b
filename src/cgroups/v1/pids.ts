/** v1 pids controller: the task limit and its counter. */

import type { CgroupWrite } from '../cgroup-file.ts';
import { readCgroupNumber } from '../cgroup-file.ts';
import type { PidsStats } from '../stats.ts';

/** A limit ≤ 0 lifts the limit (`max`), as OCI 1.1 callers (docker `--pids-limit -1`) expect. */
export function pidsLimitValue(limit: number): string {
  return limit <= 0 ? 'max' : String(limit);
}

export function v1PidsWrites(pids: { limit: number } | undefined): CgroupWrite[] {
  return pids ? [{ file: 'pids.max', value: pidsLimitValue(pids.limit) }] : [];
}

/** Same files in v1 and v2. */
export async function readPidsStats(dir: string): Promise<PidsStats> {
  return {
    current: (await readCgroupNumber(dir, 'pids.current')) ?? 0,
    limit: (await readCgroupNumber(dir, 'pids.max')) ?? Infinity,
  };
}
