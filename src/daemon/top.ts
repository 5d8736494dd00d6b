/**
 * `GET /containers/{id}/top`: the host's `ps` filtered to the processes in the container's
 * cgroup, as Docker's {Titles, Processes}; `ps_args` are passed to ps as moby does.
 */

import { loadCgroup, psTable } from '../runtime/index.ts';
import { conflict } from '../util/errors.ts';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import { emitContainerEvent } from './events.ts';

export interface TopResponse {
  Titles: string[];
  Processes: string[][];
}

/** Splits ps output into columns: the last title takes the rest of the line (the command may have spaces). */
export function parseTop(output: string): TopResponse {
  const [header = '', ...lines] = output.split('\n').filter((l) => l.trim() !== '');
  const titles = header.trim().split(/\s+/);
  const processes = lines.map((line) => {
    const fields = line.trim().split(/\s+/);
    return [...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')];
  });
  return { Titles: titles, Processes: processes };
}

export async function topContainer(ctx: DaemonContext, c: Container, psArgs: string): Promise<TopResponse> {
  if (!c.running) throw conflict(`container ${c.id} is not running`);
  if (c.record.State.Restarting) throw conflict(`Container ${c.id} is restarting, wait until the container is running`);
  const record = await ctx.runtime.store.load(c.id);
  const pids = await loadCgroup(record).pids();
  const args = psArgs.trim() === '' ? ['-ef'] : psArgs.trim().split(/\s+/);
  const top = parseTop(psTable(pids, args));
  emitContainerEvent(ctx, c, 'top');
  return top;
}
