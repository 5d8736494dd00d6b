/**
 * `docker exec`: exec instances (moby's ExecConfig) created against a running container,
 * started once, inspected for their exit code afterwards. Each runs under a foreground shim
 * (the runtime's `exec`): a plain exec's stdout/stderr are the shim's pipes, which the daemon
 * holds; an attached TTY exec's pty is served by the shim on an attach socket, as a container's
 * is, so resize frames reach it. Instances live in memory, as in Docker, until their container goes.
 */

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Process, Spec } from '../oci/runtime-spec.ts';
import { AttachClient, exec, keepMigrationLockWarm } from '../runtime/index.ts';
import { SyscallError, conflict, invalidArgument, notFound } from '../util/errors.ts';
import { ChunkQueue, type OutputChunk } from './attach.ts';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import { emitContainerEvent, execAction } from './events.ts';
import { rootfsDir } from './paths.ts';
import { effectiveCapabilities } from './spec/spec-opts.ts';
import { processEnv } from './start.ts';
import { resolveUser } from './user.ts';
import type { ExecCreateRequest } from '../api/index.ts';

export type { ExecCreateRequest };

/** What `GET /exec/{id}/json` answers (moby's ExecInspect). */
export interface ExecInspect {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; privileged: boolean; user: string };
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  CanRemove: boolean;
  ContainerID: string;
  DetachKeys: string;
  Pid: number;
}

interface ExecInstance {
  id: string;
  container: Container;
  config: ExecCreateRequest & { Cmd: string[] };
  started: boolean;
  running: boolean;
  exitCode: number | null;
  pid: number;
  /** a TTY exec's attach connection: its resize frames size the pty */
  client?: AttachClient;
}

export interface ExecStartRequest {
  detach: boolean;
  consoleSize?: number[] | null;
  /** the client's bytes for the process's stdin (the hijacked connection) */
  input?: AsyncIterable<Uint8Array>;
  signal: AbortSignal;
}

const registries = new WeakMap<DaemonContext, Map<string, ExecInstance>>();

function registry(ctx: DaemonContext): Map<string, ExecInstance> {
  let map = registries.get(ctx);
  if (!map) registries.set(ctx, (map = new Map()));
  return map;
}

function lookup(ctx: DaemonContext, id: string): ExecInstance {
  const instance = registry(ctx).get(id);
  if (!instance) throw notFound(`No such exec instance: ${id}`);
  return instance;
}

export function createExec(ctx: DaemonContext, c: Container, request: ExecCreateRequest): { Id: string } {
  // its start moves the process into the container's cgroups
  keepMigrationLockWarm();
  if (!request.Cmd?.length) throw invalidArgument('No exec command specified');
  if (!c.running) throw conflict(`container ${c.id} is not running`);
  if (c.record.State.Paused) throw conflict(`Container ${c.id} is paused, unpause the container before exec`);
  const id = randomBytes(32).toString('hex');
  registry(ctx).set(id, { id, container: c, config: { ...request, Cmd: [...request.Cmd] }, started: false, running: false, exitCode: null, pid: 0 });
  emitContainerEvent(ctx, c, execAction('exec_create', request.Cmd), { execID: id });
  // Docker forgets exec instances with their container; we do at its removal.
  void c.removed().then(() => {
    for (const [key, instance] of registry(ctx)) if (instance.container === c) registry(ctx).delete(key);
  });
  return { Id: id };
}

export function inspectExec(ctx: DaemonContext, id: string): ExecInspect {
  const e = lookup(ctx, id);
  return {
    ID: e.id,
    Running: e.running,
    ExitCode: e.exitCode,
    ProcessConfig: { tty: e.config.Tty === true, entrypoint: e.config.Cmd[0]!, arguments: e.config.Cmd.slice(1), privileged: e.config.Privileged === true, user: e.config.User ?? '' },
    OpenStdin: e.config.AttachStdin === true,
    OpenStderr: e.config.AttachStderr === true,
    OpenStdout: e.config.AttachStdout === true,
    CanRemove: false,
    ContainerID: e.container.id,
    DetachKeys: e.config.DetachKeys ?? '',
    Pid: e.pid,
  };
}

