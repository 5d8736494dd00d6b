/**
 * Reads the json-file logs a container's monitor writes (native/PLAN.md, LOG_FILE): docker's
 * format, so `logs` works from the files alone, whether or not the daemon was running while
 * the container wrote them. Rotated files (path.N … path.1, then path) are read oldest
 * first; `follow` keeps reading the live file across rotations until told to stop.
 */

import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

import { EngineError, errorCode } from '../../util/errors.ts';

export type LogStream = 'stdout' | 'stderr';

/** One json-file entry; `log` includes its newline unless the line was split (16 KiB) or cut by EOF. */
export interface LogEntry {
  stream: LogStream;
  log: string;
  /** RFC 3339 with up to nine fraction digits, as written (Go's RFC3339Nano). */
  time: string;
}

export interface ReadLogsOptions {
  /** Only entries at or after this instant (a bigint is nanoseconds since the epoch). */
  since?: Date | bigint;
  /** Only entries at or before this instant. */
  until?: Date | bigint;
  /** Only the last N of the entries already written (follow then goes on from there). */
  tail?: number;
  /** Keep reading what the monitor appends, across rotations, until `signal` or `stop`. */
  follow?: boolean;
  /** Ends a follow at once. */
  signal?: AbortSignal;
  /** Ends a follow once everything written so far is read (resolve it when the container exited). */
  stop?: Promise<unknown>;
  /** Longest wait between checks for new data when no file event comes (ms). */
  pollMs?: number;
}

function invalidEntry(detail: string): EngineError {
  return new EngineError('internal', `parse log entry: ${detail}`);
}

/** Parses one line of a json-file log (without its newline). */
export function parseLogLine(line: string): LogEntry {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw invalidEntry(err instanceof Error ? err.message : String(err));
  }
  if (typeof value !== 'object' || value === null) throw invalidEntry('not an object');
  const { log = '', stream, time } = value as Record<string, unknown>;
  if (typeof log !== 'string') throw invalidEntry('log is not a string');
  if (stream !== 'stdout' && stream !== 'stderr') throw invalidEntry(`unknown stream ${JSON.stringify(stream)}`);
  if (typeof time !== 'string') throw invalidEntry('time is not a string');
  return { stream, log, time };
}

/** Nanoseconds since the epoch of an RFC 3339 time (Date keeps only milliseconds). */
export function timeNs(time: string): bigint {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(time);
  const ms = match ? Date.parse(`${match[1]}${match[3]}`) : NaN;
  if (!match || Number.isNaN(ms)) throw invalidEntry(`bad time ${JSON.stringify(time)}`);
  return BigInt(ms) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}

function toNs(instant: Date | bigint): bigint {
  return typeof instant === 'bigint' ? instant : BigInt(instant.getTime()) * 1_000_000n;
}

const CHUNK = 64 * 1024;

/** An open log file read line by line from where we left off; a partial last line waits. */
class LineFile {
  readonly ino: number;
  #handle: FileHandle;
  #position = 0;
  #pending: Buffer = Buffer.alloc(0);
  #chunk: Buffer | undefined;

  private constructor(handle: FileHandle, ino: number) {
    this.#handle = handle;
    this.ino = ino;
  }

  static async open(path: string): Promise<LineFile | undefined> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return undefined;
      throw new EngineError('internal', `open log ${path}: ${errorCode(err) ?? String(err)}`, { cause: err });
    }
    return new LineFile(handle, (await handle.stat()).ino);
  }

  /**
   * The complete lines appended since the last call, a chunk at a time: a log may be gigabytes,
   * and only what the reader has not taken yet is held.
   */
  async *lines(): AsyncGenerator<string> {
    const chunk = (this.#chunk ??= Buffer.alloc(CHUNK));
    for (;;) {
      const { bytesRead } = await this.#handle.read(chunk, 0, CHUNK, this.#position);
      if (bytesRead === 0) return;
      this.#position += bytesRead;
      const data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      const complete: string[] = [];
      let start = 0;
      for (let newline = data.indexOf(0x0a); newline >= 0; newline = data.indexOf(0x0a, start)) {
        if (newline > start) complete.push(data.toString('utf8', start, newline));
        start = newline + 1;
      }
      // copied: the chunk buffer is read into again
      this.#pending = Buffer.from(data.subarray(start));
      yield* complete;
    }
  }

  /**
   * The last `count` complete lines, read backwards from the end, so `--tail` costs what it
   * shows, not the whole file; the next `lines()` goes on after them (a partial last line waits).
   */
  async lastLines(count: number): Promise<string[]> {
    const size = (await this.#handle.stat()).size;
    const parts: Buffer[] = [];
    let newlines = 0;
    let from = size;
    // one newline more than lines wanted: the one before the first line kept
    while (from > 0 && newlines <= count) {
      const length = Math.min(CHUNK, from);
      from -= length;
      const part = Buffer.alloc(length);
      const { bytesRead } = await this.#handle.read(part, 0, length, from);
      for (let i = part.indexOf(0x0a); i >= 0 && i < bytesRead; i = part.indexOf(0x0a, i + 1)) newlines++;
      parts.unshift(part.subarray(0, bytesRead));
    }
    const kept = Buffer.concat(parts);
    const lastNewline = kept.lastIndexOf(0x0a);
    this.#position = size;
    this.#pending = Buffer.from(kept.subarray(lastNewline + 1));
    if (lastNewline < 0) return [];
    const lines = kept.toString('utf8', 0, lastNewline).split('\n');
    // the first piece may be the end of a line that began before what was read
    if (from > 0) lines.shift();
    return lines.filter((line) => line.length > 0).slice(-count || lines.length);
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}

/** Wakes a follow on any change in the log's directory, or after `pollMs` at the latest. */
class Waker {
  #watcher: FSWatcher | undefined;
  #wake: (() => void) | undefined;

  constructor(path: string) {
    const name = basename(path);
    try {
      this.#watcher = watch(dirname(path), (_event, file) => {
        if (file === null || String(file).startsWith(name)) this.wake();
      });
      this.#watcher.on('error', () => {});
    } catch {
      // no inotify (limits, odd filesystems): polling alone still works
    }
  }

  wake(): void {
    this.#wake?.();
  }

  wait(ms: number): Promise<void> {
    return new Promise((resolveWait) => {
      const timer = setTimeout(() => this.wake(), ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolveWait();
      };
    });
  }

  close(): void {
    this.#watcher?.close();
    this.wake();
  }
}

