/**
 * `kill` and `stop`. Stop sends the container's stop signal, gives it the timeout to exit,
 * then SIGKILLs it — a PID-namespace init ignores signals it has no handler for, so `sleep`
 * as PID 1 only ever ends by SIGKILL, exactly as under Docker.
 */

import { kill, parseSignal } from '../runtime/index.ts';
import { conflict } from '../util/errors.ts';
import type { Container, ExitStatus } from './container.ts';
import type { DaemonContext } from './context.ts';
import { emitContainerEvent } from './events.ts';
import { thaw } from './pause.ts';
import { cancelRestart } from './restart-policy.ts';

const DEFAULT_STOP_TIMEOUT = 10;

export async function killContainer(ctx: DaemonContext, c: Container, signal: string | undefined, ref = c.id): Promise<void> {
  const number = parseSignal(signal ?? 'KILL');
  if (!c.running) throw conflict(`Cannot kill container: ${ref}: container ${c.id} is not running`);
  await cancelRestart(ctx, c, { manual: true });
  await kill(ctx.runtime, c.id, number);
  emitContainerEvent(ctx, c, 'kill', { signal: String(number) });
  // a frozen init only dies once thawed; other signals wait for the unpause, as in Docker
  if (number === 9) await thaw(ctx, c);
}

/** Waits for the exit, or `undefined` after `seconds` (negative: forever). */
function exitWithin(exit: Promise<ExitStatus>, seconds: number): Promise<ExitStatus | undefined> {
  if (seconds < 0) return exit;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), seconds * 1000)));
  return Promise.race([exit, timeout]).finally(() => clearTimeout(timer));
}

/** false when the container was not running (Docker answers 304). */
export async function stopContainer(ctx: DaemonContext, c: Container, options: { signal?: string; timeout?: number }): Promise<boolean> {
  return c.exclusive(async () => {
    await cancelRestart(ctx, c, { manual: true });
    if (!c.running) return false;
    const signal = parseSignal(options.signal ?? c.record.Config.StopSignal ?? 'SIGTERM');
    const timeout = options.timeout ?? c.record.Config.StopTimeout ?? DEFAULT_STOP_TIMEOUT;
    await killAndWait(ctx, c, signal, timeout);
    emitContainerEvent(ctx, c, 'stop');
    return true;
  });
}

/** Signal, wait up to `timeout` seconds, then SIGKILL and wait for the exit. */
export async function killAndWait(ctx: DaemonContext, c: Container, signal: number, timeout: number): Promise<void> {
  const exit = c.nextExit();
  if (!c.running) return;
  await sendQuietly(ctx, c, signal);
  await thaw(ctx, c);
  if (signal !== 9 && (await exitWithin(exit, timeout)) !== undefined) return;
  if (!c.running) return;
  // a repeated SIGKILL is no second `kill` for the event stream
  await sendQuietly(ctx, c, 9, signal !== 9);
  await exit;
}

/** The init may exit between our check and the signal: that is success, not an error. */
async function sendQuietly(ctx: DaemonContext, c: Container, signal: number, report = true): Promise<void> {
  try {
    await kill(ctx.runtime, c.id, signal);
    if (report) emitContainerEvent(ctx, c, 'kill', { signal: String(signal) });
  } catch (err) {
    if (c.running) ctx.warn(`signal ${signal} to ${c.id}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
