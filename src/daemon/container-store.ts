/**
 * Every container the daemon knows, by ID and by name, mirrored on disk: one directory per
 * container under <data root>/containers/<id>, its record in config.v2.json written atomically,
 * so a crash leaves the old record or the new one and a restart finds them all again.
 */

import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite, atomicWriteSync } from '../util/atomic-write.ts';
import { removeInBackground, sweepTrash } from '../util/trash.ts';
import { conflict, fsError, invalidArgument, notFound } from '../util/errors.ts';
import { Container, type ContainerRecord } from './container.ts';

export const RECORD_FILE = 'config.v2.json';
const ID_RE = /^[0-9a-f]{64}$/;

export class ContainerStore {
  readonly root: string;
  #byId = new Map<string, Container>();
  #byName = new Map<string, string>();

  constructor(root: string) {
    this.root = root;
  }

  /** Reads every record on disk; a directory without a readable record is reported, not fatal. */
  async load(warn: (message: string) => void): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o710 });
    await sweepTrash(this.root);
    for (const id of await readdir(this.root)) {
      if (!ID_RE.test(id)) continue;
      try {
        const record = JSON.parse(await readFile(join(this.root, id, RECORD_FILE), 'utf8')) as ContainerRecord;
        this.#index(new Container(record, join(this.root, id)));
      } catch (err) {
        warn(`load container ${id}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  dirFor(id: string): string {
    return join(this.root, id);
  }

  all(): Container[] {
    return [...this.#byId.values()];
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  nameTaken(name: string): boolean {
    return this.#byName.has(name);
  }

  /**
   * Reserves the name and creates the container's directory; the record is written by the
   * caller's first save. Docker's conflict message, verbatim.
   */
  async add(record: ContainerRecord): Promise<Container> {
    const holder = this.#byName.get(record.Name);
    if (holder !== undefined) {
      throw conflict(`Conflict. The container name "${record.Name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    const container = new Container(record, this.dirFor(record.ID));
    this.#index(container);
    try {
      await mkdir(container.dir, { mode: 0o710 });
    } catch (err) {
      this.#unindex(container);
      throw err;
    }
    return container;
  }

  /** Moves the container to a new name, with the same conflict rule as create. */
  async rename(container: Container, name: string): Promise<void> {
    const holder = this.#byName.get(name);
    if (holder !== undefined) {
      throw conflict(`Conflict. The container name "${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    const old = container.record.Name;
    this.#byName.delete(old);
    this.#byName.set(name, container.id);
    container.record.Name = name;
    try {
      await this.save(container);
    } catch (err) {
      this.#byName.delete(name);
      this.#byName.set(old, container.id);
      container.record.Name = old;
      throw err;
    }
  }

  /**
   * `durable: false` skips the fsyncs (the rename still replaces the record atomically): for
   * state a reboot makes stale anyway, such as "running", which the daemon reconciles with the
   * shims and the kernel when it starts.
   */
  async save(container: Container, options: { durable?: boolean } = {}): Promise<void> {
    const path = join(container.dir, RECORD_FILE);
    const data = JSON.stringify(container.record);
    try {
      if (options.durable === false) atomicWriteSync(path, data, { mode: 0o600, durable: false });
      else await atomicWrite(path, data, { mode: 0o600 });
    } catch (err) {
      throw fsError(err, 'write', path);
    }
  }

  /**
   * The container is forgotten at once; its directory leaves its place then, or once `after`
   * (the unmount of a rootfs inside it) is done, and its contents (the log may be large) go in
   * the background. A crash meanwhile leaves the directory to the next load: its record (an
   * exited `--rm` container's) or its trash is removed then.
   */
  async delete(container: Container, warn: (message: string) => void = () => {}, options: { after?: Promise<unknown> } = {}): Promise<void> {
    this.#unindex(container);
    const remove = (): void => {
      const { done } = removeInBackground(container.dir);
      done.catch((err: unknown) => warn(`remove ${container.dir}: ${err instanceof Error ? err.message : String(err)}`));
    };
    if (options.after === undefined) remove();
    // a rootfs still mounted stays where it is, for the next start of the daemon to unmount
    else options.after.then(remove, (err: unknown) => warn(`keep ${container.dir}, its rootfs still mounted: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** Docker's lookup order: full ID, exact name, then a unique ID prefix. */
  get(ref: string): Container {
    if (ref === '') throw invalidArgument('No container name or ID supplied');
    const byId = this.#byId.get(ref);
    if (byId) return byId;
    const named = this.#byName.get(ref.startsWith('/') ? ref : `/${ref}`);
    if (named !== undefined) return this.#byId.get(named)!;
    if (/^[0-9a-f]+$/.test(ref)) {
      const matches = [...this.#byId.keys()].filter((id) => id.startsWith(ref));
      if (matches.length > 1) throw invalidArgument(`Multiple IDs found with provided prefix: ${ref}`);
      if (matches[0] !== undefined) return this.#byId.get(matches[0])!;
    }
    throw notFound(`No such container: ${ref}`);
  }

  #index(container: Container): void {
    this.#byId.set(container.id, container);
    this.#byName.set(container.record.Name, container.id);
  }

  #unindex(container: Container): void {
    this.#byId.delete(container.id);
    if (this.#byName.get(container.record.Name) === container.id) this.#byName.delete(container.record.Name);
  }
}
