/**
 * The TypeScript end of berth-shim's protocol (native/PLAN.md, "Transport"). Node cannot
 * fork or enter namespaces, so it spawns the shim with a unix stream socket on fd 3,
 * writes the encoded plan there, then exchanges one-line messages until the shim and the
 * container process have both let go of the socket.
 */

import type { StdioOptions } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { EngineError, SyscallError } from '../../util/errors.ts';
import { encodePlan } from '../plan/plan.ts';
import type { Plan } from '../plan/plan.ts';
import { sparePreparationPlan } from '../plan/compile.ts';
import { BunChild, FdSocket, bunApi } from './bun-spawn.ts';

export type ShimMessage =
  | { type: 'pid'; pid: number }
  | { type: 'sync'; name: string }
  | { type: 'ready' }
  | { type: 'console-ready' }
  | { type: 'done' }
  | { type: 'prepared' }
  | { type: 'exit'; code: number }
  | { type: 'error'; errno: number; step: string; detail: string };

export type ShimErrorMessage = Extract<ShimMessage, { type: 'error' }>;

export interface ShimStartOptions {
  /** Defaults to shimPath(). */
  shimPath?: string;
  /** The shim's fds 0, 1, 2 (the container inherits them unless the plan sets a console). */
  stdio?: Array<'inherit' | 'ignore' | 'pipe' | number>;
  /** Descriptors passed on as fds 4, 5, ... (fd 3 is the plan socket). */
  extraFds?: number[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Take a spare shim of this configuration (spareShims()) instead of spawning one, when there
   * is one. Ignored with extraFds, env or cwd.
   */
  takeSpare?: boolean;
  /** With takeSpare: the spares prepared with these namespaces (spareShims' `namespaces`). */
  spareNamespaces?: number;
}

export interface ShimExit {
  code: number | null;
  signal: string | null;
}

const SHIM_RELATIVE = join('native', 'build', 'berth-shim');

/** Where scripts/install-shim.sh puts the shim: a read-only bind mount (native/PLAN.md, security notes). */
export const INSTALLED_SHIM = '/run/berth/shim/berth-shim';

function builtShim(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here, i = 0; i < 6; i++, dir = dirname(dir)) {
    const candidate = join(dir, SHIM_RELATIVE);
    if (existsSync(candidate)) return candidate;
  }
  return resolve(here, '..', '..', '..', SHIM_RELATIVE);
}

/**
 * The shim to run: $BERTH_SHIM; else the installed read-only copy when it is the current build
 * (every monitor then shares one page cache, and no container can ever write to it); else the
 * build output, which then seals itself into a memfd copy at start.
 */
export function shimPath(): string {
  const fromEnv = process.env['BERTH_SHIM'];
  if (fromEnv) return fromEnv;
  const built = builtShim();
  try {
    const installed = statSync(INSTALLED_SHIM);
    const build = statSync(built, { throwIfNoEntry: false });
    // install-shim.sh copies the build's mtime: equal size and mtime means the same build.
    if (!build || (installed.size === build.size && installed.mtimeMs === build.mtimeMs)) return INSTALLED_SHIM;
  } catch {
    // not installed
  }
  return built;
}

/** Parses one line the shim sent (without its newline). */
export function parseMessage(line: string): ShimMessage {
  const space = line.indexOf(' ');
  const word = space < 0 ? line : line.slice(0, space);
  const rest = space < 0 ? '' : line.slice(space + 1);
  switch (word) {
    case 'pid':
    case 'exit': {
      if (!/^\d+$/.test(rest)) break;
      return word === 'pid' ? { type: 'pid', pid: Number(rest) } : { type: 'exit', code: Number(rest) };
    }
    case 'sync':
      if (rest) return { type: 'sync', name: rest };
      break;
    case 'ready':
    case 'console-ready':
    case 'done':
    case 'prepared':
      if (!rest) return { type: word };
      break;
    case 'error': {
      const match = /^(\d+) ([^\s:]+): ?(.*)$/s.exec(rest);
      if (match) return { type: 'error', errno: Number(match[1]), step: match[2]!, detail: match[3]! };
      break;
    }
  }
  throw new EngineError('internal', `parse shim message: unexpected ${JSON.stringify(line.slice(0, 200))}`);
}

