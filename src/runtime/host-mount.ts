/**
 * Mounts on the host for a long-lived caller (the daemon's container rootfs), made by berth-shim
 * instead of a util-linux mount(8) process: a plan of launcher ops only (CHDIR, MOUNT, UMOUNT),
 * sent to one shim that stays for them (SERVE, native/PLAN.md), so a mount costs a message:
 * no fork of this process (1-4 ms of its event loop, blocked), no exec, no libmount start-up.
 */

import { EngineError } from '../util/errors.ts';
import { step, type Plan } from './plan/plan.ts';
import { SPARE_NAMESPACES } from './plan/compile.ts';
import { MS, parseMountOptions } from './rootfs/mount-options.ts';
import { ShimConnection, releaseSpareShims, shimError, spareShims, type ShimStartOptions } from './shim/shim-client.ts';

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

/** How long the daemon must have left the spares alone before they are spawned. */
const SPARE_QUIET_MS = 5;
let spareTimer: NodeJS.Timeout | undefined;

/**
 * Keeps `count` spare shims of the daemon's configuration spawned (shim-client.ts, spareShims),
 * each in the namespaces a container will get (SPARE_NAMESPACES): a container start takes one
 * (its monitor). Starts the serving shim for host mounts too. A spawn blocks the event loop for
 * 1-4 ms, so it waits until no start or exit has asked for a few ms: spawned right after a
 * start, it delayed the exit of the very container started (`run --rm` of a short command).
 */
export function prepareSpareShims(count = 2, options: { now?: boolean } = {}): Promise<void> {
  clearTimeout(spareTimer);
  const spawn = (): Promise<void> => {
    // the first mount of a rootfs must not wait for the serving shim's spawn either
    if (!server) (server = startServer()).catch(() => {});
    return spareShims(count, { stdio: DAEMON_STDIO, spareNamespaces: SPARE_NAMESPACES });
  };
  // `now`: a caller that knows nothing else is going on (a benchmark between its timings); it may wait for them
  if (options.now) return spawn();
  spareTimer = setTimeout(spawn, SPARE_QUIET_MS).unref();
  return Promise.resolve();
}

/** The serving shim, started at the first host mount and kept (a failed plan ends it). */
let server: Promise<ShimConnection> | undefined;
/** Plans go one at a time: the shim answers them in order. */
let queue: Promise<unknown> = Promise.resolve();

function startServer(): Promise<ShimConnection> {
  return ShimConnection.start([step('SERVE')], { stdio: DAEMON_STDIO, takeSpare: true }).then((shim) => {
    // it must not keep a process that is otherwise done alive
    shim.child.unref();
    return shim;
  });
}

/** The serving shim, alive: the one kept, or a new one when there is none or it died (killed from outside). */
async function servingShim(): Promise<[Promise<ShimConnection>, ShimConnection]> {
  for (let attempt = 0; ; attempt++) {
    const current = (server ??= startServer());
    const shim = await current.catch((err: unknown) => {
      if (server === current) server = undefined;
      throw err;
    });
    if (shim.child.exitCode === null && shim.child.signalCode === null) return [current, shim];
    if (server === current) server = undefined;
    if (attempt > 0) throw new EngineError('unavailable', 'start the host-mount shim: it ended at once');
  }
}

/** Runs a plan of launcher ops on the serving shim: `done`, or the first error. */
function runHostPlan(plan: Plan, what: string): Promise<void> {
  const run = queue.then(async () => {
    const [current, shim] = await servingShim();
    // after an error the shim exits; without a message it is gone already
    const retire = (): void => {
      if (server === current) server = undefined;
      shim.close();
    };
    let message: Awaited<ReturnType<ShimConnection['next']>>;
    try {
      shim.sendPlan(plan);
      message = await shim.next();
    } catch (err) {
      retire();
      throw err;
    }
    if (message?.type === 'done') return;
    retire();
    if (message?.type === 'error') throw shimError(message);
    throw new EngineError('internal', `${what}: berth-shim ${message === undefined ? 'ended' : `sent ${message.type}`} instead of done`);
  });
  queue = run.catch(() => {});
  return run;
}

/**
 * Lets the standing shims go — the spares and the serving one — and reaps them, so that a
 * daemon shutting down leaves no exited shim for PID 1 to collect.
 */
export async function releaseStandingShims(): Promise<void> {
  clearTimeout(spareTimer);
  const current = server;
  server = undefined;
  await Promise.all([
    releaseSpareShims(),
    current?.then(
      async (shim) => {
        shim.close();
        // close() lets the process go: waiting for its exit must keep us alive
        shim.child.ref();
        await shim.exited;
      },
      () => {},
    ),
  ]);
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
