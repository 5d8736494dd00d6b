/**
 * `update`: change a live container's resources; the new limits are also recorded, so a later
 * `state` or `events` sees them.
 */

import type { Resources } from '../oci/runtime-spec.ts';
import { failedPrecondition } from '../util/errors.ts';
import { containerStatus } from './status.ts';
import { loadCgroup } from './cgroup.ts';
import { containerResources } from './rootfs/device-rules.ts';
import { applyDeviceFilter } from './device-filter.ts';
import type { Runtime } from './runtime.ts';

/** Merges `patch` into `base` one controller deep, as runc's update does. */
export function mergeResources(base: Resources, patch: Resources): Resources {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const old = out[key];
    out[key] = value && typeof value === 'object' && !Array.isArray(value) && old && typeof old === 'object' && !Array.isArray(old) ? { ...old, ...value } : value;
  }
  return out as Resources;
}

export async function update(rt: Runtime, id: string, patch: Resources): Promise<void> {
  const record = await rt.store.load(id);
  const status = await containerStatus(rt, record);
  if (status === 'stopped') throw failedPrecondition(`container ${id} is stopped`);
  const cgroup = loadCgroup(record);
  // A new device list replaces the old one: keep the devices every container needs.
  if (patch.devices) {
    const devices = containerResources({ ...record.config, linux: { ...record.config.linux, resources: { devices: patch.devices } } }).devices;
    patch = { ...patch, devices };
  }
  await cgroup.apply(patch);
  await applyDeviceFilter(cgroup, patch);
  record.config.linux ??= {};
  record.config.linux.resources = mergeResources(record.config.linux.resources ?? {}, patch);
  await rt.store.save(record);
}