/** The shim's error report as an error to throw: `mount proc on /proc: EPERM`. */
export function shimError(msg: ShimErrorMessage): SyscallError {
  return new SyscallError(msg.step, msg.errno, msg.detail);
}

/**
 * What this module uses of a shim process: a ChildProcess under Node, bun-spawn.ts's BunChild
 * under Bun.
 */
export interface ShimChild {
  readonly pid?: number | undefined;
  /** piped only on the node:child_process path (a `pipe` in the start's stdio), else null */
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  readonly exitCode: number | null;
  readonly signalCode: string | null;
  kill(signal?: NodeJS.Signals | number): boolean;
  ref(): void;
  unref(): void;
  on(event: string, listener: (...args: any[]) => void): this;
  once(event: string, listener: (...args: any[]) => void): this;
}

/**
 * What this module uses of the plan socket (fd 3): a net.Socket under Node, bun-spawn.ts's
 * FdSocket under Bun. 'data' (strings after setEncoding), then 'end' or 'error', then 'close'.
 */
export interface ShimSocket {
  readonly destroyed: boolean;
  setEncoding(encoding: 'utf8'): this;
  write(data: string | Uint8Array): boolean;
  destroy(): this;
  ref(): this;
  unref(): this;
  on(event: string, listener: (...args: any[]) => void): this;
  off(event: string, listener: (...args: any[]) => void): this;
}

interface SpawnedShim {
  child: ShimChild;
  socket: ShimSocket;
  exited: Promise<ShimExit>;
  /** CLONE_NEW* flags of the namespaces the shim sits in already (a prepared spare), else 0. */
  prepared: number;
}

async function spawnShim(path: string, options: ShimStartOptions): Promise<SpawnedShim> {
  const base = options.stdio ?? ['ignore', 'inherit', 'inherit'];
  if (base.length > 3) throw new EngineError('invalid-argument', 'start shim: stdio has more than 3 entries');
  // A piped 0-2 (a hook's stdin) is read through the ChildProcess's streams: node:child_process then.
  const bun = base.includes('pipe') ? undefined : bunApi();
  if (bun) return spawnShimBun(bun, path, base, options);
  const stdio: StdioOptions = [...base, ...Array<'ignore'>(3 - base.length).fill('ignore'), 'pipe', ...(options.extraFds ?? [])];
  // loaded here: under Bun the shim is spawned by Bun.spawn, and the module costs start-up time
  const child = process.getBuiltinModule('node:child_process').spawn(path, [], { stdio, env: options.env ?? process.env, cwd: options.cwd });
  const exited = new Promise<ShimExit>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
  });
  await new Promise<void>((resolveSpawn, reject) => {
    child.once('spawn', resolveSpawn);
    child.once('error', (err) => reject(new EngineError('unavailable', `spawn ${path}: ${err.message}`, { cause: err })));
  });
  // Later errors (a failed kill) surface through `exited`, never as an unhandled event.
  child.on('error', () => {});
  const socket = child.stdio[3] as Socket | null | undefined;
  if (!socket) throw new EngineError('internal', `spawn ${path}: no fd 3`);
  return { child, socket, exited, prepared: 0 };
}

/**
 * Under Bun: Bun.spawn, a fraction of a millisecond where node:child_process takes 3 ms. The
 * adapters (bun-spawn.ts) carry what this module and the callers of ShimConnection.child use of a
 * ChildProcess and a Socket; this path has no piped stdio, the one part of a child they lack.
 */