export function execIsTty(ctx: DaemonContext, id: string): boolean {
  return lookup(ctx, id).config.Tty === true;
}

/** The exec's process: the container's own settings (from its bundle) with the exec's overrides. */
async function execProcess(c: Container, e: ExecInstance, consoleSize: { height: number; width: number } | undefined): Promise<Process> {
  const spec = JSON.parse(await readFile(join(c.dir, 'config.json'), 'utf8')) as Spec;
  const base = spec.process!;
  const config = c.record.Config;
  const user = await resolveUser(rootfsDir(c.dir), e.config.User || config.User, c.record.HostConfig.GroupAdd ?? []);
  const env = new Map<string, string>();
  for (const entry of [...processEnv(config, spec.hostname ?? c.id.slice(0, 12), user.home), ...(e.config.Tty ? ['TERM=xterm'] : []), ...(e.config.Env ?? [])]) env.set(entry.split('=')[0]!, entry);
  const process: Process = {
    ...base,
    args: e.config.Cmd,
    env: [...env.values()],
    cwd: e.config.WorkingDir || base.cwd || '/',
    user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
    terminal: e.config.Tty === true,
  };
  delete process.consoleSize;
  if (consoleSize) process.consoleSize = consoleSize;
  if (e.config.Privileged) {
    const all = effectiveCapabilities([], [], true);
    process.capabilities = { bounding: all, effective: all, permitted: all };
  }
  return process;
}

/** Output chunks handed from stream callbacks to one async consumer. */
function collect(sources: Array<[Readable | null | undefined, 1 | 2]>): AsyncGenerator<OutputChunk> {
  const items: OutputChunk[] = [];
  let open = 0;
  let wake: (() => void) | undefined;
  for (const [source, stream] of sources) {
    if (!source) continue;
    open++;
    source.on('data', (data: Buffer) => {
      items.push({ stream, data });
      wake?.();
    });
    source.once('close', () => {
      open--;
      wake?.();
    });
    source.on('error', () => {});
  }
  return (async function* () {
    for (;;) {
      const item = items.shift();
      if (item) {
        yield item;
        continue;
      }
      if (open === 0) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  })();
}

/** The text the docker CLI shows when the command could not start (runc's wording, as Docker relays it). */
function startFailure(command: string, error: Error): string {
  const errno = error instanceof SyscallError ? error.errno : 0;
  const reason = errno === 2 ? (command.includes('/') ? 'no such file or directory' : 'executable file not found in $PATH') : errno === 13 ? 'permission denied' : error.message;
  return `OCI runtime exec failed: exec failed: unable to start container process: exec: ${JSON.stringify(command)}: ${reason}: unknown`;
}

/** sun_path's limit: a longer path falls back to the shim's pipes (no resize). */
const MAX_SOCKET_PATH = 107;

/** A short free name beside the container's runtime state (the 64-digit ID already takes most of sun_path). */
function execSocketPath(ctx: DaemonContext, containerId: string): string | undefined {
  for (;;) {
    const path = join(ctx.runtime.store.dir(containerId), `e${randomBytes(3).toString('hex')}.sock`);
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) return undefined;
    if (!existsSync(path)) return path;
  }
}

async function pumpToClient(input: AsyncIterable<Uint8Array>, client: AttachClient): Promise<void> {
  try {
    for await (const chunk of input) if (chunk.length > 0) client.write(chunk);
  } catch {
    // the client went away
  }
}

/** `POST /exec/{id}/resize`: a resize frame to a TTY exec's monitor; nothing to do otherwise. */
export function resizeExec(ctx: DaemonContext, id: string, height: number, width: number): void {
  const e = lookup(ctx, id);
  if (e.running && e.client && height > 0 && width > 0) e.client.resize(height, width);
}

async function pumpInput(input: AsyncIterable<Uint8Array>, stdin: Writable): Promise<void> {
  stdin.on('error', () => {});
  try {
    for await (const chunk of input) {
      if (!stdin.write(chunk)) await new Promise((resolve) => stdin.once('drain', resolve));
    }
  } catch {
    // the client went away
  } finally {
    stdin.end();
  }
}

