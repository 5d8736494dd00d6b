/**
 * The exit file berth-shim's monitor writes when the container's init ends
 * (`{"exitCode":N,"signal":S|null,"finishedAt":"…"}`, atomically by rename; native/PLAN.md,
 * WAIT). It outlives the daemon, so it is how exits are learned — at once through a watch on
 * the container's directory, and again on daemon start for exits that happened while it was down.
 */

import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errorCode } from '../util/errors.ts';

export const EXIT_FILE = 'exit.json';

export interface ExitFile {
  exitCode: number;
  signal: number | null;
  finishedAt: string;
}

export function exitFilePath(dir: string): string {
  return join(dir, EXIT_FILE);
}

export async function readExitFile(path: string): Promise<ExitFile | undefined> {
  let text: string;
  try {
    // a few dozen bytes: read at once, not in three round trips through the thread pool
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as ExitFile;
  if (typeof parsed.exitCode !== 'number') throw new Error(`read exit file ${path}: no exitCode`);
  return parsed;
}

/**
 * Resolves with the exit file once it exists. inotify wakes us on the rename; `hint` (the
 * shim's own `exit` message, or its socket closing) and a slow poll are backstops.
 */
export async function awaitExitFile(path: string, options: { hint?: Promise<unknown>; signal?: AbortSignal; pollMs?: number } = {}): Promise<ExitFile | undefined> {
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  const name = basename(path);
  try {
    watcher = watch(dirname(path), (_event, file) => {
      if (file === null || file === name) wake?.();
    });
    watcher.on('error', () => wake?.());
  } catch {
    watcher = undefined;
  }
  options.hint?.then(() => wake?.(), () => wake?.());
  const onAbort = (): void => wake?.();
  options.signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      const exit = await readExitFile(path);
      if (exit) return exit;
      if (options.signal?.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs ?? 1000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    watcher?.close();
    options.signal?.removeEventListener('abort', onAbort);
  }
}
