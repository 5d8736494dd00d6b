/**
 * The image metadata database: every name → image binding in one JSON file, replaced
 * atomically on each change so a crash leaves the old list or the new one. Several `berth`
 * processes may change it at once (the CLI runs in-process until the daemon lands), so each
 * read-modify-write holds an exclusive lock file (lock-file.ts).
 */

import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite } from '../../util/atomic-write.ts';
import { EngineError, errorCode } from '../../util/errors.ts';
import { acquireLockFile } from './lock-file.ts';
import type { ImageRecord } from './types.ts';

interface Database {
  version: 1;
  images: ImageRecord[];
}

const LOCK_TIMEOUT_MS = 60_000;

export class RecordFile {
  readonly dir: string;
  #path: string;
  #lockPath: string;
  #queue: Promise<unknown> = Promise.resolve();
  /** the last list read, with the identity of the file it came from (every write renames a new one in) */
  #cached: { identity: string; images: ImageRecord[] } | undefined;

  constructor(dir: string) {
    this.dir = dir;
    this.#path = join(dir, 'images.json');
    this.#lockPath = join(dir, 'images.lock');
  }

  /**
   * The current records. A container create looks its image up: one stat instead of a read and
   * parse while the file is unchanged. The list is shared: callers must not change it.
   */
  async read(): Promise<readonly ImageRecord[]> {
    let identity: string;
    try {
      const st = await stat(this.#path, { bigint: true });
      identity = `${st.ino}:${st.mtimeNs}:${st.size}`;
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return [];
      throw err;
    }
    if (this.#cached?.identity === identity) return this.#cached.images;
    const images = await this.#readFile();
    this.#cached = { identity, images };
    return images;
  }

  async #readFile(): Promise<ImageRecord[]> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return [];
      throw err;
    }
    let db: Database;
    try {
      db = JSON.parse(text) as Database;
    } catch (err) {
      throw new EngineError('internal', `read image database ${this.#path}: ${(err as Error).message}`, { cause: err });
    }
    if (db.version !== 1 || !Array.isArray(db.images)) throw new EngineError('internal', `read image database ${this.#path}: unknown format`);
    return db.images;
  }

  /** Runs `fn` on the current records under the lock and writes back what it returns. */
  update<T>(fn: (records: ImageRecord[]) => Promise<{ records: ImageRecord[]; result: T }> | { records: ImageRecord[]; result: T }): Promise<T> {
    const next = this.#queue.then(async () => {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const release = await acquireLockFile(this.#lockPath, { timeoutMs: LOCK_TIMEOUT_MS });
      try {
        const { records, result } = await fn(await this.#readFile());
        const db: Database = { version: 1, images: records };
        await atomicWrite(this.#path, JSON.stringify(db, null, 1) + '\n', { mode: 0o600 });
        return result;
      } finally {
        await release();
      }
    });
    this.#queue = next.catch(() => {});
    return next;
  }
}
