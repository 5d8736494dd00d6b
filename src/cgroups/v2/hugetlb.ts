/** v2 hugetlb controller: `hugetlb.<size>.max` limits, `.current` usage, `.events` max hits. */

import type { HugepageLimit } from '../../oci/runtime-spec.ts';
import type { CgroupWrite } from '../cgroup-file.ts';
import { parseFlatKeyed, readCgroupFile, readCgroupNumber } from '../cgroup-file.ts';
import type { HugetlbStats } from '../stats.ts';
import { checkPageSize, hugetlbPageSizes } from '../v1/hugetlb.ts';

export function v2HugetlbWrites(limits: HugepageLimit[] | undefined): CgroupWrite[] {
  return (limits ?? []).map((entry) => ({ file: `hugetlb.${checkPageSize(entry.pageSize)}.max`, value: String(entry.limit) }));
}

export async function readV2HugetlbStats(dir: string, files: ReadonlySet<string>): Promise<Record<string, HugetlbStats>> {
  const out: Record<string, HugetlbStats> = {};
  for (const size of hugetlbPageSizes(files, 'current')) {
    const events = parseFlatKeyed((await readCgroupFile(dir, `hugetlb.${size}.events`)) ?? '');
    out[size] = { usage: (await readCgroupNumber(dir, `hugetlb.${size}.current`)) ?? 0, failcnt: events.max ?? 0 };
  }
  return out;
}
