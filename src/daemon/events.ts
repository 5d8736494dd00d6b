/**
 * The daemon's event stream (`GET /events`, `docker events`): container lifecycle events in
 * Docker's message shape, kept in a bounded backlog for `since` and fanned out live to every
 * subscriber. Operations report through `emitContainerEvent`; nothing here can fail them.
 */

import { EventEmitter } from 'node:events';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';

/** moby's events.Message (the deprecated top-level status/id/from included: old clients read them). */
export interface EventMessage {
  status?: string;
  id?: string;
  from?: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  /** int64 nanoseconds: beyond a double's precision, so a bigint (the API writes its digits) */
  timeNano: bigint;
}

/** moby keeps the last 256 events for `since`. */
const BACKLOG = 256;

interface Bus {
  emitter: EventEmitter;
  backlog: EventMessage[];
}

const buses = new WeakMap<DaemonContext, Bus>();

function bus(ctx: DaemonContext): Bus {
  let b = buses.get(ctx);
  if (!b) {
    b = { emitter: new EventEmitter(), backlog: [] };
    b.emitter.setMaxListeners(0);
    buses.set(ctx, b);
  }
  return b;
}

/** Strictly increasing nanoseconds, so `since`/`until` never split two events of one instant. */
let lastNano = 0n;
function nowNano(): bigint {
  let now = BigInt(Date.now()) * 1_000_000n;
  if (now <= lastNano) now = lastNano + 1n;
  lastNano = now;
  return now;
}

export function emitContainerEvent(ctx: DaemonContext, c: Container, action: string, extra: Record<string, string> = {}): void {
  const nano = nowNano();
  const image = c.record.Config.Image ?? c.record.Image;
  const attributes: Record<string, string> = { ...(c.record.Config.Labels ?? {}), image, name: c.record.Name.replace(/^\//, ''), ...extra };
  const message: EventMessage = {
    status: action,
    id: c.id,
    from: image,
    Type: 'container',
    Action: action,
    Actor: { ID: c.id, Attributes: attributes },
    scope: 'local',
    time: Number(nano / 1_000_000_000n),
    timeNano: nano,
  };
  const b = bus(ctx);
  b.backlog.push(message);
  if (b.backlog.length > BACKLOG) b.backlog.shift();
  b.emitter.emit('event', message);
}

export interface EventsRequest {
  /** nanoseconds since the epoch */
  since?: bigint;
  until?: bigint;
  filters: Record<string, string[]>;
  signal: AbortSignal;
}

/** Docker's filters on events: type, event/action, container (ID, short ID or name), image, label. */
export function matchesFilters(message: EventMessage, filters: Record<string, string[]>): boolean {
  const any = (key: string, test: (value: string) => boolean): boolean => {
    const values = filters[key];
    return values === undefined || values.length === 0 || values.some(test);
  };
  const attrs = message.Actor.Attributes;
  return (
    any('type', (v) => v === message.Type) &&
    any('event', (v) => v === message.Action || message.Action.startsWith(`${v}:`)) &&
    any('container', (v) => message.Type === 'container' && (message.Actor.ID.startsWith(v) || attrs['name'] === v)) &&
    any('image', (v) => attrs['image'] === v || attrs['image'] === `${v}:latest`) &&
    any('label', (v) => {
      const [key = '', value] = v.split('=', 2);
      return value === undefined ? key in attrs : attrs[key] === value;
    })
  );
}

/** The backlog since `since`, then live events until `until` passes or the client leaves. */
export async function* containerEvents(ctx: DaemonContext, request: EventsRequest): AsyncGenerator<EventMessage> {
  const b = bus(ctx);
  const queue: EventMessage[] = [];
  let wake: (() => void) | undefined;
  const onEvent = (message: EventMessage): void => {
    queue.push(message);
    wake?.();
  };
  const inRange = (m: EventMessage): boolean => (request.since === undefined || m.timeNano >= request.since) && (request.until === undefined || m.timeNano <= request.until);
  // subscribe before reading the backlog: nothing falls between the two
  b.emitter.on('event', onEvent);
  const onAbort = (): void => wake?.();
  request.signal.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  let past = false;
  if (request.until !== undefined) {
    const ms = Number(request.until / 1_000_000n) - Date.now();
    const stop = (): void => {
      past = true;
      wake?.();
    };
    if (ms <= 0) past = true;
    else timer = setTimeout(stop, ms);
  }
  try {
    if (request.since !== undefined) {
      for (const m of b.backlog) if (!queue.includes(m) && inRange(m) && matchesFilters(m, request.filters)) yield m;
    }
    while (!request.signal.aborted) {
      const m = queue.shift();
      if (m) {
        if (inRange(m) && matchesFilters(m, request.filters)) yield m;
        continue;
      }
      if (past) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    b.emitter.off('event', onEvent);
    request.signal.removeEventListener('abort', onAbort);
    if (timer) clearTimeout(timer);
  }
}
