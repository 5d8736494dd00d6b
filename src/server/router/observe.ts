/**
 * Watching containers: `GET /containers/{id}/top` (ps inside the container), `GET
 * /containers/{id}/stats` (cgroup usage, one-shot or one JSON document per second) and
 * `GET /events` (lifecycle events, a JSON document per line until the client leaves).
 */

import { Router } from '../router.ts';
import { boolParam, filtersParam } from '../request.ts';

export interface ObserveBackend {
  top(ref: string, psArgs: string): Promise<unknown>;
  stats(ref: string, options: { stream: boolean; oneShot: boolean; signal: AbortSignal }): Promise<AsyncIterable<unknown>>;
  events(options: { since?: string; until?: string; filters: Record<string, string[]>; signal: AbortSignal }): Promise<AsyncIterable<unknown>>;
}

export function observeRouter(backend: ObserveBackend): Router {
  return new Router()
    .add('GET', '/containers/{id}/top', async ({ params, query, reply }) => {
      reply.json(200, await backend.top(params['id']!, query.get('ps_args') ?? ''));
    })
    .add('GET', '/containers/{id}/stats', async ({ params, query, reply, signal }) => {
      // stream defaults to true: absent means streaming
      const stream = query.get('stream') === null ? true : boolParam(query, 'stream');
      const docs = await backend.stats(params['id']!, { stream, oneShot: boolParam(query, 'one-shot'), signal });
      reply.begin(200, { 'Content-Type': 'application/json' });
      for await (const doc of docs) {
        if (!reply.write(`${JSON.stringify(doc)}\n`)) await reply.drained();
      }
      reply.end();
    })
    .add('GET', '/events', async ({ query, reply, signal }) => {
      const since = query.get('since') || undefined;
      const until = query.get('until') || undefined;
      const events = await backend.events({ ...(since ? { since } : {}), ...(until ? { until } : {}), filters: filtersParam(query), signal });
      reply.begin(200, { 'Content-Type': 'application/json' });
      for await (const event of events) {
        if (!reply.write(`${jsonWithIntegers(event)}\n`)) await reply.drained();
      }
      reply.end();
    });
}

/** JSON in which bigints are written as plain numbers (Go's int64 fields: an event's timeNano). */
export function jsonWithIntegers(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `\u0000bigint:${v}` : v)).replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}
