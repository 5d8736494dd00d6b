/**
 * The shim's spawn under Bun (the compiled berth-runtime). node:child_process there costs 3 ms
 * for the first spawn with a pipe, Bun.spawn a fraction of one; but Bun's node:net cannot wrap
 * the fd 3 socket Bun.spawn returns. These adapters give the Subprocess and that fd the few
 * members of ChildProcess and Socket that shim-client.ts uses.
 */

import { EventEmitter } from 'node:events';
import { closeSync, writeSync } from 'node:fs';

import type { ShimChild, ShimSocket } from './shim-client.ts';

/** The few members of Bun's API (bun-types is not a dependency) this module calls. */
interface BunSubprocess {
  readonly pid: number;
  readonly exitCode: number | null;
  readonly signalCode: string | null;
  readonly exited: Promise<number>;
  readonly stdio: Array<number | null | undefined>;
  kill(signal?: string | number): void;
  ref(): void;
  unref(): void;
}

interface BunApi {
  spawn(argv: string[], options: { stdio: Array<'inherit' | 'ignore' | 'pipe' | number>; env?: NodeJS.ProcessEnv; cwd?: string }): BunSubprocess;
  file(fd: number): { stream(): ReadableStream<Uint8Array> };
}

export function bunApi(): BunApi | undefined {
  return (globalThis as { Bun?: BunApi }).Bun;
}

/** A Bun Subprocess as the child shim-client.ts expects: 'exit' and 'close' events, codes, kill. */
export class BunChild extends EventEmitter implements ShimChild {
  readonly pid: number;
  readonly stdin = null;
  readonly stdout = null;
  readonly stderr = null;
  exitCode: number | null = null;
  signalCode: string | null = null;
  readonly #proc: BunSubprocess;

  constructor(proc: BunSubprocess) {
    super();
    this.#proc = proc;
    this.pid = proc.pid;
    void proc.exited.then(() => {
      this.exitCode = proc.exitCode;
      this.signalCode = proc.signalCode;
      this.emit('exit', this.exitCode, this.signalCode);
      this.emit('close', this.exitCode, this.signalCode);
    });
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.exitCode !== null || this.signalCode !== null) return false;
    try {
      this.#proc.kill(signal);
      return true;
    } catch (err) {
      this.emit('error', err);
      return false;
    }
  }

  ref(): void {
    this.#proc.ref();
  }

  unref(): void {
    this.#proc.unref();
  }
}

/** How long a write that met a full socket buffer (EAGAIN) waits before it tries again. */
const WRITE_RETRY_MS = 1;

/**
 * The non-blocking socket fd Bun.spawn made for fd 3, with a Socket's events: 'data' (chunks in
 * order, strings after setEncoding), then 'end' at EOF or 'error', then 'close'.
 *
 * ref/unref are kept for the callers' sake, but a Bun file stream being read keeps the event loop
 * alive whatever they say: a Bun process that must not wait for the shim exits explicitly (the
 * berth-runtime entry point does).
 */
export class FdSocket extends EventEmitter implements ShimSocket {
  destroyed = false;
  readonly #fd: number;
  readonly #file: { stream(): ReadableStream<Uint8Array> };
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #decoder: InstanceType<typeof TextDecoder> | undefined;
  #pending: Buffer[] = [];
  #retry: ReturnType<typeof setTimeout> | undefined;
  #refed = true;

  constructor(fd: number, file: { stream(): ReadableStream<Uint8Array> }) {
    super();
    this.#fd = fd;
    this.#file = file;
    // Like a Socket in flowing mode: reading starts with the first 'data' listener.
    this.on('newListener', (event: string) => {
      if (event === 'data' && !this.#reader && !this.destroyed) void this.#pump();
    });
  }

  setEncoding(encoding: 'utf8'): this {
    if (encoding !== 'utf8') throw new TypeError(`fd socket: unsupported encoding ${encoding}`);
    this.#decoder = new TextDecoder('utf-8');
    return this;
  }

  write(data: string | Uint8Array): boolean {
    if (this.destroyed) return false;
    this.#pending.push(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data));
    if (this.#retry === undefined) this.#flush();
    return this.#pending.length === 0;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.#pending = [];
    clearTimeout(this.#retry);
    const reader = this.#reader;
    // Close only once the reader has let go of the fd: a number reused meanwhile must not be read.
    const release = reader ? reader.cancel().catch(() => {}) : Promise.resolve();
    void release.then(() => {
      try {
        closeSync(this.#fd);
      } catch {
        // already gone
      }
      this.emit('close', false);
    });
    return this;
  }

  ref(): this {
    this.#refed = true;
    this.#retry?.ref();
    return this;
  }

  unref(): this {
    this.#refed = false;
    this.#retry?.unref();
    return this;
  }

  #flush(): void {
    this.#retry = undefined;
    while (this.#pending.length > 0 && !this.destroyed) {
      const chunk = this.#pending[0]!;
      let written: number;
      try {
        written = writeSync(this.#fd, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
          // a plan larger than the socket buffer: the shim drains it while it reads the plan
          this.#retry = setTimeout(() => this.#flush(), WRITE_RETRY_MS);
          if (!this.#refed) this.#retry.unref();
          return;
        }
        this.#pending = [];
        process.nextTick(() => this.#fail(err as Error));
        return;
      }
      if (written < chunk.length) this.#pending[0] = chunk.subarray(written);
      else this.#pending.shift();
    }
  }

  async #pump(): Promise<void> {
    const reader = this.#file.stream().getReader();
    this.#reader = reader;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (this.destroyed) return;
        if (done) break;
        if (value.length === 0) continue;
        this.emit('data', this.#decoder ? this.#decoder.decode(value, { stream: true }) : Buffer.from(value));
      }
    } catch (err) {
      if (!this.destroyed) this.#fail(err as Error);
      return;
    }
    const rest = this.#decoder?.decode();
    if (rest) this.emit('data', rest);
    this.emit('end');
    this.destroy();
  }

  #fail(err: Error): void {
    if (this.destroyed) return;
    this.emit('error', err);
    this.destroy();
  }
}
