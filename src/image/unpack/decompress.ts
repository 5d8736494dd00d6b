/**
 * Layer decompression chosen by magic bytes rather than media type: registries and archives
 * mislabel layers often enough (docker-archive layers are plain tars named `.tar`, some OCI
 * layouts say `+gzip` for plain data) that the bytes are the only reliable witness. gzip comes
 * from node:zlib; Node 20 has no zstd, so zstd streams go through Debian's `zstd` binary.
 */

import { spawn } from 'node:child_process';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { EngineError } from '../../util/errors.ts';

export type Compression = 'gzip' | 'zstd' | 'none';

export function detectCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** Reads the first chunk(s) of a stream and returns the stream's compression and a stream that still starts at byte 0. */
export async function peekCompression(input: AsyncIterable<Uint8Array>): Promise<{ compression: Compression; stream: Readable }> {
  const it = input[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < 4) {
    const next = await it.next();
    if (next.done) {
      ended = true;
      break;
    }
    head.push(Buffer.from(next.value));
    length += next.value.byteLength;
  }
  const first = Buffer.concat(head);
  async function* replay(): AsyncGenerator<Buffer> {
    let complete = ended;
    try {
      if (first.length > 0) yield first;
      while (!complete) {
        const next = await it.next();
        if (next.done) complete = true;
        else yield Buffer.from(next.value);
      }
    } finally {
      if (!complete) await it.return?.(); // the consumer gave up: release the source
    }
  }
  return { compression: detectCompression(first), stream: Readable.from(replay(), { objectMode: false }) };
}

function zstdDecompress(input: Readable): Readable {
  const child = spawn('zstd', ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => {}); // EPIPE when zstd stops early: its exit status says why
  input.on('error', (err) => {
    child.kill('SIGKILL');
    child.stdout.destroy(err);
  });
  input.pipe(child.stdin);
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err) => reject(new EngineError('unavailable', `decompress zstd layer: ${err.message}`, { cause: err })));
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => {}); // observed below; avoid an unhandled rejection if the reader gives up first
  // stdout can end before the exit status is known: wait for it so a corrupt stream is an error, not a short layer
  async function* output(): AsyncGenerator<Buffer> {
    let complete = false;
    try {
      for await (const chunk of child.stdout) yield chunk as Buffer;
      complete = true;
    } finally {
      if (!complete) {
        child.kill('SIGKILL');
        input.destroy();
      }
    }
    const code = await exited;
    if (code !== 0) throw new EngineError('invalid-argument', `decompress zstd layer: zstd exited ${code}: ${stderr.trim()}`);
  }
  return Readable.from(output(), { objectMode: false });
}

/** The uncompressed bytes of a (possibly gzip- or zstd-compressed) stream. */
export async function decompress(input: AsyncIterable<Uint8Array>): Promise<{ compression: Compression; stream: Readable }> {
  const { compression, stream } = await peekCompression(input);
  // pipeline, not pipe: destroying the output (a refused layer) must release the input too
  // 128 KiB chunks (zlib's default is 16): fewer stream hops, and file bodies written in big pieces
  if (compression === 'gzip') return { compression, stream: pipeline(stream, createGunzip({ chunkSize: 128 * 1024 }), () => {}) };
  if (compression === 'zstd') return { compression, stream: zstdDecompress(stream) };
  return { compression, stream };
}
