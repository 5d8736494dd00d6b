/**
 * A container's stdio as its monitor keeps it (native/PLAN.md, "The monitor's stdio"): the
 * json-file log that `logs` reads, and the attach socket that `attach`, `run -i/-it` and
 * `resize` talk to. Both live outside the daemon, so they survive its restarts. The docker CLI
 * attaches before it starts the container: such an attacher waits here, and the start connects
 * it to the socket after the monitor made it but before the container runs, so no output is lost.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostConfig } from '../api/index.ts';
import { AttachClient, readLogs, type LogEntry, type MonitorStdio } from '../runtime/index.ts';
import { conflict, invalidArgument } from '../util/errors.ts';
import type { Container, ContainerRecord } from './container.ts';
import type { SpecOpt } from './spec/spec-opts.ts';
import type { DaemonContext } from './context.ts';
import { emitContainerEvent } from './events.ts';

export interface OutputChunk {
  stream: 1 | 2;
  data: Uint8Array;
}

/** `<container dir>/<id>-json.log`, where Docker keeps it too. */
export function logPath(c: Container): string {
  return join(c.dir, `${c.id}-json.log`);
}

/** In the runtime's state directory of the container: on tmpfs, gone with the container. */
export function attachSocketPath(ctx: DaemonContext, id: string): string {
  return join(ctx.runtime.store.dir(id), 'attach.sock');
}

/** docker's units.RAMInBytes: `10m`, `1.5g`, `512k`, `100` (binary multiples). */
export function parseByteSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(value.trim());
  if (!match) throw invalidArgument(`invalid size: '${value}'`);
  const power = ' kmgtp'.indexOf((match[2] || ' ').toLowerCase());
  return Math.floor(Number(match[1]) * 1024 ** power);
}

/** json-file's options as the monitor takes them: max-size in bytes (0 unlimited), max-file ≥ 1. */
export function logRotation(hc: HostConfig): { maxSize: number; maxFiles: number } {
  const type = hc.LogConfig?.Type || 'json-file';
  if (type !== 'json-file' && type !== 'none') throw invalidArgument(`logging driver ${type} is not supported: only json-file and none are`);
  const config = hc.LogConfig?.Config ?? {};
  const maxSize = config['max-size'] ? parseByteSize(config['max-size']) : 0;
  const maxFiles = config['max-file'] ? Number(config['max-file']) : 1;
  if (!Number.isInteger(maxFiles) || maxFiles < 1) throw invalidArgument(`max-file cannot be less than 1`);
  if (maxFiles > 1 && maxSize === 0) throw invalidArgument("max-file can only be used with max-size");
  return { maxSize, maxFiles };
}

/** The monitor's stdio for a container: stdin when OpenStdin, the log with its rotation, the socket. */
export function monitorStdioFor(ctx: DaemonContext, c: Container): MonitorStdio {
  const { maxSize, maxFiles } = logRotation(c.record.HostConfig);
  const logged = c.record.HostConfig.LogConfig?.Type !== 'none';
  return { stdin: c.record.Config.OpenStdin === true, ...(logged ? { logFile: { path: logPath(c), maxSize, maxFiles } } : {}), attachSocket: attachSocketPath(ctx, c.id) };
}

