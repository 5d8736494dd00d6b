/**
 * Reading docker's multiplexed stream (non-TTY attach, exec and logs): frames of an 8-byte
 * header (stream type, three zero bytes, big-endian uint32 size) and the payload. Incremental,
 * since frames straddle socket reads.
 */

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;

export class Demuxer {
  #pending: Buffer = Buffer.alloc(0);
  readonly #onFrame: (stream: number, payload: Buffer) => void;

  constructor(onFrame: (stream: number, payload: Buffer) => void) {
    this.#onFrame = onFrame;
  }

  push(chunk: Buffer): void {
    let buffer = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (buffer.length >= 8) {
      const size = buffer.readUInt32BE(4);
      if (buffer.length < 8 + size) break;
      this.#onFrame(buffer[0]!, buffer.subarray(8, 8 + size));
      buffer = buffer.subarray(8 + size);
    }
    this.#pending = Buffer.from(buffer);
  }

  /** Bytes of an incomplete frame left when the stream ended. */
  get leftover(): number {
    return this.#pending.length;
  }
}
