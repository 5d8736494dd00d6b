/**
 * v1 blkio controller. Proportional weights belong to the I/O scheduler: CFQ offered
 * blkio.weight, BFQ offers blkio.bfq.weight, and kernels without CFQ (≥ 5.0, like this VM) have
 * only the BFQ files, or none when BFQ is not loaded. The writes therefore depend on which files
 * the cgroup directory has, passed in as `files`. Throttling is scheduler-independent.
 */

import type { BlockIO, ThrottleDevice } from '../../oci/runtime-spec.ts';
import { failedPrecondition } from '../../util/errors.ts';
import type { CgroupWrite } from '../cgroup-file.ts';
import { readCgroupFile } from '../cgroup-file.ts';
import type { BlockIOEntry, BlockIOStats } from '../stats.ts';

function pickWeightFile(files: ReadonlySet<string>, plain: string, bfq: string, what: string): string {
  if (files.has(plain)) return plain;
  if (files.has(bfq)) return bfq;
  throw failedPrecondition(
    `set ${what}: neither ${plain} nor ${bfq} exists (no cfq or bfq i/o scheduler in this kernel)`,
  );
}

function throttleWrites(file: string, devices: ThrottleDevice[] | undefined): CgroupWrite[] {
  return (devices ?? []).map((device) => ({ file, value: `${device.major}:${device.minor} ${device.rate}` }));
}

export function v1BlkioWrites(blockIO: BlockIO | undefined, files: ReadonlySet<string>): CgroupWrite[] {
  if (!blockIO) return [];
  const writes: CgroupWrite[] = [];
  if (blockIO.weight) {
    const file = pickWeightFile(files, 'blkio.weight', 'blkio.bfq.weight', 'blkio weight');
    writes.push({ file, value: String(blockIO.weight) });
  }
  // Leaf weights were a CFQ feature; BFQ has no counterpart.
  if (blockIO.leafWeight) {
    if (!files.has('blkio.leaf_weight')) {
      throw failedPrecondition('set blkio leaf weight: blkio.leaf_weight does not exist (cfq only)');
    }
    writes.push({ file: 'blkio.leaf_weight', value: String(blockIO.leafWeight) });
  }
  for (const device of blockIO.weightDevice ?? []) {
    const id = `${device.major}:${device.minor}`;
    if (device.weight) {
      const file = pickWeightFile(files, 'blkio.weight_device', 'blkio.bfq.weight_device', `blkio weight of ${id}`);
      writes.push({ file, value: `${id} ${device.weight}` });
    }
    if (device.leafWeight) {
      if (!files.has('blkio.leaf_weight_device')) {
        throw failedPrecondition(`set blkio leaf weight of ${id}: blkio.leaf_weight_device does not exist (cfq only)`);
      }
      writes.push({ file: 'blkio.leaf_weight_device', value: `${id} ${device.leafWeight}` });
    }
  }
  writes.push(
    ...throttleWrites('blkio.throttle.read_bps_device', blockIO.throttleReadBpsDevice),
    ...throttleWrites('blkio.throttle.write_bps_device', blockIO.throttleWriteBpsDevice),
    ...throttleWrites('blkio.throttle.read_iops_device', blockIO.throttleReadIOPSDevice),
    ...throttleWrites('blkio.throttle.write_iops_device', blockIO.throttleWriteIOPSDevice),
  );
  return writes;
}

/** `8:0 Read 4096` lines; the trailing `Total 123` summary line has no device and is skipped. */
export function parseBlkioRecursive(text: string): BlockIOEntry[] {
  const entries: BlockIOEntry[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+):(\d+) (\w+) (\d+)$/.exec(line.trim());
    if (!match) continue;
    const op = match[3]!.toLowerCase();
    if (!['read', 'write', 'sync', 'async', 'discard', 'total'].includes(op)) continue;
    entries.push({ major: Number(match[1]), minor: Number(match[2]), op: op as BlockIOEntry['op'], value: Number(match[4]) });
  }
  return entries;
}

export async function readV1BlkioStats(dir: string): Promise<BlockIOStats> {
  return {
    serviceBytes: parseBlkioRecursive((await readCgroupFile(dir, 'blkio.throttle.io_service_bytes_recursive')) ?? ''),
    serviced: parseBlkioRecursive((await readCgroupFile(dir, 'blkio.throttle.io_serviced_recursive')) ?? ''),
  };
}
