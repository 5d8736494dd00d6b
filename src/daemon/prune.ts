/**
 * `POST /containers/prune`: every container that is not running (nor paused, nor restarting)
 * goes, as `docker container prune` and `docker system prune` ask; filters `until` (a unix time,
 * an RFC 3339 date or a Go duration before now) and `label` / `label!` as moby reads them
 * (its matchLabels: a container is kept only when it carries every `label!`).
 */

import { invalidArgument } from '../util/errors.ts';
import { labelsAllowed, untilCutoff } from '../image/store/index.ts';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import { removeContainer } from './delete.ts';
import { emitEvent } from './events.ts';

export interface ContainerPruneReport {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

export function prunable(c: Container, filters: Record<string, string[]>, now = Date.now()): boolean {
  const state = c.record.State;
  if (c.running || state.Running || state.Paused || state.Restarting) return false;
  // moby: one created after the cutoff stays; so does one carrying every `label!`
  for (const until of filters['until'] ?? []) if (Date.parse(c.record.Created) > untilCutoff(until, now)) return false;
  return labelsAllowed({ label: filters['label'] ?? [], labelNot: filters['label!'] ?? [] }, c.record.Config.Labels ?? {});
}

export async function pruneContainers(ctx: DaemonContext, filters: Record<string, string[]>): Promise<ContainerPruneReport> {
  for (const key of Object.keys(filters)) if (!['until', 'label', 'label!'].includes(key)) throw invalidArgument(`invalid filter '${key}'`);
  const deleted: string[] = [];
  for (const c of ctx.store.all()) {
    if (!prunable(c, filters)) continue;
    try {
      await removeContainer(ctx, c, { force: false });
      deleted.push(c.id);
    } catch (err) {
      // one that started meanwhile, or is being removed by someone else, is simply not pruned
      ctx.warn(`prune container ${c.id}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  emitEvent(ctx, { type: 'container', action: 'prune', actor: { ID: '', Attributes: { reclaimed: '0' } } });
  return { ContainersDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: 0 };
}
