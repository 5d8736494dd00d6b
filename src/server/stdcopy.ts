/**
 * Docker's multiplexed stream format for non-TTY attach and logs ("Stream format" in the API
 * docs): each frame is an 8-byte header — stream type (0 stdin, 1 stdout, 2 stderr), three zero
 * bytes, big-endian u32 payload length — then the payload.
 */

export type StreamType = 0 | 1 | 2;

export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';
export const RAW_STREAM = 'application/vnd.docker.raw-stream';

export function frame(stream: StreamType, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Splits a multiplexed buffer into its frames; a torn final frame is an error. */
export function unframe(data: Uint8Array): Array<{ stream: StreamType; payload: Buffer }> {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const frames: Array<{ stream: StreamType; payload: Buffer }> = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 8 > buf.length) throw new Error(`unframe: torn header at ${at}`);
    const stream = buf[at]! as StreamType;
    const length = buf.readUInt32BE(at + 4);
    if (at + 8 + length > buf.length) throw new Error(`unframe: torn payload at ${at}`);
    frames.push({ stream, payload: buf.subarray(at + 8, at + 8 + length) });
    at += 8 + length;
  }
  return frames;
}
