/** v2 pids controller: same file names and values as v1. */

import type { CgroupWrite } from '../cgroup-file.ts';
import { pidsLimitValue } from '../v1/pids.ts';

export function v2PidsWrites(pids: { limit: number } | undefined): CgroupWrite[] {
  return pids ? [{ file: 'pids.max', value: pidsLimitValue(pids.limit) }] : [];
}
