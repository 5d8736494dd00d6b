/**
 * A container's output, read back from the stdout/stderr files its monitor writes: all of it
 * or the last N lines (`logs`), then — following — what arrives until the container's next
 * exit (`logs -f`, attach). Interim: the monitor's json-file log (one file, both streams in
 * order, timestamps) replaces the two files, and these readers with it.
 */

import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode } from '../util/errors.ts';
import { STDERR_LOG, STDOUT_LOG } from './start.ts';

export interface OutputChunk {
  stream: 1 | 2;
  data: Uint8Array;
}

interface Source {
  path: string;
  stream: 1 | 2;
  offset: number;
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

async function size(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return 0;
    throw err;
  }
}

/** The byte offset where the last `lines` lines of the file begin. */
export async function tailOffset(path: string, lines: number): Promise<number> {
  const total = await size(path);
  if (total === 0) return 0;
  if (lines === 0) return total;
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(total);
    await handle.read(buf, 0, total, 0);
    let at = buf[total - 1] === 0x0a ? total - 1 : total;
    for (let seen = 0; at > 0; at--) {
      if (buf[at - 1] === 0x0a && ++seen === lines) return at;
    }
    return 0;
  } finally {
    await handle.close();
  }
}

async function readNew(source: Source): Promise<Uint8Array | undefined> {
  let handle;
  try {
    handle = await open(source.path, 'r');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const { size: end } = await handle.stat();
    if (end <= source.offset) return undefined;
    const buf = Buffer.alloc(end - source.offset);
    const { bytesRead } = await handle.read(buf, 0, buf.length, source.offset);
    source.offset += bytesRead;
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export async function* readOutput(dir: string, options: ReadOutputOptions): AsyncGenerator<OutputChunk> {
  const sources: Source[] = [];
  const wanted: Array<[boolean, string, 1 | 2]> = [
    [options.stdout, STDOUT_LOG, 1],
    [options.stderr, STDERR_LOG, 2],
  ];
  for (const [on, file, stream] of wanted) {
    if (!on) continue;
    const path = join(dir, file);
    const offset = options.fromEnd ? await size(path) : options.tail !== undefined ? await tailOffset(path, options.tail) : 0;
    sources.push({ path, stream, offset });
  }
  let done = options.until === undefined;
  options.until?.then(() => (done = true), () => (done = true));
  for (;;) {
    const finished = done || options.signal?.aborted === true;
    for (const source of sources) {
      const data = await readNew(source);
      if (data) yield { stream: source.stream, data };
    }
    if (finished) return;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 50));
  }
}
