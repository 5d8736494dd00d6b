/**
 * Atomic file replacement: a crash at any instant leaves either the old content or the new one,
 * never a torn file (temp file in the same directory, fsync, rename, fsync of the directory).
 */

import { open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';

let sequence = 0;

export async function atomicWrite(path: string, data: string | Uint8Array, options: { mode?: number } = {}): Promise<void> {
  // Unique per process and call; no crypto module (it costs CLI start-up time to load).
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${++sequence}.tmp`);
  const file = await open(tmp, 'wx', options.mode ?? 0o644);
  try {
    await file.writeFile(data);
    await file.sync();
  } catch (err) {
    await file.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await file.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
