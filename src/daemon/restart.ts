/**
 * `restart` (stop with the usual timeout, then start) and `rename` (same name rule and
 * conflict text as create).
 */

import { invalidArgument } from '../util/errors.ts';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import { emitContainerEvent } from './events.ts';
import { normalizeName } from './names.ts';
import { startContainer } from './start.ts';
import { stopContainer } from './stop.ts';

export async function restartContainer(ctx: DaemonContext, c: Container, options: { signal?: string; timeout?: number }): Promise<void> {
  c.restarting = true;
  try {
    await stopContainer(ctx, c, options);
    await startContainer(ctx, c);
    emitContainerEvent(ctx, c, 'restart');
  } finally {
    c.restarting = false;
  }
}

export async function renameContainer(ctx: DaemonContext, c: Container, newName: string): Promise<void> {
  if (newName === '') throw invalidArgument('Neither old nor new names may be empty');
  const name = normalizeName(newName);
  if (name === c.record.Name) throw invalidArgument('Renaming a container with the same name as its current name');
  const oldName = c.record.Name;
  await ctx.store.rename(c, name);
  emitContainerEvent(ctx, c, 'rename', { oldName });
}
