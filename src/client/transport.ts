/**
 * The connection under http1.ts: a unix-socket stream with the part of node's net.Socket the
 * client and the attach plumbing use. Under Node it is net.Socket itself, node:net loaded at the
 * first connection; under Bun it is Bun's own socket behind the same events, since loading
 * node:net costs a compiled berth ~5 ms at start-up and its first connect ~2 ms more, where
 * `Bun.connect` needs no module and connects in a fraction of a millisecond.
 */

import { EventEmitter } from 'node:events';

/** The net.Socket subset berth's client relies on: a node socket is one as it is. */
export interface EngineSocket {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'connect' | 'end' | 'close' | 'drain', listener: () => void): unknown;
  once(event: 'data', listener: (chunk: Buffer) => void): unknown;
  once(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'connect' | 'end' | 'close' | 'drain', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'connect' | 'end' | 'close' | 'drain', listener: () => void): unknown;
  /** false when the bytes wait in a queue: 'drain' follows once they are out */
  write(data: Buffer | string, callback?: (err?: Error | null) => void): boolean;
  /** half-close: the peer reads EOF and may still answer */
  end(): unknown;
  destroy(): unknown;
  pause(): unknown;
  resume(): unknown;
  /** puts bytes back in front of those not yet read */
  unshift(chunk: Buffer): void;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  /** null until a 'data' listener or resume() starts the flow; pause() sets false */
  readableFlowing: boolean | null;
}

/** The few members of Bun's socket (bun-types is not a dependency) this adapter calls. */
interface BunSocket {
  write(data: Buffer): number;
  shutdown(): void;
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
}

interface BunSocketHandlers {
  open(socket: BunSocket): void;
  data(socket: BunSocket, data: Buffer): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
}

interface BunRuntime {
  connect(options: { unix: string; allowHalfOpen: boolean; socket: BunSocketHandlers }): Promise<BunSocket>;
}

const bun = (globalThis as { Bun?: BunRuntime }).Bun;

/** A connection to the unix socket at `path`, being made: writes wait for it, a failure is an 'error'. */
export function openSocket(path: string): EngineSocket {
  if (bun) return new BunUnixSocket(bun, path);
  // synchronous (getBuiltinModule, not import()): a caller's streamed body, a child process's
  // stdout, must start being read in this tick, or the child's exit drains it unread
  return process.getBuiltinModule('node:net').connect({ path });
}

interface PendingWrite {
  data: Buffer;
  callback: ((err?: Error | null) => void) | undefined;
}

/**
 * net.Socket's behaviour over Bun's socket: reads flow once a 'data' listener comes (bytes that
 * arrive before are kept, as a paused Readable keeps them), 'end' after the last byte is read,
 * 'close' last; Bun writes what the kernel takes at once, the rest waits here for its drain.
 * Like net.connect's default (allowHalfOpen false) the connection closes once the peer's side
 * has ended and been read, but end() only shuts down the writing side.
 */
class BunUnixSocket extends EventEmitter implements EngineSocket {
  #socket: BunSocket | undefined;
  /** bytes received and not yet emitted (paused, or no reader yet) */
  #received: Buffer[] = [];
  #writes: PendingWrite[] = [];
  #needDrain = false;
  #shutDown = false;
  #peerEnded = false;
  #endEmitted = false;
  #closed = false;
  #closeEmitted = false;
  #flushScheduled = false;
  destroyed = false;
  writableEnded = false;
  readableFlowing: boolean | null = null;

  constructor(runtime: BunRuntime, path: string) {
    super();
    // as on a node stream: the first 'data' listener starts the flow unless pause() stopped it
    this.on('newListener', (event: string) => {
      if (event === 'data' && this.readableFlowing !== false) this.resume();
    });
    runtime
      .connect({
        unix: path,
        allowHalfOpen: true,
        socket: {
          open: (socket) => this.#opened(socket),
          data: (_socket, data) => this.#receive(data),
          drain: () => this.#flushWrites(),
          end: () => this.#ended(),
          close: (_socket, error) => {
            this.#socket = undefined;
            this.#closed = true;
            if (error) this.#fail(error);
            else if (this.#endEmitted) {
              this.destroyed = true;
              this.#emitClose();
            } else this.#ended();
          },
          error: (_socket, error) => this.#fail(error),
        },
      })
      .then(
        (socket) => this.#opened(socket),
        (err: NodeJS.ErrnoException) => this.#fail(connectError(err, path)),
      );
  }

