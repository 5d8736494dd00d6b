/**
 * `POST /containers/prune`: every container that is not running (nor paused, nor restarting)
 * goes, as `docker container prune` and `docker system prune` ask; filters `until` (a unix time,
 * an RFC 3339 date or a Go duration before now) and `label` / `label!` as moby reads them.
 */

import { invalidArgument } from '../util/errors.ts';
import { parseGoDuration } from '../util/go-duration.ts';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import { removeContainer } from './delete.ts';

export interface ContainerPruneReport {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

/** moby's `until`: seconds since the epoch (fraction allowed), a date, or a duration back from now. */
export function untilCutoff(value: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  if (!Number.isNaN(date)) return date;
  try {
    return now - parseGoDuration(value) / 1e6;
  } catch {
    throw invalidArgument(`failed to parse value as time or duration: "${value}"`);
  }
}

function labelMatches(labels: Record<string, string>, wanted: string): boolean {
  const eq = wanted.indexOf('=');
  return eq < 0 ? wanted in labels : labels[wanted.slice(0, eq)] === wanted.slice(eq + 1);
}

export function prunable(c: Container, filters: Record<string, string[]>, now = Date.now()): boolean {
  const state = c.record.State;
  if (c.running || state.Running || state.Paused || state.Restarting) return false;
  const labels = c.record.Config.Labels ?? {};
  for (const until of filters['until'] ?? []) if (Date.parse(c.record.Created) >= untilCutoff(until, now)) return false;
  if (!(filters['label'] ?? []).every((l) => labelMatches(labels, l))) return false;
  if ((filters['label!'] ?? []).some((l) => labelMatches(labels, l))) return false;
  return true;
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
  return { ContainersDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: 0 };
}
