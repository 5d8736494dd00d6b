/**
 * Mounts on the host for a long-lived caller (the daemon's container rootfs), made by berth-shim
 * instead of a util-linux mount(8) process: a plan of launcher ops only (CHDIR, MOUNT, UMOUNT),
 * run by a spare shim the caller keeps (prepareSpareShims), so a mount costs no fork of this
 * process, no exec and no libmount start-up — 2-4 ms of a container start and as much at its
 * exit; without a spare, a shim spawned for it, still cheaper than mount(8).
 */

import { EngineError } from '../util/errors.ts';
import { step, type Plan } from './plan/plan.ts';
import { MS, parseMountOptions } from './rootfs/mount-options.ts';
import { ShimConnection, shimError, spareShims, type ShimStartOptions } from './shim/shim-client.ts';

export { releaseSpareShims } from './shim/shim-client.ts';

/** A mount as snapshotters describe it (mount(8)'s type, source and -o options). */
export interface HostMount {
  type: string;
  source: string;
  options: string[];
}

const MNT_DETACH = 2;

/**
 * The plan that mounts `mount` on `target`. Flags and filesystem data are split as mount(8)
 * does; a read-only bind is a bind then a read-only remount (the kernel ignores MS_RDONLY on
 * the bind itself). `cwd`: where relative layer paths of a compacted overlay start.
 */
export function hostMountPlan(mount: HostMount, target: string, cwd?: string): Plan {
  const parsed = parseMountOptions(mount.options);
  const bind = mount.type === 'bind' || (parsed.flags & MS.BIND) !== 0;
  const plan: Plan = [];
  if (cwd !== undefined) plan.push(step('CHDIR', cwd));
  if (bind) {
    plan.push(step('MOUNT', mount.source, target, '', (parsed.flags & ~MS.RDONLY) | MS.BIND, ''));
    const remountFlags = parsed.flags & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME);
    if (remountFlags !== 0) plan.push(step('MOUNT', '', target, '', MS.REMOUNT | MS.BIND | remountFlags, ''));
  } else {
    plan.push(step('MOUNT', mount.source, target, mount.type, parsed.flags, parsed.data));
  }
  for (const propagation of parsed.propagation) plan.push(step('MOUNT', '', target, '', propagation, ''));
  return plan;
}

export function hostUnmountPlan(target: string, options: { lazy?: boolean } = {}): Plan {
  return [step('UMOUNT', target, options.lazy ? MNT_DETACH : 0)];
}

/** How the daemon runs its shims: stdio on /dev/null (a monitor owns the container's stdio). */
const DAEMON_STDIO: ShimStartOptions['stdio'] = ['ignore', 'ignore', 'ignore'];

/**
 * Keeps `count` spare shims of the daemon's configuration spawned (shim-client.ts, spareShims):
 * a container start takes two (its rootfs mount, its monitor), an exit one (the unmount). Call
 * it when nothing waits on the event loop, such as right after a start's reply.
 */
export function prepareSpareShims(count = 2): void {
  spareShims(count, { stdio: DAEMON_STDIO });
}

/** Runs a plan of launcher ops to its end: nothing sent and exit 0, or the first error. */
async function runHostPlan(plan: Plan, what: string): Promise<void> {
  const shim = await ShimConnection.start(plan, { stdio: DAEMON_STDIO, takeSpare: true });
  try {
    const message = await shim.next();
    if (message?.type === 'error') throw shimError(message);
    if (message !== undefined) throw new EngineError('internal', `${what}: unexpected shim message ${message.type}`);
    const exit = await shim.exited;
    if (exit.code !== 0) throw new EngineError('internal', `${what}: berth-shim exited with ${exit.code ?? exit.signal}`);
  } finally {
    shim.close();
  }
}

export async function mountOnHost(mount: HostMount, target: string, cwd?: string): Promise<void> {
  await runHostPlan(hostMountPlan(mount, target, cwd), `mount ${mount.type} on ${target}`);
}

/** Unmounts the topmost mount on `target`. */
export async function unmountOnHost(target: string, options: { lazy?: boolean } = {}): Promise<void> {
  await runHostPlan(hostUnmountPlan(target, options), `unmount ${target}`);
}

/** The two as one mounter (snapshot/mount.ts's `Mounter` shape). */
export const shimMounter = {
  mount: mountOnHost,
  unmount: (target: string): Promise<void> => unmountOnHost(target),
};