  #opened(socket: BunSocket): void {
    if (this.#socket === socket || this.#closed) return;
    this.#socket = socket;
    if (this.destroyed) {
      socket.terminate();
      return;
    }
    if (this.readableFlowing === false) socket.pause();
    this.emit('connect');
    this.#flushWrites();
  }

  write(data: Buffer | string, callback?: (err?: Error | null) => void): boolean {
    if (this.destroyed || this.writableEnded) {
      const err = Object.assign(new Error(this.destroyed ? 'This socket has been ended by the other party' : 'write after end'), { code: this.destroyed ? 'EPIPE' : 'ERR_STREAM_WRITE_AFTER_END' });
      if (callback) process.nextTick(callback, err);
      return false;
    }
    this.#writes.push({ data: typeof data === 'string' ? Buffer.from(data) : data, callback });
    this.#flushWrites();
    if (this.#writes.length === 0) return true;
    this.#needDrain = true;
    return false;
  }

  #flushWrites(): void {
    const socket = this.#socket;
    if (!socket || this.destroyed) return;
    while (this.#writes.length > 0) {
      const next = this.#writes[0]!;
      if (next.data.length > 0) {
        const written = socket.write(next.data);
        if (written < next.data.length) {
          next.data = next.data.subarray(Math.max(written, 0));
          return;
        }
      }
      this.#writes.shift();
      if (next.callback) process.nextTick(next.callback);
    }
    if (this.writableEnded && !this.#shutDown) {
      this.#shutDown = true;
      // the peer's side already ended and was read: nothing keeps the connection open
      if (this.#endEmitted) socket.end();
      else socket.shutdown();
    }
    if (this.#needDrain) {
      this.#needDrain = false;
      this.emit('drain');
    }
  }

  end(): this {
    if (this.writableEnded || this.destroyed) return this;
    this.writableEnded = true;
    this.#flushWrites();
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.#received = [];
    this.#writes = [];
    this.#socket?.terminate();
    this.#emitClose();
    return this;
  }

  pause(): this {
    this.readableFlowing = false;
    this.#socket?.pause();
    return this;
  }

  resume(): this {
    this.readableFlowing = true;
    this.#socket?.resume();
    this.#scheduleFlush();
    return this;
  }

  unshift(chunk: Buffer): void {
    if (chunk.length > 0) this.#received.unshift(chunk);
  }

  #receive(data: Buffer): void {
    if (this.destroyed) return;
    if (this.readableFlowing === true && this.#received.length === 0) this.emit('data', data);
    else this.#received.push(data);
  }

  #ended(): void {
    if (this.#peerEnded) return;
    this.#peerEnded = true;
    this.#flushReceived();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    process.nextTick(() => {
      this.#flushScheduled = false;
      this.#flushReceived();
    });
  }

  /** Emits the kept bytes while the flow lasts, then 'end' and 'close' once the peer's side is done. */
  #flushReceived(): void {
    while (this.readableFlowing === true && this.#received.length > 0 && !this.destroyed) this.emit('data', this.#received.shift()!);
    if (this.destroyed || this.#endEmitted || !this.#peerEnded || this.#received.length > 0 || this.readableFlowing !== true) return;
    this.#endEmitted = true;
    this.emit('end');
    if (this.destroyed) return;
    // net.connect's allowHalfOpen false: our side ends too, once what is queued is out
    if (this.#closed) {
      this.destroyed = true;
      this.#emitClose();
      return;
    }
    if (this.writableEnded && this.#shutDown) this.#socket?.end();
    else {
      this.writableEnded = true;
      this.#shutDown = false;
      this.#flushWrites();
    }
  }

  #fail(error: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#socket?.terminate();
    process.nextTick(() => {
      // node throws an 'error' nobody listens for; a CLI whose reader has gone just closes
      if (this.listenerCount('error') > 0) this.emit('error', error);
    });
    this.#emitClose();
  }

  #emitClose(): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    process.nextTick(() => this.emit('close', false));
  }
}

/** Bun's "Failed to connect" in node's words, so both runtimes print the same. */
function connectError(err: NodeJS.ErrnoException, path: string): NodeJS.ErrnoException {
  const code = err.code ?? 'ECONNREFUSED';
  return Object.assign(new Error(`connect ${code} ${path}`), { code, errno: err.errno, syscall: 'connect', address: path });
}
