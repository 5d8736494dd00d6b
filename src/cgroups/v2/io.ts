/**
 * v2 io controller. Throttles of one device share one io.max line
 * (`8:0 rbps=… wbps=… riops=… wiops=…`). Weights go to io.bfq.weight when BFQ is the scheduler
 * (same 1–1000 scale as blkio.weight), else to io.weight after mapping onto 1–10000. Leaf
 * weights were CFQ-only and are ignored, as runc does.
 */

import type { BlockIO, ThrottleDevice } from '../../oci/runtime-spec.ts';
import { failedPrecondition } from '../../util/errors.ts';
import type { CgroupWrite } from '../cgroup-file.ts';
import { readCgroupFile } from '../cgroup-file.ts';
import type { BlockIOEntry, BlockIOStats } from '../stats.ts';

/** blkio weight [10, 1000] → io.weight [1, 10000]; 0 stays unset. */
export function blkioWeightToIOWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

type Limit = 'rbps' | 'wbps' | 'riops' | 'wiops';

export function v2IOWrites(blockIO: BlockIO | undefined, files: ReadonlySet<string>): CgroupWrite[] {
  if (!blockIO) return [];
  const writes: CgroupWrite[] = [];
  const bfq = files.has('io.bfq.weight');
  const weightOf = (weight: number) => String(bfq ? weight : blkioWeightToIOWeight(weight));
  const weightFile = bfq ? 'io.bfq.weight' : 'io.weight';
  const needWeightFile = () => {
    if (!bfq && !files.has('io.weight')) {
      throw failedPrecondition('set io weight: neither io.weight nor io.bfq.weight exists');
    }
  };
  if (blockIO.weight) {
    needWeightFile();
    writes.push({ file: weightFile, value: weightOf(blockIO.weight) });
  }
  for (const device of blockIO.weightDevice ?? []) {
    if (!device.weight) continue;
    needWeightFile();
    writes.push({ file: weightFile, value: `${device.major}:${device.minor} ${weightOf(device.weight)}` });
  }
  const lines = new Map<string, Map<Limit, number>>();
  const add = (key: Limit, devices: ThrottleDevice[] | undefined) => {
    for (const device of devices ?? []) {
      const id = `${device.major}:${device.minor}`;
      if (!lines.has(id)) lines.set(id, new Map());
      lines.get(id)!.set(key, device.rate);
    }
  };
  add('rbps', blockIO.throttleReadBpsDevice);
  add('wbps', blockIO.throttleWriteBpsDevice);
  add('riops', blockIO.throttleReadIOPSDevice);
  add('wiops', blockIO.throttleWriteIOPSDevice);
  for (const [id, limits] of lines) {
    // A rate of 0 means "no limit" in OCI; in io.max that is spelled `max`.
    const parts = [...limits].map(([key, rate]) => `${key}=${rate === 0 ? 'max' : rate}`);
    writes.push({ file: 'io.max', value: `${id} ${parts.join(' ')}` });
  }
  return writes;
}

/** io.stat: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0` per device. */
export function parseIOStat(text: string): BlockIOStats {
  const stats: BlockIOStats = { serviceBytes: [], serviced: [] };
  for (const line of text.split('\n')) {
    const [device, ...pairs] = line.trim().split(/\s+/);
    const match = /^(\d+):(\d+)$/.exec(device ?? '');
    if (!match) continue;
    const major = Number(match[1]);
    const minor = Number(match[2]);
    for (const pair of pairs) {
      const [key, raw] = pair.split('=');
      const value = Number(raw);
      const entry = (op: BlockIOEntry['op']): BlockIOEntry => ({ major, minor, op, value });
      if (key === 'rbytes') stats.serviceBytes.push(entry('read'));
      else if (key === 'wbytes') stats.serviceBytes.push(entry('write'));
      else if (key === 'dbytes') stats.serviceBytes.push(entry('discard'));
      else if (key === 'rios') stats.serviced.push(entry('read'));
      else if (key === 'wios') stats.serviced.push(entry('write'));
      else if (key === 'dios') stats.serviced.push(entry('discard'));
    }
  }
  return stats;
}

export async function readV2IOStats(dir: string): Promise<BlockIOStats> {
  return parseIOStat((await readCgroupFile(dir, 'io.stat')) ?? '');
}
