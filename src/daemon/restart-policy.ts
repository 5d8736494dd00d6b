/**
 * Restart policies (HostConfig.RestartPolicy): after an exit the monitor asks whether to run the
 * container again. Docker's backoff: 100 ms doubling per consecutive restart, back to 100 ms once
 * a run lasted 10 s. `docker stop`/`kill` mark the container manually stopped, which cancels a
 * pending restart and, for `unless-stopped`, survives a daemon restart.
 */

import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import { emitContainerEvent } from './events.ts';
import type { ExitFile } from './exit-file.ts';
import { monitorSignal } from './monitor.ts';
import { startContainer } from './start.ts';

const INITIAL_DELAY_MS = 100;
const RESET_AFTER_MS = 10_000;
/** moby caps the backoff at one minute */
const MAX_DELAY_MS = 60_000;

interface Pending {
  timer: NodeJS.Timeout;
}

const pending = new WeakMap<Container, Pending>();
const delays = new WeakMap<Container, number>();

export function shouldRestart(c: Container, exitCode: number): boolean {
  const policy = c.record.HostConfig.RestartPolicy;
  if (c.record.HasBeenManuallyStopped || c.removing) return false;
  switch (policy?.Name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure': {
      const max = policy.MaximumRetryCount ?? 0;
      return exitCode !== 0 && (max <= 0 || c.record.RestartCount < max);
    }
    default:
      return false;
  }
}

function nextDelay(c: Container, exit: ExitFile): number {
  const ran = Date.parse(exit.finishedAt) - Date.parse(c.record.State.StartedAt);
  const previous = delays.get(c);
  const delay = previous === undefined || !(ran < RESET_AFTER_MS) ? INITIAL_DELAY_MS : Math.min(previous * 2, MAX_DELAY_MS);
  delays.set(c, delay);
  return delay;
}

/**
 * Called as an exit is recorded, before it is saved and waiters wake (as moby does): when the
 * policy says so the state becomes `restarting` and the next run is scheduled.
 */
export function planRestart(ctx: DaemonContext, c: Container, exit: ExitFile): void {
  const signal = monitorSignal(ctx);
  if (signal.aborted || !shouldRestart(c, exit.exitCode)) {
    delays.delete(c);
    return;
  }
  const delay = nextDelay(c, exit);
  c.record.State = { ...c.record.State, Status: 'restarting', Restarting: true };
  const onAbort = (): void => clearTimeout(timer);
  const timer = setTimeout(() => {
    pending.delete(c);
    signal.removeEventListener('abort', onAbort);
    void restartNow(ctx, c);
  }, delay);
  // a closing daemon leaves the container `restarting`: the next one starts it (startOnBoot)
  signal.addEventListener('abort', onAbort, { once: true });
  pending.set(c, { timer });
}

async function restartNow(ctx: DaemonContext, c: Container): Promise<void> {
  if (!c.record.State.Restarting || c.removing || !ctx.store.has(c.id)) return;
  c.record.RestartCount += 1;
  try {
    await startContainer(ctx, c);
    emitContainerEvent(ctx, c, 'restart');
  } catch (err) {
    ctx.warn(`restart ${c.id}: ${err instanceof Error ? err.message : String(err)}`);
    c.record.State = { ...c.record.State, Status: 'exited', Restarting: false };
    await ctx.store.save(c).catch(() => {});
  }
}

/** `docker stop`/`kill`/`rm`: no further restarts; a pending one is dropped. */
export async function cancelRestart(ctx: DaemonContext, c: Container, options: { manual: boolean }): Promise<void> {
  const p = pending.get(c);
  if (p) clearTimeout(p.timer);
  pending.delete(c);
  delays.delete(c);
  const wasRestarting = c.record.State.Restarting;
  if (options.manual) c.record.HasBeenManuallyStopped = true;
  if (wasRestarting) c.record.State = { ...c.record.State, Status: 'exited', Restarting: false };
  if (options.manual || wasRestarting) await ctx.store.save(c);
}

/** `always` (and `unless-stopped` not stopped by hand, and any container caught mid-restart) run again on daemon start. */
function startsOnBoot(c: Container): boolean {
  const name = c.record.HostConfig.RestartPolicy?.Name;
  if (c.running || c.removing) return false;
  if (name === 'always') return true;
  if (c.record.HasBeenManuallyStopped) return false;
  return name === 'unless-stopped' || c.record.State.Restarting;
}

export async function startOnBoot(ctx: DaemonContext, containers: Iterable<Container>): Promise<void> {
  for (const c of containers) {
    if (!startsOnBoot(c)) continue;
    const p = pending.get(c);
    if (p) clearTimeout(p.timer);
    pending.delete(c);
    await startContainer(ctx, c).catch((err: unknown) => ctx.warn(`start ${c.id} on daemon start: ${err instanceof Error ? err.message : String(err)}`));
  }
}