function spawnShimBun(bun: NonNullable<ReturnType<typeof bunApi>>, path: string, base: Array<'inherit' | 'ignore' | 'pipe' | number>, options: ShimStartOptions): SpawnedShim {
  const stdio = [...base, ...Array<'ignore'>(3 - base.length).fill('ignore'), 'pipe' as const, ...(options.extraFds ?? [])];
  let proc;
  try {
    proc = bun.spawn([path], { stdio, ...(options.env ? { env: options.env } : {}), ...(options.cwd !== undefined ? { cwd: options.cwd } : {}) });
  } catch (err) {
    throw new EngineError('unavailable', `spawn ${path}: ${(err as Error).message}`, { cause: err });
  }
  const fd = proc.stdio[3];
  if (typeof fd !== 'number') {
    proc.kill('SIGKILL');
    throw new EngineError('internal', `spawn ${path}: no fd 3`);
  }
  const child = new BunChild(proc);
  const exited = new Promise<ShimExit>((resolveExit) => {
    child.once('exit', (code: number | null, signal: string | null) => resolveExit({ code, signal }));
  });
  child.on('error', () => {});
  return { child, socket: new FdSocket(fd, bun.file(fd)), exited, prepared: 0 };
}

/** Spare shims per spawn configuration, each blocked reading its plan. */
const spares = new Map<string, Array<Promise<SpawnedShim | undefined>>>();

function spareKey(path: string, options: ShimStartOptions): string | undefined {
  if (options.extraFds?.length || options.env || options.cwd) return undefined;
  return JSON.stringify([path, options.stdio ?? null, options.spareNamespaces ?? 0]);
}

/** The first line the shim sends, or undefined when the socket ends first. */
function firstLine(socket: ShimSocket): Promise<string | undefined> {
  return new Promise((resolveLine) => {
    let text = '';
    const done = (line?: string): void => {
      socket.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', onEnd);
      resolveLine(line);
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      const newline = text.indexOf('\n');
      if (newline >= 0) done(text.slice(0, newline));
    };
    const onEnd = (): void => done();
    socket.on('data', onData).on('end', onEnd).on('close', onEnd).on('error', onEnd);
  });
}

/**
 * Has a spare make the namespaces a container will get ahead of it (sparePreparationPlan): the
 * start then clones into them instead of creating them. Undefined when the shim could not.
 */
async function prepareSpare(spawned: SpawnedShim, namespaces: number): Promise<SpawnedShim | undefined> {
  spawned.socket.write(encodePlan(sparePreparationPlan(namespaces)));
  // a start may be waiting for this spare: the answer must keep the process up
  spawned.socket.ref();
  const answer = await firstLine(spawned.socket);
  spawned.socket.unref();
  if (answer === 'prepared') return { ...spawned, prepared: namespaces };
  spawned.child.kill('SIGKILL');
  return undefined;
}

/**
 * Spawns shims of this configuration until `count` are waiting for a plan, so that the next
 * starts (or host mounts) skip the spawn: a fork of this process and an exec, 2-6 ms and more
 * as the heap grows. For long-lived callers (the daemon), at a moment nothing waits on them:
 * a spawn blocks the event loop, and on a busy host it competes for the CPU with the shim it
 * would save time for. The spares keep nothing alive: each exits when this process does (EOF
 * on its plan socket). Resolves once they are ready.
 */
export function spareShims(count: number, options: Pick<ShimStartOptions, 'stdio' | 'shimPath' | 'spareNamespaces'> = {}): Promise<void> {
  const path = options.shimPath ?? shimPath();
  const key = spareKey(path, options)!;
  const namespaces = options.spareNamespaces ?? 0;
  // before any spawn: flags that cannot be made ahead are the caller's error
  if (namespaces) sparePreparationPlan(namespaces);
  const pool = spares.get(key) ?? [];
  spares.set(key, pool);
  while (pool.length < count) {
    pool.push(
      spawnShim(path, options).then(
        (spawned) => {
          spawned.child.unref();
          spawned.socket.unref();
          spawned.socket.on('error', () => {});
          return namespaces ? prepareSpare(spawned, namespaces) : spawned;
        },
        () => undefined,
      ),
    );
  }
  return Promise.all(pool).then(() => {});
}

/**
 * Lets every spare go (EOF on its plan socket: it exits) and reaps them, so that a daemon
 * shutting down leaves no exited shim for PID 1 to collect.
 */
