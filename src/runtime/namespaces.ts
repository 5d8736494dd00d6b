/**
 * Joining a running container's namespaces (exec, container-side hooks). The order matters:
 * the user namespace first (it grants the rights to join the rest), the mount namespace last
 * (after it, /proc/PID/ns/* would be looked up in the container's /proc).
 */

import type { NamespaceType } from '../oci/runtime-spec.ts';
import { NAMESPACE_FLAGS, NAMESPACE_PROC_NAMES } from './plan/constants.ts';
import { step, type PlanStep } from './plan/plan.ts';

export const JOIN_ORDER: readonly NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount'];

export function joinNamespaceSteps(pid: number, types: readonly NamespaceType[]): PlanStep[] {
  return JOIN_ORDER.filter((t) => types.includes(t)).map((t) => step('SETNS', `/proc/${pid}/ns/${NAMESPACE_PROC_NAMES[t]}`, NAMESPACE_FLAGS[t]));
}
