/**
 * `pause`/`unpause`: the cgroup freezer, through the runtime. Stop and kill thaw first, since a
 * frozen init cannot act on a signal, not even SIGKILL.
 */

import { pause, resume } from '../runtime/index.ts';
import { conflict } from '../util/errors.ts';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import { emitContainerEvent } from './events.ts';

export async function pauseContainer(ctx: DaemonContext, c: Container): Promise<void> {
  await c.exclusive(async () => {
    if (!c.running) throw conflict(`Container ${c.id} is not running`);
    if (c.record.State.Paused) throw conflict(`Container ${c.id} is already paused`);
    await pause(ctx.runtime, c.id);
    c.record.State = { ...c.record.State, Paused: true, Status: 'paused' };
    await ctx.store.save(c);
    emitContainerEvent(ctx, c, 'pause');
  });
}

export async function unpauseContainer(ctx: DaemonContext, c: Container): Promise<void> {
  await c.exclusive(async () => {
    if (!c.record.State.Paused) throw conflict(`Container ${c.id} is not paused`);
    await thaw(ctx, c);
    emitContainerEvent(ctx, c, 'unpause');
  });
}

/** Thaws a paused container (a frozen init cannot act on a signal, not even SIGKILL). */
export async function thaw(ctx: DaemonContext, c: Container): Promise<void> {
  if (!c.record.State.Paused) return;
  await resume(ctx.runtime, c.id);
  c.record.State = { ...c.record.State, Paused: false, Status: c.running ? 'running' : c.record.State.Status };
  await ctx.store.save(c);
}
