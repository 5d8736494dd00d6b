/**
 * Container routes (moby's router/container): create, start, list, inspect, wait, kill, stop,
 * remove, logs, attach. The handlers translate HTTP to the `ContainerBackend` calls below and
 * back; Docker semantics live behind the interface.
 */

import type { ContainerCreateRequest, ContainerCreateResponse, ContainerInspect, ContainerSummary, ContainerUpdateRequest, WaitCondition, WaitResponse } from '../../api/index.ts';
import { invalidArgument } from '../../util/errors.ts';
import { Router } from '../router.ts';
import { boolParam, filtersParam, intParam, readJson } from '../request.ts';
import { MULTIPLEXED_STREAM, RAW_STREAM } from '../stdcopy.ts';
import { clientInput, pumpOutput, type OutputChunk } from '../hijack.ts';

export type { OutputChunk };

export interface ListOptions {
  all: boolean;
  limit?: number;
  /** SizeRw and SizeRootFs in each row */
  size?: boolean;
  filters: Record<string, string[]>;
}

export interface LogsOptions {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  /** number of lines from the end, or undefined for all */
  tail?: number;
  /** Docker's timestamp prefix (RFC 3339, nine fraction digits) on every line */
  timestamps: boolean;
  /** seconds since the epoch, fraction allowed */
  since?: string;
  until?: string;
  signal: AbortSignal;
}

export interface AttachOptions {
  /** the client's input goes to the container's stdin */
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** replay what was logged so far first */
  logs: boolean;
  /** keep streaming until the container's next exit */
  stream: boolean;
  /** what the client sends on the hijacked connection */
  input?: AsyncIterable<Uint8Array>;
  signal: AbortSignal;
}

export interface ContainerBackend {
  create(name: string | undefined, request: ContainerCreateRequest): Promise<ContainerCreateResponse>;
  /** false when the container was already running (304) */
  start(ref: string): Promise<boolean>;
  list(options: ListOptions): Promise<ContainerSummary[]>;
  /** `size`: SizeRw and SizeRootFs filled */
  inspect(ref: string, options?: { size: boolean }): Promise<ContainerInspect>;
  /** resolves once the wait is registered; `result` when the condition is met */
  wait(ref: string, condition: WaitCondition, signal: AbortSignal): Promise<{ result: Promise<WaitResponse> }>;
  kill(ref: string, signal: string | undefined): Promise<void>;
  /** false when the container was not running (304) */
  stop(ref: string, options: { signal?: string; timeout?: number }): Promise<boolean>;
  remove(ref: string, options: { force: boolean; volumes: boolean }): Promise<void>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  restart(ref: string, options: { signal?: string; timeout?: number }): Promise<void>;
  rename(ref: string, name: string): Promise<void>;
  /** `docker container prune`: the removed IDs (null when none) */
  pruneContainers(filters: Record<string, string[]>): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>;
  /** `docker update`: resources and restart policy (moby's UpdateConfig) */
  update(ref: string, request: ContainerUpdateRequest): Promise<{ Warnings: string[] }>;
  /** whether the container has a TTY (raw output instead of multiplexed frames) */
  isTty(ref: string): Promise<boolean>;
  logs(ref: string, options: LogsOptions): Promise<AsyncIterable<OutputChunk>>;
  attach(ref: string, options: AttachOptions): Promise<AsyncIterable<OutputChunk>>;
  /** the TTY's size (rows, columns) */
  resize(ref: string, height: number, width: number): Promise<void>;
}

const WAIT_CONDITIONS: readonly string[] = ['not-running', 'next-exit', 'removed'];

