/**
 * A container's output, read back from the stdout/stderr files its monitor writes: all of it
 * or the last N lines (`logs`), then — following — what arrives until the container's next
 * exit (`logs -f`, attach). Interim: the monitor's json-file log (one file, both streams in
 * order, timestamps) replaces the two files, and these readers with it.
 */

import { open, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode } from '../util/errors.ts';
import { STDERR_LOG, STDOUT_LOG } from './paths.ts';

export interface OutputChunk {
  stream: 1 | 2;
  data: Uint8Array;
}

/**
 * One output file, read through a descriptor opened once: the reader keeps its data even when
 * the container is removed (and its directory with it) before the last bytes were read.
 */
interface Source {
  path: string;
  stream: 1 | 2;
  offset: number;
  handle?: FileHandle;
}

export interface ReadOutputOptions {
  stdout: boolean;
  stderr: boolean;
  /** start at the current end instead of the beginning (attach without logs) */
  fromEnd?: boolean;
  /** only the last N lines of each stream */
  tail?: number;
  /** keep reading until this settles, then drain */
  until?: Promise<unknown>;
  signal?: AbortSignal;
  pollMs?: number;
}

/** Large logs go out in pieces, each sent before the next is read. */
const READ_CHUNK = 256 * 1024;

async function size(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return 0;
    throw err;
  }
}

/** The byte offset where the last `lines` lines of the file begin, found reading backwards. */
export async function tailOffset(path: string, lines: number): Promise<number> {
  const total = await size(path);
  if (total === 0) return 0;
  if (lines === 0) return total;
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    let seen = 0;
    // a final newline ends the last line; it does not start another
    let end = total;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, total - 1);
    if (last[0] === 0x0a) end = total - 1;
    while (end > 0) {
      const start = Math.max(0, end - buf.length);
      const { bytesRead } = await handle.read(buf, 0, end - start, start);
      for (let i = bytesRead - 1; i >= 0; i--) {
        if (buf[i] === 0x0a && ++seen === lines) return start + i + 1;
      }
      end = start;
    }
    return 0;
  } finally {
    await handle.close();
  }
}

async function openSource(source: Source): Promise<void> {
  if (source.handle) return;
  try {
    source.handle = await open(source.path, 'r');
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
  }
}

async function readNew(source: Source): Promise<Uint8Array | undefined> {
  await openSource(source);
  if (!source.handle) return undefined;
  const { size: end } = await source.handle.stat();
  if (end <= source.offset) return undefined;
  const buf = Buffer.alloc(Math.min(end - source.offset, READ_CHUNK));
  const { bytesRead } = await source.handle.read(buf, 0, buf.length, source.offset);
  source.offset += bytesRead;
  return buf.subarray(0, bytesRead);
}

/**
 * Opens the output files and fixes the starting offsets now — before the caller answers its
 * client, who may start the container next — and returns the reader.
 */
export async function openOutput(dir: string, options: ReadOutputOptions): Promise<AsyncGenerator<OutputChunk>> {
  const sources: Source[] = [];
  const wanted: Array<[boolean, string, 1 | 2]> = [
    [options.stdout, STDOUT_LOG, 1],
    [options.stderr, STDERR_LOG, 2],
  ];
  try {
    for (const [on, file, stream] of wanted) {
      if (!on) continue;
      const path = join(dir, file);
      const offset = options.fromEnd ? await size(path) : options.tail !== undefined ? await tailOffset(path, options.tail) : 0;
      const source: Source = { path, stream, offset };
      sources.push(source);
      await openSource(source);
    }
  } catch (err) {
    for (const source of sources) await source.handle?.close();
    throw err;
  }
  return readSources(sources, options);
}

async function* readSources(sources: Source[], options: ReadOutputOptions): AsyncGenerator<OutputChunk> {
  let done = options.until === undefined;
  options.until?.then(() => (done = true), () => (done = true));
  try {
    for (;;) {
      const finished = done || options.signal?.aborted === true;
      let more = false;
      for (const source of sources) {
        const data = await readNew(source);
        if (data) {
          more = true;
          yield { stream: source.stream, data };
        }
      }
      if (more) continue;
      if (finished) return;
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 50));
    }
  } finally {
    for (const source of sources) await source.handle?.close();
  }
}
