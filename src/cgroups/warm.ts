/**
 * Moving a process into a cgroup (a cgroup.procs write) takes the kernel's one, global
 * cgroup_threadgroup_rwsem for writing. When no one took it within the last RCU grace period,
 * that writer first waits for a whole grace period (rcu_sync_enter → synchronize_rcu: 9–12 ms on
 * this 2-CPU VM, the biggest single item of a container start); the lock then stays cheap to take
 * for about one more grace period after its last writer left. Warming it starts that wait early,
 * on a libuv thread, while the caller does other work (mounts, the shim's spawn), so the shim's
 * migration of the container's init finds it warm. The warming write is a no-op migration: this
 * process's pid into the cgroup.procs of the cgroup it already is in.
 *
 * A daemon that starts containers back to back keeps it warm instead (keepCgroupMigrationWarm):
 * one no-op write every few ms, for a short while after each container operation, is what the
 * kernel's `favordynmods` mount option would buy without changing the host's cgroup mounts. The
 * price while it lasts is the same: fork and exit take the lock's slow, shared path.
 */

import { closeSync, openSync, write } from 'node:fs';
import { join } from 'node:path';
import type { CgroupLayout } from './layout.ts';

/** The cgroup.procs this process sits in, in one hierarchy of the layout (any will do: the lock is global). */
export function ownProcsFile(layout: CgroupLayout): string | undefined {
  if (layout.mode === 'v2') {
    const own = layout.self.get('');
    return layout.v2Root !== undefined && own !== undefined ? join(layout.v2Root, own, 'cgroup.procs') : undefined;
  }
  for (const [controller, mountPoint] of layout.v1) {
    const own = layout.self.get(controller);
    if (own !== undefined) return join(mountPoint, own, 'cgroup.procs');
  }
  return undefined;
}

let inFlight = false;

/** Our own cgroup.procs, open for a warming write; undefined when there is none to write to. */
function openOwnProcs(layout: CgroupLayout): number | undefined {
  const procs = ownProcsFile(layout);
  if (procs === undefined) return undefined;
  try {
    return openSync(procs, 'w');
  } catch {
    return undefined;
  }
}

/** Shorter than this VM's RCU grace period (9–12 ms) with room to spare: the lock never cools down. */
const KEEP_WARM_PERIOD_MS = 3;
let warmUntil = 0;
let keeping = false;

/**
 * Starts warming the migration lock and returns at once; a warm already under way is enough.
 * The open is synchronous and the write one thread-pool request, so the wait starts now even
 * when the caller keeps the event loop busy. Failures are ignored: warming only saves time, and
 * the real migration reports its own errors.
 */
export function warmCgroupMigration(layout: CgroupLayout): void {
  if (inFlight) return;
  const fd = openOwnProcs(layout);
  if (fd === undefined) return;
  inFlight = true;
  write(fd, String(process.pid), () => {
    inFlight = false;
    closeSync(fd);
  });
}

/**
 * Keeps the migration lock warm from now until `forMs` after the last call: one no-op migration
 * every few ms, each a thread-pool write (the first may wait for a grace period; the event loop
 * never does). Returns at once. Failures end the loop quietly, as for warmCgroupMigration.
 */
export function keepCgroupMigrationWarm(layout: CgroupLayout, forMs: number): void {
  warmUntil = Math.max(warmUntil, performance.now() + forMs);
  if (keeping) return;
  const fd = openOwnProcs(layout);
  if (fd === undefined) return;
  keeping = true;
  const pid = String(process.pid);
  const tick = (): void => {
    write(fd, pid, (err) => {
      if (err || performance.now() >= warmUntil) {
        keeping = false;
        closeSync(fd);
        return;
      }
      setTimeout(tick, KEEP_WARM_PERIOD_MS).unref();
    });
  };
  tick();
}
