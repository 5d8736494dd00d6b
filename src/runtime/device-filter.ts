/**
 * Device rules on cgroup v2 are an eBPF program attached to the container's cgroup, and Node
 * cannot call bpf(2). The cgroups manager builds the program; `berth-shim` loads and attaches it
 * (DEVICE_FILTER, native/PLAN.md): as a launcher step of the init plan at `create`, so the
 * container process never runs without it, and as a plan of its own (no CLONE) at `update`.
 */

import type { CgroupManager } from '../cgroups/index.ts';
import type { Resources } from '../oci/runtime-spec.ts';
import { EngineError } from '../util/errors.ts';
import { step } from './plan/plan.ts';
import type { PlanStep } from './plan/plan.ts';
import { ShimConnection, shimError } from './shim/shim-client.ts';
import type { ShimStartOptions } from './shim/shim-client.ts';

/**
 * The launcher step that puts `resources.devices` in force, or none where the manager has
 * applied them itself (cgroup v1) or there are no rules. It must run before any SETNS: loading
 * the program takes CAP_SYS_ADMIN (or CAP_BPF) in the initial user namespace.
 */
export function deviceFilterSteps(manager: CgroupManager, resources: Resources): PlanStep[] {
  const filter = manager.deviceFilter?.(resources);
  return filter ? [step('DEVICE_FILTER', filter.dir, filter.program)] : [];
}

/**
 * Replaces the device filter of a live container's cgroup (`update`): the shim runs a plan with
 * no container process and exits 0 once the new program is attached and the old one detached.
 */
export async function applyDeviceFilter(
  manager: CgroupManager,
  resources: Resources,
  options: Pick<ShimStartOptions, 'shimPath'> = {},
): Promise<void> {
  const steps = deviceFilterSteps(manager, resources);
  if (steps.length === 0) return;
  // SET_DUMPABLE 0 first, as in every plan (native/PLAN.md, "Security notes").
  const shim = await ShimConnection.start([step('SET_DUMPABLE', 0), ...steps], { ...options, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    for (;;) {
      const message = await shim.next();
      if (message === undefined) break;
      if (message.type === 'error') throw shimError(message);
      throw new EngineError('internal', `apply device filter: unexpected shim message ${JSON.stringify(message)}`);
    }
    const exit = await shim.exited;
    if (exit.code !== 0) {
      throw new EngineError('internal', `apply device filter: berth-shim ended with ${exit.signal ?? `status ${exit.code}`}`);
    }
  } finally {
    shim.close();
  }
}
