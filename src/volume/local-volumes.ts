/**
 * The local volume driver: a named volume is a directory `<root>/<name>/_data` that containers
 * bind-mount, with its metadata beside it in `<root>/<name>/volume.json`, written atomically.
 * The data directory is created before the metadata names it, and the metadata removed before
 * the data, so a crash leaves a complete volume or nothing `load()` will show. Which containers
 * use a volume is the engine's business: this driver only stores and deletes.
 */

import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite } from '../util/atomic-write.ts';
import { EngineError, errorCode, invalidArgument, notFound } from '../util/errors.ts';

export const LOCAL_DRIVER = 'local';
/** the label Docker puts on volumes created for a container's anonymous mount points */
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const META_FILE = 'volume.json';

/** A volume as the Engine API shows it. */
export interface Volume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  Scope: 'local';
}

export interface CreateVolumeOptions {
  driver?: string;
  labels?: Record<string, string> | null;
  options?: Record<string, string> | null;
}

/** Docker's rule and wording for names (`-v name:/path` with a bad name reads as a host path typo). */
export function checkVolumeName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw invalidArgument(`create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
}

export class LocalVolumes {
  readonly root: string;
  #volumes = new Map<string, Volume>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(root: string) {
    this.root = root;
  }

  /** Reads every volume under `root`; a directory without readable metadata is a crash leftover and goes. */
  static async open(root: string, warn: (message: string) => void = () => {}): Promise<LocalVolumes> {
    const volumes = new LocalVolumes(root);
    await mkdir(root, { recursive: true, mode: 0o701 });
    for (const name of await readdir(root)) {
      if (!NAME_RE.test(name)) continue;
      try {
        const volume = JSON.parse(await readFile(join(root, name, META_FILE), 'utf8')) as Volume;
        volumes.#volumes.set(name, { ...volume, Mountpoint: volumes.dataDir(name) });
      } catch (err) {
        if (errorCode(err) !== 'ENOENT') {
          warn(`load volume ${name}: ${err instanceof Error ? err.message : String(err)}`);
          continue;
        }
        await rm(join(root, name), { recursive: true, force: true });
      }
    }
    return volumes;
  }

  dataDir(name: string): string {
    return join(this.root, name, '_data');
  }

  list(): Volume[] {
    return [...this.#volumes.values()].map((v) => structuredClone(v));
  }

  has(name: string): boolean {
    return this.#volumes.has(name);
  }

  get(name: string): Volume {
    const volume = this.#volumes.get(name);
    if (volume === undefined) throw notFound(`get ${name}: no such volume`);
    return structuredClone(volume);
  }

  /**
   * Creates a volume, or returns the existing one of that name (Docker's create is idempotent);
   * without a name, an anonymous one with a random 64-hex name.
   */
  create(name: string | undefined, options: CreateVolumeOptions = {}): Promise<Volume> {
    return this.#serial(async () => {
      const driver = options.driver || LOCAL_DRIVER;
      if (driver !== LOCAL_DRIVER) throw notFound(`error looking up volume plugin ${driver}: plugin "${driver}" not found`);
      const volumeName = name || randomBytes(32).toString('hex');
      checkVolumeName(volumeName);
      const existing = this.#volumes.get(volumeName);
      if (existing) return structuredClone(existing);
      for (const key of Object.keys(options.options ?? {})) {
        // type/device/o mount a file system at use time: not implemented, and silently ignoring them would lose data
        throw invalidArgument(`create ${volumeName}: invalid option: "${key}"`);
      }
      const volume: Volume = {
        Name: volumeName,
        Driver: LOCAL_DRIVER,
        Mountpoint: this.dataDir(volumeName),
        CreatedAt: rfc3339Seconds(new Date()),
        Labels: options.labels ?? null,
        Options: options.options ?? null,
        Scope: 'local',
      };
      const dir = join(this.root, volumeName);
      await mkdir(join(dir, '_data'), { recursive: true, mode: 0o755 });
      try {
        await atomicWrite(join(dir, META_FILE), JSON.stringify(volume), { mode: 0o600 });
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw new EngineError('internal', `create ${volumeName}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      this.#volumes.set(volumeName, volume);
      return structuredClone(volume);
    });
  }

  /** Deletes the volume and its data; `force` makes a missing volume no error. */
  remove(name: string, options: { force?: boolean } = {}): Promise<void> {
    return this.#serial(async () => {
      if (!this.#volumes.has(name)) {
        if (options.force) return;
        throw notFound(`get ${name}: no such volume`);
      }
      const dir = join(this.root, name);
      await rm(join(dir, META_FILE), { force: true });
      this.#volumes.delete(name);
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    });
  }

  /** Bytes allocated under the volume's data (hardlinks once), for prune's SpaceReclaimed. */
  async size(name: string): Promise<number> {
    const seen = new Set<string>();
    let total = 0;
    const visit = async (path: string): Promise<void> => {
      const st = await lstat(path);
      const key = `${st.dev}:${st.ino}`;
      if (!seen.has(key)) {
        seen.add(key);
        total += st.blocks * 512;
      }
      if (st.isDirectory()) for (const entry of await readdir(path)) await visit(join(path, entry));
    };
    await visit(this.dataDir(name)).catch(() => {});
    return total;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }
}

/** Docker prints CreatedAt as RFC 3339 with the local offset and whole seconds. */
function rfc3339Seconds(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 19);
  if (offset === 0) return `${local}Z`;
  const sign = offset > 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}
