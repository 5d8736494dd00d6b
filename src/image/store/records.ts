/**
 * The image metadata database: every name → image binding in one JSON file, replaced
 * atomically on each change so a crash leaves the old list or the new one. Several `berth`
 * processes may change it at once (the CLI runs in-process until the daemon lands), so each
 * read-modify-write holds an exclusive lock file naming its holder's pid; a lock whose holder
 * is gone is taken over.
 */

import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite } from '../../util/atomic-write.ts';
import { EngineError, errorCode } from '../../util/errors.ts';
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

  constructor(dir: string) {
    this.dir = dir;
    this.#path = join(dir, 'images.json');
    this.#lockPath = join(dir, 'images.lock');
  }

  async read(): Promise<ImageRecord[]> {
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
      const release = await this.#lock();
      try {
        const { records, result } = await fn(await this.read());
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

  async #lock(): Promise<() => Promise<void>> {
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    for (;;) {
      try {
        const file = await open(this.#lockPath, 'wx', 0o600);
        await file.writeFile(String(process.pid));
        await file.close();
        return () => rm(this.#lockPath, { force: true });
      } catch (err) {
        if (errorCode(err) !== 'EEXIST') throw err;
      }
      if (await this.#stale()) {
        await rm(this.#lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new EngineError('unavailable', `lock image database: ${this.#lockPath} held for more than ${LOCK_TIMEOUT_MS / 1000}s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async #stale(): Promise<boolean> {
    const text = await readFile(this.#lockPath, 'utf8').catch(() => undefined);
    if (text === undefined) return false;
    const pid = Number(text);
    // an empty file is a holder between open and write: not stale
    if (text === '' || !Number.isInteger(pid) || pid <= 0) return text !== '';
    try {
      process.kill(pid, 0);
      return false;
    } catch (err) {
      return errorCode(err) === 'ESRCH';
    }
  }
}
