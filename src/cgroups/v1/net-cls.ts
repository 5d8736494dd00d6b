/**
 * v1 net_cls and net_prio controllers: tag the container's packets with a class id for tc,
 * and set per-interface priorities. Both exist in v1 only; cgroup v2 uses eBPF for this.
 */

import type { Resources } from '../../oci/runtime-spec.ts';
import type { CgroupWrite } from '../cgroup-file.ts';

export function v1NetClsWrites(network: Resources['network']): CgroupWrite[] {
  return network?.classID !== undefined ? [{ file: 'net_cls.classid', value: String(network.classID) }] : [];
}

/** One write per interface: net_prio.ifpriomap takes a single `name priority` pair each time. */
export function v1NetPrioWrites(network: Resources['network']): CgroupWrite[] {
  return (network?.priorities ?? []).map((entry) => ({ file: 'net_prio.ifpriomap', value: `${entry.name} ${entry.priority}` }));
}
