/**
 * Reading and writing cgroupfs files. Every controller computes its writes as data
 * (`CgroupWrite[]`) so the mapping is testable without a kernel; this module is the one place
 * that turns them into write(2) calls, with errors naming file, value and errno the way runc
 * reports them (`write memory.limit_in_bytes=1048576: EBUSY`).
 */

// Synchronous on purpose: cgroupfs calls are in-kernel and take microseconds, while each
// fs/promises call costs a thread-pool round trip; a container's set-up makes ~90 of them.
import { closeSync, constants, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EngineError, errorCode } from '../util/errors.ts';

/** One value written to one file of a cgroup directory. */
export interface CgroupWrite {
  file: string;
  value: string;
}

/** A failed write to a cgroup file; `code` is the errno name (`EINVAL`). */
export class CgroupWriteError extends EngineError {
  readonly file: string;
  readonly value: string;
  readonly code: string;
  constructor(file: string, value: string, cause: unknown) {
    const code = errorCode(cause) ?? 'EIO';
    super(code === 'ENOENT' ? 'failed-precondition' : 'internal', `write ${file}=${value}: ${code}`, {
      cause,
    });
    this.name = 'CgroupWriteError';
    this.file = file;
    this.value = value;
    this.code = code;
  }
}

/**
 * Writes `value` to `dir/file` in a single write(2). No O_CREAT: a missing file means the
 * controller or kernel feature is absent, and creating a plain file would hide that. No O_RDWR:
 * kernfs refuses read access to write-only files (devices.allow, cgroup.kill) even for root.
 */
export async function writeCgroupFile(dir: string, file: string, value: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = openSync(join(dir, file), constants.O_WRONLY | constants.O_TRUNC);
    writeSync(fd, value);
  } catch (err) {
    throw new CgroupWriteError(file, value, err);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Applies writes in order; the first failure stops the sequence, as later writes may depend on it. */
export async function applyWrites(dir: string, writes: readonly CgroupWrite[]): Promise<void> {
  for (const { file, value } of writes) await writeCgroupFile(dir, file, value);
}

/** The file's content without the trailing newline; undefined when the file does not exist. */
export async function readCgroupFile(dir: string, file: string): Promise<string | undefined> {
  try {
    return readFileSync(join(dir, file), 'utf8').trimEnd();
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw new EngineError('internal', `read ${join(dir, file)}: ${errorCode(err) ?? String(err)}`, {
      cause: err,
    });
  }
}

/** A numeric cgroup file; `max` and the v1 "unlimited" sentinel read as Infinity. */
export async function readCgroupNumber(dir: string, file: string): Promise<number | undefined> {
  const text = await readCgroupFile(dir, file);
  return text === undefined ? undefined : parseCgroupNumber(text);
}

export function parseCgroupNumber(text: string): number {
  const trimmed = text.trim();
  if (trimmed === 'max') return Infinity;
  const value = Number(trimmed);
  // v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 on 4 KiB pages).
  if (value >= 2 ** 62) return Infinity;
  return value;
}

/** `key value` lines (memory.stat, cpu.stat, memory.events) as a record. */
export function parseFlatKeyed(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) out[key] = parseCgroupNumber(value);
  }
  return out;
}

/** Names in a cgroup directory; an empty set when it does not exist. */
export async function listCgroupDir(dir: string): Promise<Set<string>> {
  try {
    return new Set(readdirSync(dir));
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return new Set();
    throw err;
  }
}

/** Process ids in a cgroup.procs file, in file order. */
export async function readProcs(dir: string): Promise<number[]> {
  const text = (await readCgroupFile(dir, 'cgroup.procs')) ?? '';
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map(Number);
}
