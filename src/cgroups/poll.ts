/** Waiting for the kernel to settle a cgroup state change (freezing is asynchronous in v1 and v2). */

import { setTimeout as sleep } from 'node:timers/promises';
import { EngineError } from '../util/errors.ts';

export interface PollOptions {
  /** Give up after this long; default 5 s (runc waits about as long for a freeze). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Calls `settled` every few milliseconds until it returns true. `nudge` runs every 50 tries:
 * v1 tasks stuck in FREEZING only move on when the state is written again.
 */
export async function pollUntil(
  what: string,
  settled: () => Promise<boolean>,
  options: PollOptions & { nudge?: () => Promise<void> } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  for (let attempt = 1; ; attempt++) {
    if (await settled()) return;
    if (Date.now() > deadline) throw new EngineError('unavailable', `${what}: timed out`);
    options.signal?.throwIfAborted();
    if (attempt % 50 === 0) await options.nudge?.();
    await sleep(Math.min(attempt, 10), undefined, options.signal ? { signal: options.signal } : undefined);
  }
}