export async function releaseSpareShims(): Promise<void> {
  const pending = [...spares.values()].flat();
  spares.clear();
  await Promise.all(
    pending.map(async (promise) => {
      const spare = await promise;
      if (!spare) return;
      spare.child.ref();
      spare.socket.destroy();
      await spare.exited;
    }),
  );
}

/** A spare of this configuration, unless none is left or it has ended meanwhile. */
async function takeSpare(key: string): Promise<SpawnedShim | undefined> {
  // shift() before the await: two starts at once must not take the same spare
  const spare = await spares.get(key)?.shift();
  if (!spare || spare.child.exitCode !== null || spare.child.signalCode !== null || spare.socket.destroyed) return undefined;
  spare.child.ref();
  return spare;
}

/** One running berth-shim and its fd 3. */
export class ShimConnection {
  /** A ChildProcess under Node; under Bun a BunChild, whose stdio is null (a start there pipes none). */
  readonly child: ShimChild;
  readonly exited: Promise<ShimExit>;
  #socket: ShimSocket;
  #buffered = '';
  #lines: string[] = [];
  #ended = false;
  #failure: Error | undefined;
  #waiters: Array<() => void> = [];

  private constructor(child: ShimChild, socket: ShimSocket, exited: Promise<ShimExit>) {
    this.child = child;
    this.exited = exited;
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    socket.on('end', () => this.#finish());
    socket.on('close', () => this.#finish());
    socket.on('error', (err) => this.#finish(err));
    // Only a pending next() keeps the event loop alive on the socket's behalf.
    socket.unref();
  }

  /**
   * Spawns the shim (or takes a spare one) and writes the plan on its fd 3. A plan that depends
   * on the shim is a function of the namespaces it was prepared with (0: none, a fresh shim).
   */
  static async start(plan: Plan | ((prepared: number) => Plan), options: ShimStartOptions = {}): Promise<ShimConnection> {
    const path = options.shimPath ?? shimPath();
    const key = options.takeSpare ? spareKey(path, options) : undefined;
    let spawned = key === undefined ? undefined : await takeSpare(key);
    spawned ??= await spawnShim(path, { ...options, spareNamespaces: 0 });
    let encoded: Buffer;
    try {
      encoded = encodePlan(typeof plan === 'function' ? plan(spawned.prepared) : plan);
    } catch (err) {
      spawned.socket.destroy(); // EOF before a plan: the shim exits 125
      throw err;
    }
    const conn = new ShimConnection(spawned.child, spawned.socket, spawned.exited);
    spawned.socket.write(encoded);
    return conn;
  }

  /** The next message, or undefined once every holder of the socket has closed it. */
  async next(): Promise<ShimMessage | undefined> {
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) return parseMessage(line);
      if (this.#failure) throw this.#failure;
      if (this.#ended) return undefined;
      this.#socket.ref();
      try {
        await new Promise<void>((wake) => this.#waiters.push(wake));
      } finally {
        if (this.#waiters.length === 0) this.#socket.unref();
      }
    }
  }

  /** Sends the next plan to a serving shim (a SERVE plan started it). */
  sendPlan(plan: Plan): void {
    if (this.#ended) throw new EngineError('unavailable', 'send plan: the shim has ended');
    this.#socket.write(encodePlan(plan));
  }

  /** Sends one line (`ok`, `abort <reason>`); the newline is added. */
  send(line: string): void {
    if (line.includes('\n')) throw new EngineError('invalid-argument', 'send shim message: contains a newline');
    if (!this.#ended) this.#socket.write(`${line}\n`);
  }

  /** Lets go of the shim: the socket closes and a detached monitor lives on without us. */
  close(): void {
    this.#socket.destroy();
    this.child.unref();
    this.#finish();
  }

  #onData(chunk: string): void {
    this.#buffered += chunk;
    let newline: number;
    while ((newline = this.#buffered.indexOf('\n')) >= 0) {
      this.#lines.push(this.#buffered.slice(0, newline));
      this.#buffered = this.#buffered.slice(newline + 1);
    }
    this.#wake();
  }

  #finish(err?: Error): void {
    if (err && !this.#ended) this.#failure = new EngineError('internal', `read shim socket: ${err.message}`, { cause: err });
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}
