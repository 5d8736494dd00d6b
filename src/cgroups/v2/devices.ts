/**
 * Enforcing device rules on cgroup v2 means loading the program from devices-bpf.ts with
 * bpf(BPF_PROG_LOAD) and attaching it with bpf(BPF_PROG_ATTACH, BPF_CGROUP_DEVICE) on the
 * cgroup's directory fd. Node cannot make those system calls, so the manager only builds the
 * program here and `berth-shim` loads and attaches it (DEVICE_FILTER, native/PLAN.md).
 */

import type { DeviceCgroup } from '../../oci/runtime-spec.ts';
import type { DeviceFilter } from '../manager.ts';
import { deviceFilterProgram, encodeBpfProgram } from './devices-bpf.ts';

/** The encoded program (`struct bpf_insn[]`); throws on an invalid rule, so apply() can check early. */
export function deviceFilterBytes(rules: readonly DeviceCgroup[]): Buffer {
  return encodeBpfProgram(deviceFilterProgram(rules));
}

/**
 * The filter for the cgroup at `dir`; undefined without rules (the cgroup keeps what it has). An
 * empty list is a filter that denies everything, as v1 starts from deny-all.
 */
export function v2DeviceFilter(dir: string, rules: readonly DeviceCgroup[] | undefined): DeviceFilter | undefined {
  if (rules === undefined) return undefined;
  return { dir, program: deviceFilterBytes(rules) };
}
