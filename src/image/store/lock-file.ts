/**
 * An exclusive lock between processes on one host: a file created with O_EXCL holding the
 * owner's pid. A lock whose owner has died (kill -9, crash) is taken over, so nothing needs
 * cleaning by hand. Used for the image database's read-modify-write and, until the daemon
 * owns the data root, to keep two `berth` processes from changing it at the same time.
 */

import { open, readFile, rm } from 'node:fs/promises';
import { EngineError, errorCode } from '../../util/errors.ts';

export interface LockOptions {
  timeoutMs?: number;
  /** called once when the lock is busy and we start waiting */
  onWait?: (ownerPid: number | undefined) => void;
  signal?: AbortSignal;
}

async function owner(path: string): Promise<number | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const pid = Number(text);
  return text && Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errorCode(err) !== 'ESRCH';
  }
}

/** Waits for and takes the lock at `path`; resolves to its release. */
export async function acquireLockFile(path: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let waited = false;
  let emptySince: number | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const file = await open(path, 'wx', 0o600);
      try {
        await file.writeFile(String(process.pid));
      } finally {
        await file.close();
      }
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await rm(path, { force: true });
      };
    } catch (err) {
      if (errorCode(err) !== 'EEXIST') throw err;
    }
    const pid = await owner(path);
    if (pid !== undefined && pid !== process.pid && !alive(pid)) {
      await rm(path, { force: true });
      continue;
    }
    // an owner between open and write leaves the file empty for microseconds, not seconds
    if (pid === undefined) {
      emptySince ??= Date.now();
      if (Date.now() - emptySince > 2000) {
        await rm(path, { force: true });
        continue;
      }
    } else emptySince = undefined;
    if (!waited) {
      waited = true;
      options.onWait?.(pid);
    }
    if (Date.now() > deadline) throw new EngineError('unavailable', `lock ${path}: held by process ${pid ?? 'unknown'}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
