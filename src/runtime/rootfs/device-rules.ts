/**
 * The device cgroup rules a container gets: the config's own, then what every container needs
 * to work at all — mknod of any node (the kernel still checks access on use), the default nodes
 * (null, zero, full, tty, random, urandom), the console, ptmx and its pts, tun — and the
 * config's linux.devices. runc and crun add the same, after the config's deny-all.
 */

import type { DeviceCgroup, Resources, Spec } from '../../oci/runtime-spec.ts';
import { DEFAULT_DEVICES } from './mount-plan.ts';

const ALWAYS: DeviceCgroup[] = [
  { allow: true, type: 'c', major: null, minor: null, access: 'm' },
  { allow: true, type: 'b', major: null, minor: null, access: 'm' },
  ...DEFAULT_DEVICES.map((d) => ({ allow: true, type: 'c', major: d.major, minor: d.minor, access: 'rwm' })),
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' },
  { allow: true, type: 'c', major: 136, minor: null, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
];

export function containerResources(spec: Spec): Resources {
  const resources = spec.linux?.resources ?? {};
  // FIFOs are not devices to the device controller.
  const own = (spec.linux?.devices ?? []).filter((d) => d.type !== 'p').map((d): DeviceCgroup => ({
    allow: true,
    type: d.type === 'u' ? 'c' : d.type,
    major: d.major ?? null,
    minor: d.minor ?? null,
    access: 'rwm',
  }));
  return { ...resources, devices: [...(resources.devices ?? []), ...ALWAYS, ...own] };
}
