/**
 * The daemon's event stream (`GET /events`, `docker events`): container, image, volume and
 * network events in Docker's message shape, kept in a bounded backlog for `since` and fanned out
 * live to every subscriber. Operations report through `emitEvent` and its typed helpers, at the
 * points moby logs them (daemon/events.go and its callers); nothing here can fail them.
 */

import { EventEmitter } from 'node:events';
import { familiarName, parseReference } from '../image/reference/index.ts';
import { matchesLabels } from '../image/store/index.ts';
import { invalidArgument } from '../util/errors.ts';
import type { Container } from './container.ts';

/** moby's events.Message (the deprecated top-level status/id/from included: old clients read them). */
export interface EventMessage {
  status?: string;
  id?: string;
  from?: string;
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  /** int64 nanoseconds: beyond a double's precision, so a bigint (the API writes its digits) */
  timeNano: bigint;
}

export type EventType = 'container' | 'image' | 'volume' | 'network' | 'daemon';

export interface EventInput {
  type: EventType;
  action: string;
  actor: { ID: string; Attributes: Record<string, string> };
}

/** moby keeps the last 256 events for `since`. */
const BACKLOG = 256;

interface Bus {
  emitter: EventEmitter;
  backlog: EventMessage[];
}

/**
 * One bus per daemon, keyed by its context object (the services hold that same object, under
 * narrower types: a VolumeEnv, say), so two daemons in one process never see each other.
 */
const buses = new WeakMap<object, Bus>();