/** Docker's RFC3339NanoFixed: always nine fraction digits. */
export function fixedNanoTime(time: string): string {
  const match = /^([^.Z+]+?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(time);
  if (!match) return time;
  return `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}${match[3]}`;
}

/** `since`/`until` as the API gives them: seconds since the epoch, with up to nine fraction digits. */
export function parseApiTime(value: string): bigint {
  const match = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(value.trim());
  if (!match) throw invalidArgument(`invalid value for since/until: ${JSON.stringify(value)}`);
  return BigInt(match[1]!) * 1_000_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

export interface LogsRequest {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  tail?: number;
  since?: string;
  until?: string;
  timestamps: boolean;
  signal: AbortSignal;
}

function toChunk(entry: LogEntry, timestamps: boolean): OutputChunk {
  const text = timestamps ? `${fixedNanoTime(entry.time)} ${entry.log}` : entry.log;
  return { stream: entry.stream === 'stderr' ? 2 : 1, data: Buffer.from(text, 'utf8') };
}

/** `GET /containers/{id}/logs` from the json-file log; following ends at the container's exit. */
export function containerLogs(c: Container, request: LogsRequest): AsyncGenerator<OutputChunk> {
  // checked before the answer starts: the client gets the error, not an empty stream
  if (c.record.HostConfig.LogConfig?.Type === 'none') throw invalidArgument('configured logging driver does not support reading');
  return readContainerLogs(c, request);
}

async function* readContainerLogs(c: Container, request: LogsRequest): AsyncGenerator<OutputChunk> {
  const since = request.since && request.since !== '0' ? parseApiTime(request.since) : undefined;
  const until = request.until && request.until !== '0' ? parseApiTime(request.until) : undefined;
  const follow = request.follow && c.running && until === undefined;
  const entries = readLogs(logPath(c), {
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(request.tail !== undefined ? { tail: request.tail } : {}),
    follow,
    signal: request.signal,
    ...(follow ? { stop: c.nextExit() } : {}),
  });
  for await (const entry of entries) {
    if (entry.stream === 'stdout' ? !request.stdout : !request.stderr) continue;
    yield toChunk(entry, request.timestamps);
  }
}

export interface AttachRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  logs: boolean;
  stream: boolean;
  /** the client's bytes for the container's stdin (the hijacked connection) */
  input?: AsyncIterable<Uint8Array>;
  signal: AbortSignal;
}

/** Output chunks handed from socket callbacks to one async consumer. */
export class ChunkQueue {
  #items: OutputChunk[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  push(chunk: OutputChunk): void {
    this.#items.push(chunk);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *drain(): AsyncGenerator<OutputChunk> {
    for (;;) {
      const item = this.#items.shift();
      if (item) {
        yield item;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}

type Pending = (ctx: DaemonContext) => Promise<void>;
const pending = new WeakMap<Container, Set<Pending>>();

/**
 * Connects the attachers waiting for this start: called by start after the monitor exists and
 * before the container runs. Connected is enough: the container's first output wakes the
 * monitor in the same poll round as our pending connection at the latest, and the monitor
 * accepts before it reads output (native/shim/stdio.c). An attacher that cannot connect only
 * loses its stream.
 */
export async function connectPendingAttachers(ctx: DaemonContext, c: Container): Promise<void> {
  const waiting = pending.get(c);
  if (!waiting?.size) return;
  pending.delete(c);
  await Promise.all([...waiting].map((connect) => connect(ctx).catch((err: unknown) => ctx.warn(`attach to ${c.id}: ${err instanceof Error ? err.message : String(err)}`))));
}

/**
 * `POST /containers/{id}/attach`: the log so far when asked, then the live output until the
 * container exits (or the client leaves); the client's input goes to the container's stdin.
 */
export async function attachContainer(ctx: DaemonContext, c: Container, request: AttachRequest): Promise<AsyncIterable<OutputChunk>> {
  if (request.stdin && !c.record.Config.OpenStdin) request = { ...request, stdin: false };
  const queue = new ChunkQueue();
  const tty = c.record.Config.Tty === true;

  const connect = async (): Promise<void> => {
    const client = await AttachClient.connect(attachSocketPath(ctx, c.id), {
      ...(request.stdout ? { stdout: (data: Buffer) => queue.push({ stream: 1, data }) } : {}),
      ...(request.stderr ? { stderr: (data: Buffer) => queue.push({ stream: 2, data }) } : {}),
    });
    const onAbort = (): void => client.close();
    request.signal.addEventListener('abort', onAbort, { once: true });
    void client.ended.then(() => {
      request.signal.removeEventListener('abort', onAbort);
      queue.end();
    });
    if (request.stdin && request.input) void pumpInput(request.input, client, !tty && c.record.Config.StdinOnce === true);
  };

  const backlog = request.logs ? readLogs(logPath(c), { signal: request.signal }) : undefined;
  if (!request.stream) {
    queue.end();
  } else if (c.running) {
    await connect();
  } else {
    // docker run attaches before it starts the container: connect at that start.
    let waiting = pending.get(c);
    if (!waiting) pending.set(c, (waiting = new Set()));
    const entry: Pending = () => connect();
    waiting.add(entry);
    const forget = (): void => {
      waiting.delete(entry);
      queue.end();
    };
    request.signal.addEventListener('abort', forget, { once: true });
    // removed without ever starting: nothing more will come
    void c.removed().then(forget);
  }
  if (request.stream) emitContainerEvent(ctx, c, 'attach');
  return (async function* () {
    if (backlog) {
      for await (const entry of backlog) {
        if (entry.stream === 'stdout' ? request.stdout : request.stderr) yield toChunk(entry, false);
      }
    }
    yield* queue.drain();
  })();
}

/** The client's bytes to the container; its end closes the container's stdin when StdinOnce. */
async function pumpInput(input: AsyncIterable<Uint8Array>, client: AttachClient, closeAtEnd: boolean): Promise<void> {
  try {
    for await (const chunk of input) {
      if (chunk.length > 0) client.write(chunk);
    }
    if (closeAtEnd) client.closeStdin();
  } catch {
    // the client went away: what it sent is all there is
  }
}

/** `POST /containers/{id}/resize`: a resize frame on the container's attach socket. */
export async function resizeContainer(ctx: DaemonContext, c: Container, height: number, width: number): Promise<void> {
  if (!c.running) throw conflict(`Container ${c.id} is not running`);
  const client = await AttachClient.connect(attachSocketPath(ctx, c.id));
  client.resize(height, width);
  client.close();
  await client.ended;
  emitContainerEvent(ctx, c, 'resize', { height: String(height), width: String(width) });
}

/** HostConfig.ConsoleSize (API ≥ 1.42): the pty has the client's size before the first resize. */
export function withConsoleSize(record: ContainerRecord): SpecOpt {
  return (spec) => {
    const size = (record.HostConfig as { ConsoleSize?: number[] | null }).ConsoleSize;
    const [height = 0, width = 0] = size ?? [];
    if (record.Config.Tty === true && height > 0 && width > 0 && spec.process) spec.process.consoleSize = { height, width };
  };
}