/** Opens the rotated files oldest first, then the live one: once open, renames cannot move them. */
async function openAll(path: string): Promise<{ rotated: LineFile[]; current: LineFile | undefined }> {
  const rotated: LineFile[] = [];
  for (let i = 1; ; i++) {
    const file = await LineFile.open(`${path}.${i}`);
    if (!file) break;
    rotated.unshift(file);
  }
  return { rotated, current: await LineFile.open(path) };
}

/** The entries of the log at `path`, oldest first; see ReadLogsOptions. */
export async function* readLogs(path: string, options: ReadLogsOptions = {}): AsyncGenerator<LogEntry> {
  const since = options.since === undefined ? undefined : toNs(options.since);
  const until = options.until === undefined ? undefined : toNs(options.until);
  const wanted = (entry: LogEntry): boolean => {
    if (since === undefined && until === undefined) return true;
    const at = timeNs(entry.time);
    return (since === undefined || at >= since) && (until === undefined || at <= until);
  };
  const waker = options.follow ? new Waker(path) : undefined;
  let stopping = false;
  const stopNow = (): void => {
    stopping = true;
    waker?.wake();
  };
  options.stop?.then(stopNow, stopNow);
  options.signal?.addEventListener('abort', () => waker?.wake(), { once: true });

  let { rotated, current } = await openAll(path);
  try {
    // What is written already: all of it, or the last `tail` entries across every file.
    if (options.tail !== undefined && since === undefined && until === undefined) {
      // newest file first, backwards, until enough lines
      const newestFirst = [...(current ? [current] : []), ...[...rotated].reverse()];
      const picked: string[][] = [];
      let missing = options.tail;
      for (const file of newestFirst) {
        if (missing <= 0 && file !== current) break;
        const lines = await file.lastLines(missing);
        picked.unshift(lines);
        missing -= lines.length;
      }
      for (const lines of picked) for (const line of lines) yield parseLogLine(line);
    } else {
      // with a time window, `tail` counts the entries inside it: every line is looked at, and
      // only the last `tail` wanted ones are held
      const backlog: LogEntry[] = [];
      for (const file of [...rotated, ...(current ? [current] : [])]) {
        for await (const line of file.lines()) {
          const entry = parseLogLine(line);
          if (!wanted(entry)) continue;
          if (options.tail === undefined) {
            yield entry;
            continue;
          }
          backlog.push(entry);
          if (backlog.length > options.tail) backlog.shift();
        }
      }
      yield* backlog;
    }
    for (const file of rotated) await file.close();
    rotated = [];
    if (!options.follow) return;

    let read = 0;
    const appended = async function* (file: LineFile | undefined): AsyncGenerator<LogEntry> {
      for await (const line of file?.lines() ?? []) {
        read++;
        const entry = parseLogLine(line);
        if (wanted(entry)) yield entry;
      }
    };
    while (!options.signal?.aborted) {
      read = 0;
      yield* appended(current);
      if (read === 0) {
        const now = await stat(path).catch(() => undefined);
        if (now && now.ino !== current?.ino) {
          // rotated: the rest of the old file first, then the new one from its start
          yield* appended(current);
          await current?.close();
          current = await LineFile.open(path);
          continue;
        }
      }
      if (read > 0) continue;
      if (stopping) return;
      await waker!.wait(options.pollMs ?? 250);
    }
  } finally {
    waker?.close();
    for (const file of rotated) await file.close();
    await current?.close();
  }
}