export function containerRouter(backend: ContainerBackend): Router {
  return new Router()
    .add('POST', '/containers/create', async ({ req, query, reply }) => {
      const body = await readJson<ContainerCreateRequest>(req);
      if (body === undefined || typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidArgument('config cannot be empty in order to create a container');
      const name = query.get('name') ?? undefined;
      reply.json(201, await backend.create(name === '' ? undefined : name, body));
    })
    .add('POST', '/containers/{id}/start', async ({ params, reply }) => {
      reply.status((await backend.start(params['id']!)) ? 204 : 304);
    })
    .add('GET', '/containers/json', async ({ query, reply }) => {
      const limit = intParam(query, 'limit');
      const options: ListOptions = { all: boolParam(query, 'all'), filters: filtersParam(query) };
      if (limit !== undefined && limit > 0) options.limit = limit;
      if (boolParam(query, 'size')) options.size = true;
      reply.json(200, await backend.list(options));
    })
    .add('GET', '/containers/{id}/json', async ({ params, query, reply }) => {
      reply.json(200, await backend.inspect(params['id']!, { size: boolParam(query, 'size') }));
    })
    .add('POST', '/containers/{id}/wait', async ({ params, query, reply, signal }) => {
      const condition = query.get('condition') || 'not-running';
      if (!WAIT_CONDITIONS.includes(condition)) throw invalidArgument(`invalid condition: "${condition}"`);
      const { result } = await backend.wait(params['id']!, condition as WaitCondition, signal);
      // Headers at once: the client (API ≥ 1.30) takes them as "the wait is registered" and only then starts.
      reply.begin(200, { 'Content-Type': 'application/json' });
      const response = await result;
      reply.end(`${JSON.stringify(response)}\n`);
    })
    .add('POST', '/containers/{id}/kill', async ({ params, query, reply }) => {
      await backend.kill(params['id']!, query.get('signal') || undefined);
      reply.status(204);
    })
    .add('POST', '/containers/{id}/stop', async ({ params, query, reply }) => {
      reply.status((await backend.stop(params['id']!, stopOptions(query))) ? 204 : 304);
    })
    .add('POST', '/containers/{id}/pause', async ({ params, reply }) => {
      await backend.pause(params['id']!);
      reply.status(204);
    })
    .add('POST', '/containers/{id}/unpause', async ({ params, reply }) => {
      await backend.unpause(params['id']!);
      reply.status(204);
    })
    .add('POST', '/containers/{id}/restart', async ({ params, query, reply }) => {
      await backend.restart(params['id']!, stopOptions(query));
      reply.status(204);
    })
    .add('POST', '/containers/prune', async ({ query, reply }) => {
      reply.json(200, await backend.pruneContainers(filtersParam(query)));
    })
    .add('POST', '/containers/{id}/rename', async ({ params, query, reply }) => {
      await backend.rename(params['id']!, query.get('name') ?? '');
      reply.status(204);
    })
    .add('POST', '/containers/{id}/update', async ({ req, params, reply }) => {
      const body = await readJson<ContainerUpdateRequest>(req);
      if (body === undefined || typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidArgument('update config cannot be empty');
      reply.json(200, await backend.update(params['id']!, body));
    })
    .add('DELETE', '/containers/{id}', async ({ params, query, reply }) => {
      await backend.remove(params['id']!, { force: boolParam(query, 'force'), volumes: boolParam(query, 'v') });
      reply.status(204);
    })
    .add('GET', '/containers/{id}/logs', async ({ params, query, reply, signal }) => {
      const id = params['id']!;
      const stdout = boolParam(query, 'stdout');
      const stderr = boolParam(query, 'stderr');
      if (!stdout && !stderr) throw invalidArgument('Bad parameters: you must choose at least one stream');
      const tty = await backend.isTty(id);
      const options: LogsOptions = { stdout, stderr, follow: boolParam(query, 'follow'), timestamps: boolParam(query, 'timestamps'), signal };
      const tail = query.get('tail');
      if (tail !== null && tail !== '' && tail !== 'all') {
        if (!/^\d+$/.test(tail)) throw invalidArgument(`invalid value for tail: ${JSON.stringify(tail)}`);
        options.tail = Number(tail);
      }
      for (const key of ['since', 'until'] as const) {
        const value = query.get(key);
        if (value) options[key] = value;
      }
      const chunks = await backend.logs(id, options);
      reply.begin(200, { 'Content-Type': tty ? RAW_STREAM : MULTIPLEXED_STREAM });
      await pumpOutput(chunks, reply, tty);
      reply.end();
    })
    .add('POST', '/containers/{id}/attach', async (ctx) => {
      const { params, query, reply, signal } = ctx;
      const id = params['id']!;
      const tty = await backend.isTty(id);
      const input = boolParam(query, 'stdin') ? clientInput(ctx) : undefined;
      const chunks = await backend.attach(id, {
        stdin: input !== undefined,
        stdout: boolParam(query, 'stdout'),
        stderr: boolParam(query, 'stderr'),
        logs: boolParam(query, 'logs'),
        stream: boolParam(query, 'stream'),
        ...(input ? { input } : {}),
        signal,
      });
      reply.hijack(tty ? RAW_STREAM : MULTIPLEXED_STREAM);
      await pumpOutput(chunks, reply, tty);
      reply.end();
    })
    .add('POST', '/containers/{id}/resize', async ({ params, query, reply }) => {
      await backend.resize(params['id']!, intParam(query, 'h') ?? 0, intParam(query, 'w') ?? 0);
      reply.status(200);
    });
}

function stopOptions(query: URLSearchParams): { signal?: string; timeout?: number } {
  const options: { signal?: string; timeout?: number } = {};
  const timeout = intParam(query, 't');
  if (timeout !== undefined) options.timeout = timeout;
  const signal = query.get('signal');
  if (signal) options.signal = signal;
  return options;
}
