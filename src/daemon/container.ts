/**
 * The container model: what Docker knows about a container (its record, persisted as
 * config.v2.json in the container's directory) and the in-memory signals others wait on —
 * the next exit and the removal.
 */

import type { ContainerConfig, ContainerStateJSON, HostConfig } from '../api/index.ts';
import type { MountPointRecord } from './volumes.ts';

export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** What config.v2.json holds. Field names follow Docker's inspect output where they overlap. */
export interface ContainerRecord {
  ID: string;
  /** `/name` */
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  Config: ContainerConfig;
  HostConfig: HostConfig;
  /** the image ID (`sha256:...`) the container was created from */
  Image: string;
  State: ContainerStateJSON;
  RestartCount: number;
  /** set by `docker stop`/`kill`, cleared by a start: restart policies leave the container be */
  HasBeenManuallyStopped?: boolean;
  /** the snapshot key of the container's writable layer */
  SnapshotKey: string;
  /** mounts resolved at create: binds, volumes (created then), tmpfs, --volumes-from */
  MountPoints?: MountPointRecord[];
  /** networks attached at start (docker run --network, network connect), by network name */
  Networks?: Record<string, RequestedEndpoint>;
}

/** What a container asked of one network: `--network-alias`, `--ip`. */
export interface RequestedEndpoint {
  Aliases?: string[];
  IPv4Address?: string;
}

export interface ExitStatus {
  exitCode: number;
  finishedAt: string;
  error?: string;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export function initialState(): ContainerStateJSON {
  return { Status: 'created', Running: false, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME };
}

export class Container {
  record: ContainerRecord;
  /** the container's directory under <data root>/containers */
  readonly dir: string;
  /** set while a remove is under way, so a second one (or an auto-remove) steps aside */
  removing = false;
  /** set during `restart`: its stop is no exit to auto-remove a `--rm` container on (as moby) */
  restarting = false;
  /** the runtime delete and rootfs unmount a `--rm` exit started, for the removal that follows */
  releasing: Promise<void> | undefined;
  #nextExit = deferred<ExitStatus>();
  #removed = deferred<void>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(record: ContainerRecord, dir: string) {
    this.record = record;
    this.dir = dir;
  }

  get id(): string {
    return this.record.ID;
  }

  get running(): boolean {
    return this.record.State.Running;
  }

  /** Resolves at the next exit from now. */
  nextExit(): Promise<ExitStatus> {
    return this.#nextExit.promise;
  }

  /** Resolves once the container is removed. */
  removed(): Promise<void> {
    return this.#removed.promise;
  }

  notifyExit(status: ExitStatus): void {
    const current = this.#nextExit;
    this.#nextExit = deferred();
    current.resolve(status);
  }

  notifyRemoved(): void {
    this.#removed.resolve();
  }

  /** Runs lifecycle operations (start, stop, remove) one at a time per container. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }
}
