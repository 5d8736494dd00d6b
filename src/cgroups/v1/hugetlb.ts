/** v1 hugetlb controller: per page size limits (`hugetlb.2MB.limit_in_bytes`) and stats. */

import type { HugepageLimit } from '../../oci/runtime-spec.ts';
import { invalidArgument } from '../../util/errors.ts';
import type { CgroupWrite } from '../cgroup-file.ts';
import { readCgroupNumber } from '../cgroup-file.ts';
import type { HugetlbStats } from '../stats.ts';

/** OCI page sizes use the kernel's spelling (`2MB`, `1GB`, `64KB`); anything else would name a bogus file. */
export function checkPageSize(pageSize: string): string {
  if (!/^\d+[KMG]B$/.test(pageSize)) throw invalidArgument(`set hugetlb limit: invalid page size ${JSON.stringify(pageSize)}`);
  return pageSize;
}

export function v1HugetlbWrites(limits: HugepageLimit[] | undefined): CgroupWrite[] {
  return (limits ?? []).map((entry) => ({
    file: `hugetlb.${checkPageSize(entry.pageSize)}.limit_in_bytes`,
    value: String(entry.limit),
  }));
}

/** Page sizes this cgroup has files for. */
export function hugetlbPageSizes(files: ReadonlySet<string>, suffix: string): string[] {
  const sizes: string[] = [];
  for (const file of files) {
    const match = /^hugetlb\.(\d+[KMG]B)\.(.+)$/.exec(file);
    if (match && match[2] === suffix) sizes.push(match[1]!);
  }
  return sizes.sort();
}

export async function readV1HugetlbStats(dir: string, files: ReadonlySet<string>): Promise<Record<string, HugetlbStats>> {
  const out: Record<string, HugetlbStats> = {};
  for (const size of hugetlbPageSizes(files, 'usage_in_bytes')) {
    out[size] = {
      usage: (await readCgroupNumber(dir, `hugetlb.${size}.usage_in_bytes`)) ?? 0,
      maxUsage: (await readCgroupNumber(dir, `hugetlb.${size}.max_usage_in_bytes`)) ?? 0,
      failcnt: (await readCgroupNumber(dir, `hugetlb.${size}.failcnt`)) ?? 0,
    };
  }
  return out;
}