function bus(owner: object): Bus {
  let b = buses.get(owner);
  if (!b) {
    b = { emitter: new EventEmitter(), backlog: [] };
    b.emitter.setMaxListeners(0);
    buses.set(owner, b);
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

/** Stamps, records and publishes one event (moby's Events.Log). */
export function emitEvent(owner: object, event: EventInput): EventMessage {
  const nano = nowNano();
  const deprecated = event.type === 'container' || event.type === 'image';
  const from = event.actor.Attributes['image'];
  const message: EventMessage = {
    // moby fills the deprecated fields for container and image events only (empty ones omitted)
    ...(deprecated ? { status: event.action } : {}),
    ...(deprecated && event.actor.ID !== '' ? { id: event.actor.ID } : {}),
    ...(event.type === 'container' && from ? { from } : {}),
    Type: event.type,
    Action: event.action,
    Actor: { ID: event.actor.ID, Attributes: { ...event.actor.Attributes } },
    scope: 'local',
    time: Number(nano / 1_000_000_000n),
    timeNano: nano,
  };
  const b = bus(owner);
  b.backlog.push(message);
  if (b.backlog.length > BACKLOG) b.backlog.shift();
  b.emitter.emit('event', message);
  return message;
}

/** moby's LogContainerEventWithAttributes: the labels over the extras, then image and name over both. */
export function emitContainerEvent(owner: object, c: Container, action: string, extra: Record<string, string> = {}): void {
  const image = c.record.Config.Image || c.record.Image;
  const attributes: Record<string, string> = { ...extra, ...(c.record.Config.Labels ?? {}), ...(image ? { image } : {}), name: c.record.Name.replace(/^\//, '') };
  emitEvent(owner, { type: 'container', action, actor: { ID: c.id, Attributes: attributes } });
}

/**
 * moby's LogImageEvent: `id` is what moby names the actor by (the image ID, or for pull and push
 * the familiar reference), `name` the reference the event is about; the image's labels, while
 * it still exists, under them.
 */
export function emitImageEvent(owner: object, id: string, name: string, action: string, labels: Record<string, string> | null = null): void {
  emitEvent(owner, { type: 'image', action, actor: { ID: id, Attributes: { ...(labels ?? {}), ...(name !== '' ? { name } : {}) } } });
}

/** moby's LogVolumeEvent: the actor is the volume's name, attributes as the caller gives them. */
export function emitVolumeEvent(owner: object, name: string, action: string, attributes: Record<string, string>): void {
  emitEvent(owner, { type: 'volume', action, actor: { ID: name, Attributes: attributes } });
}

/** moby's LogNetworkEventWithAttributes: name and driver type over the caller's attributes. */
export function emitNetworkEvent(owner: object, network: { Id: string; Name: string; Driver?: string }, action: string, extra: Record<string, string> = {}): void {
  emitEvent(owner, { type: 'network', action, actor: { ID: network.Id, Attributes: { ...extra, name: network.Name, type: network.Driver || 'bridge' } } });
}

/** A container's volume mount points: `mount` at its start, `unmount` at its exit, with moby's attributes. */
export function emitVolumeMounts(owner: object, c: Container, mountPoints: readonly { Type: string; Name?: string; Destination: string; RW: boolean; Propagation: string; Driver?: string }[], action: 'mount' | 'unmount'): void {
  for (const mp of mountPoints) {
    if (mp.Type !== 'volume' || mp.Name === undefined) continue;
    const driver = mp.Driver || 'local';
    emitVolumeEvent(
      owner,
      mp.Name,
      action,
      action === 'mount'
        ? { driver, container: c.id, destination: mp.Destination, 'read/write': String(mp.RW), propagation: mp.Propagation }
        : { driver, container: c.id },
    );
  }
}

/** moby's `exec_create: CMD ARGS` (the space stays when there are no arguments, as in moby). */
export function execAction(action: 'exec_create' | 'exec_start', cmd: readonly string[]): string {
  return `${action}: ${cmd[0] ?? ''} ${cmd.slice(1).join(' ')}`;
}

export interface EventsRequest {
  /** nanoseconds since the epoch */
  since?: bigint;
  until?: bigint;
  filters: Record<string, string[]>;
  signal: AbortSignal;
}

/** filters.Args.ExactMatch: no values for the key, or one equal to the source. */
function exact(filters: Record<string, string[]>, key: string, source: string): boolean {
  const values = filters[key];
  return values === undefined || values.length === 0 || values.includes(source);
}

/** filters.Args.FuzzyMatch: exact, or a value the source starts with. */
function fuzzy(filters: Record<string, string[]>, key: string, source: string): boolean {
  return exact(filters, key, source) || (filters[key] ?? []).some((prefix) => source.startsWith(prefix));
}

/** moby's fuzzyMatchName: the actor's ID or its `name` attribute, whatever the event's type. */
function fuzzyName(filters: Record<string, string[]>, key: string, message: EventMessage): boolean {
  return fuzzy(filters, key, message.Actor.ID) || fuzzy(filters, key, message.Actor.Attributes['name'] ?? '');
}

/** reference.FamiliarName of a reference, or the string itself when it is none (an ID). */
function stripTag(image: string): string {
  try {
    return familiarName(parseReference(image, { defaultTag: false }));
  } catch {
    return image;
  }
}

/** These three actions carry `: …` details; naming one bare matches them by prefix (moby #25798). */
const DETAILED_ACTIONS = new Set(['health_status', 'exec_create', 'exec_start']);

/**
 * moby's events Filter.Include: every key must hold, any value of a key. `container`, `volume`,
 * `network`, `daemon` (and swarm's `plugin`, `node`, `service`, `secret`, `config`) match the
 * actor's ID or name by prefix; `image` matches the ID, the name and both without their tag.
 */
export function matchesFilters(message: EventMessage, filters: Record<string, string[]>): boolean {
  const attrs = message.Actor.Attributes;
  const eventMatches = (filters['event'] ?? []).some((v) => DETAILED_ACTIONS.has(v)) ? fuzzy(filters, 'event', message.Action) : exact(filters, 'event', message.Action);
  const imageName = attrs[message.Type === 'image' ? 'name' : 'image'] ?? '';
  const imageMatches =
    exact(filters, 'image', message.Actor.ID) || exact(filters, 'image', imageName) || exact(filters, 'image', stripTag(message.Actor.ID)) || exact(filters, 'image', stripTag(imageName));
  return (
    eventMatches &&
    exact(filters, 'type', message.Type) &&
    (filters['scope'] === undefined || exact(filters, 'scope', message.scope)) &&
    ['daemon', 'container', 'plugin', 'volume', 'network', 'node', 'service', 'secret', 'config'].every((key) => fuzzyName(filters, key, message)) &&
    imageMatches &&
    // filters.Args.MatchKVList: every `key` or `key=value` holds
    matchesLabels(filters['label'] ?? [], attrs)
  );
}

/**
 * The backlog since `since`, then live events until `until` passes or the client leaves. A bad
 * request throws here, before the stream (and its 200) begins.
 */
export function containerEvents(owner: object, request: EventsRequest): AsyncGenerator<EventMessage> {
  if (request.since !== undefined && request.until !== undefined && request.until < request.since) {
    throw invalidArgument(`\`since\` time (${formatApiTime(request.since)}) cannot be after \`until\` time (${formatApiTime(request.until)})`);
  }
  return eventStream(bus(owner), request);
}

/** `seconds.nanoseconds`, the form the CLI sends `since` and `until` in. */
function formatApiTime(nano: bigint): string {
  return `${nano / 1_000_000_000n}.${String(nano % 1_000_000_000n).padStart(9, '0')}`;
}

async function* eventStream(b: Bus, request: EventsRequest): AsyncGenerator<EventMessage> {
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
