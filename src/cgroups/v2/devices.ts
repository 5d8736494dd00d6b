/**
 * Enforcing device rules on cgroup v2 means loading the program from devices-bpf.ts with
 * bpf(BPF_PROG_LOAD) and attaching it with bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE) on the
 * cgroup's directory fd. Node has no way to make those system calls, so until `native/` offers
 * them the attach step fails loudly rather than running a container without its device policy.
 */

import type { DeviceCgroup } from '../../oci/runtime-spec.ts';
import { notImplemented } from '../../util/errors.ts';
import { deviceFilterProgram, encodeBpfProgram } from './devices-bpf.ts';

/** The encoded program `native/` would load; exposed so the plan can carry it. */
export function deviceFilterBytes(rules: readonly DeviceCgroup[]): Buffer {
  return encodeBpfProgram(deviceFilterProgram(rules));
}

export function attachDeviceFilter(dir: string, rules: readonly DeviceCgroup[]): never {
  const bytes = deviceFilterBytes(rules);
  throw notImplemented(
    `attach device filter (${bytes.length / 8} bpf instructions) to ${dir}: bpf(2) needs native support that berth does not have yet`,
  );
}
