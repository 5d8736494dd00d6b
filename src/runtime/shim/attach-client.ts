/**
 * The client end of a monitor's attach socket (native/PLAN.md, "Attach protocol"). The
 * daemon may die and come back at any time: the container's stdio lives in its monitor,
 * and this is how the daemon (any number of times, any number of clients at once) gets
 * the live output and the exit status, and gives the container input and terminal sizes.
 */

import { connect } from 'node:net';
import type { Socket } from 'node:net';

import { EngineError } from '../../util/errors.ts';

/** Stream ids of the frame header. */
export const AttachStream = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  exit: 3,
  resize: 4,
} as const;

export interface AttachFrame {
  stream: number;
  data: Buffer;
}

const HEADER = 5;
/** Stdin travels in frames of at most this much, so one frame never holds a huge write back. */
const MAX_STDIN_FRAME = 64 * 1024;

/** `[stream u8][len u32 BE][data]`. */
export function encodeFrame(stream: number, data: Uint8Array = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(HEADER);
  head.writeUInt8(stream, 0);
  head.writeUInt32BE(data.length, 1);
  return Buffer.concat([head, data]);
}

/** Incremental frame decoder: bytes in, whole frames out. */
export class FrameDecoder {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): AttachFrame[] {
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    const frames: AttachFrame[] = [];
    let off = 0;
    while (this.#pending.length - off >= HEADER) {
      const len = this.#pending.readUInt32BE(off + 1);
      if (this.#pending.length - off - HEADER < len) break;
      frames.push({ stream: this.#pending[off]!, data: this.#pending.subarray(off + HEADER, off + HEADER + len) });
      off += HEADER + len;
    }
    this.#pending = this.#pending.subarray(off);
    return frames;
  }

  /** Bytes of a frame that has not arrived whole. */
  get buffered(): number {
    return this.#pending.length;
  }
}

/**
 * How an attachment ended: the container's exit status, or no status when the monitor
 * dropped us (we read too slowly: the log file has what we missed) or went away.
 */
export interface AttachEnd {
  exitCode: number | undefined;
}

export interface AttachHandlers {
  stdout?: (data: Buffer) => void;
  stderr?: (data: Buffer) => void;
}

/** One connection to a monitor's attach socket. */
export class AttachClient {
  /** Resolves when the monitor closes the connection; never rejects. */
  readonly ended: Promise<AttachEnd>;
  #socket: Socket;

  private constructor(socket: Socket, handlers: AttachHandlers) {
    this.#socket = socket;
    const decoder = new FrameDecoder();
    let exitCode: number | undefined;
    this.ended = new Promise<AttachEnd>((resolveEnd) => {
      socket.on('data', (chunk: Buffer) => {
        for (const frame of decoder.push(chunk)) {
          if (frame.stream === AttachStream.stdout) handlers.stdout?.(frame.data);
          else if (frame.stream === AttachStream.stderr) handlers.stderr?.(frame.data);
          else if (frame.stream === AttachStream.exit && frame.data.length === 4) exitCode = frame.data.readUInt32BE(0);
        }
      });
      // A reset or a half-read frame both mean the same here: the stream ended.
      socket.on('error', () => {});
      socket.on('close', () => resolveEnd({ exitCode }));
    });
  }

  /** Connects to the socket ATTACH_SOCKET made; output before this moment is in the log only. */
  static connect(path: string, handlers: AttachHandlers = {}): Promise<AttachClient> {
    return new Promise((resolveConnect, reject) => {
      const socket = connect(path);
      const onError = (err: NodeJS.ErrnoException): void => {
        const kind = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? 'not-found' : 'unavailable';
        reject(new EngineError(kind, `connect attach socket ${path}: ${err.code ?? err.message}`, { cause: err }));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolveConnect(new AttachClient(socket, handlers));
      });
    });
  }

  /** Sends input to the container's stdin (pipe or pty); false when the kernel buffer is full. */
  write(data: Uint8Array): boolean {
    let ok = true;
    for (let off = 0; off < data.length; off += MAX_STDIN_FRAME) {
      ok = this.#socket.write(encodeFrame(AttachStream.stdin, data.subarray(off, off + MAX_STDIN_FRAME)));
    }
    return ok;
  }

  /** EOF on the container's stdin pipe (a pty takes its EOF character through write() instead). */
  closeStdin(): void {
    this.#socket.write(encodeFrame(AttachStream.stdin));
  }

  /** The container's terminal size (TIOCSWINSZ on its pty; ignored without one). */
  resize(rows: number, cols: number): void {
    const size = Buffer.alloc(4);
    size.writeUInt16BE(rows, 0);
    size.writeUInt16BE(cols, 2);
    this.#socket.write(encodeFrame(AttachStream.resize, size));
  }

  /** Detaches after what was written has gone out: the container runs on, untouched. */
  close(): void {
    this.#socket.end();
  }
}