/**
 * `POST /exec/{id}/start`: runs the process; attached, its output until it exits (and its
 * exit code is recorded before the stream ends: the docker CLI inspects right after EOF).
 */
export async function startExec(ctx: DaemonContext, id: string, request: ExecStartRequest): Promise<AsyncIterable<OutputChunk>> {
  const e = lookup(ctx, id);
  if (e.started) throw conflict(`Exec command ${id} has already run`);
  const c = e.container;
  if (!c.running) throw conflict(`container ${c.id} is not running`);
  if (c.record.State.Paused) throw conflict(`Container ${c.id} is paused, unpause the container before exec`);
  e.started = true;
  const [height = 0, width = 0] = request.consoleSize ?? e.config.ConsoleSize ?? [];
  const consoleSize = e.config.Tty && height > 0 && width > 0 ? { height, width } : undefined;
  const attached = !request.detach;
  const stdin = attached && e.config.AttachStdin === true && request.input !== undefined;
  const tty = e.config.Tty === true;
  // An attached TTY is served on an attach socket (resizable); otherwise the shim's pipes carry the stdio.
  const socket = attached && tty ? execSocketPath(ctx, c.id) : undefined;
  const stdio: Array<'pipe' | 'ignore'> = socket ? ['ignore', 'ignore', 'ignore'] : [stdin || tty ? 'pipe' : 'ignore', attached ? 'pipe' : 'ignore', attached && !tty ? 'pipe' : 'ignore'];
  const queue = new ChunkQueue();
  let result: Awaited<ReturnType<typeof exec>>;
  try {
    result = await exec(ctx.runtime, c.id, {
      process: await execProcess(c, e, consoleSize),
      stdio,
      ...(socket
        ? {
            monitorStdio: { stdin: false, attachSocket: socket },
            beforeStart: async () => {
              const client = await AttachClient.connect(socket, { stdout: (data) => queue.push({ stream: 1, data }) });
              e.client = client;
              void client.ended.then(() => queue.end());
            },
          }
        : {}),
    });
  } catch (err) {
    e.client?.close();
    e.exitCode = 126;
    throw err;
  }
  e.pid = result.pid;
  e.running = true;
  emitContainerEvent(ctx, c, execAction('exec_start', e.config.Cmd), { execID: e.id });
  let failure: string | undefined;
  const exited = result.exit!.then(
    (report) => {
      e.exitCode = report.code;
      e.running = false;
      emitContainerEvent(ctx, c, 'exec_die', { execID: e.id, exitCode: String(report.code) });
      if (report.error) failure = startFailure(e.config.Cmd[0]!, report.error);
    },
    () => {
      e.exitCode = 126;
      e.running = false;
    },
  );
  if (socket) {
    const client = e.client;
    if (!client) {
      queue.end();
    } else {
      if (stdin && request.input) void pumpToClient(request.input, client);
      request.signal.addEventListener('abort', () => client.close(), { once: true });
    }
    return (async function* () {
      yield* queue.drain();
      await exited;
      if (failure !== undefined) yield { stream: 1, data: Buffer.from(`${failure}\r\n`) };
    })();
  }
  const child = result.child!;
  if (stdin && request.input) void pumpInput(request.input, child.stdin!);
  // a TTY without input keeps its (silent) stdin pipe open until the process ends
  void exited.then(() => child.stdin?.destroy());
  if (!attached) return (async function* () {})();
  const wantOut = e.config.AttachStdout === true;
  const wantErr = e.config.AttachStderr === true;
  const output = collect([
    [child.stdout, 1],
    [child.stderr, 2],
  ]);
  request.signal.addEventListener('abort', () => child.stdin?.destroy(), { once: true });
  return (async function* () {
    for await (const chunk of output) {
      if (chunk.stream === 1 ? wantOut : wantErr) yield chunk;
    }
    await exited;
    // moby writes a start failure into the stream, where the docker CLI shows it
    if (failure !== undefined) yield { stream: 1, data: Buffer.from(`${failure}\r\n`) };
  })();
}
