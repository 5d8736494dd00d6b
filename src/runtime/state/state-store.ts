/**
 * The runtime's on-disk record of each container: `<root>/<id>/state.json` and the exec fifo.
 * Every verb is a new process (runc's CLI model), so this record is all that links `create` to
 * `start`, `kill` and `delete`. The live status is never trusted from the file: it is derived
 * from the kernel (is the pid alive, and still the same process? is the fifo still there?).
 */

import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteSync } from '../../util/atomic-write.ts';
import { conflict, errorCode, invalidArgument, notFound } from '../../util/errors.ts';
import type { Spec, State, Status } from '../../oci/runtime-spec.ts';
import { OCI_VERSION } from '../../oci/runtime-spec.ts';
import type { CgroupPaths } from '../../cgroups/index.ts';

export const DEFAULT_STATE_ROOT = '/run/berth/runtime';

export interface ContainerRecord {
  id: string;
  bundle: string;
  rootfs: string;
  /** Host pid of the container's init; 0 while creating. */
  pid: number;
  /** /proc/PID/stat start time, so a recycled pid is never mistaken for the container. */
  pidStartTime: number;
  created: string;
  owner: string;
  annotations: Record<string, string>;
  /** Where the container's cgroup is, per hierarchy. */
  cgroupPaths: CgroupPaths;
  config: Spec;
  /** Set once `start` has run the process (distinguishes created from stopped-before-start). */
  started: boolean;
}

const ID_RE = /^[\w+\-.]+$/;

export function checkId(id: string): void {
  if (!id || !ID_RE.test(id) || id === '.' || id === '..' || id.length > 1024) {
    throw invalidArgument(`invalid container id ${JSON.stringify(id)}: use letters, digits, '_', '+', '-', '.'`);
  }
}

export class StateStore {
  readonly root: string;

  constructor(root = DEFAULT_STATE_ROOT) {
    this.root = root;
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  fifoPath(id: string): string {
    return join(this.dir(id), 'exec.fifo');
  }

  /** Claims the id: fails if a container with it exists. */
  async reserve(id: string): Promise<void> {
    checkId(id);
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      mkdirSync(this.dir(id), { mode: 0o711 });
    } catch (err) {
      if (errorCode(err) === 'EEXIST') throw conflict(`container with id ${id} already exists`, err);
      throw err;
    }
  }

  async save(record: ContainerRecord): Promise<void> {
    // No fsync: /run does not outlive a reboot, and neither does any container. The rename keeps
    // each update atomic.
    atomicWriteSync(join(this.dir(record.id), 'state.json'), JSON.stringify(record), { mode: 0o600, durable: false });
  }

  async load(id: string): Promise<ContainerRecord> {
    checkId(id);
    let text: string;
    try {
      text = readFileSync(join(this.dir(id), 'state.json'), 'utf8');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') throw notFound(`container ${id} does not exist`, err);
      throw err;
    }
    return JSON.parse(text) as ContainerRecord;
  }

  async remove(id: string): Promise<void> {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  async list(): Promise<string[]> {
    try {
      const entries = readdirSync(this.root, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return [];
      throw err;
    }
  }

  async hasFifo(id: string): Promise<boolean> {
    return existsSync(this.fifoPath(id));
  }

  async exists(id: string): Promise<boolean> {
    return existsSync(join(this.dir(id), 'state.json'));
  }
}

interface ProcStat {
  state: string;
  startTime: number;
}

/** Fields of /proc/PID/stat after the command name (which may itself contain spaces and parens). */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '?', startTime: Number(fields[19]) };
}

/** Whether the recorded pid is still the container's process (alive, not a zombie, not reused). */
export function processAlive(record: Pick<ContainerRecord, 'pid' | 'pidStartTime'>): boolean {
  if (record.pid <= 0) return false;
  const st = readProcStat(record.pid);
  if (!st) return false;
  if (st.state === 'Z' || st.state === 'X') return false;
  return st.startTime === record.pidStartTime;
}

export function toState(record: ContainerRecord, status: Status): State {
  const state: State = { ociVersion: OCI_VERSION, id: record.id, status, bundle: record.bundle };
  if (status !== 'stopped' && record.pid > 0) state.pid = record.pid;
  if (Object.keys(record.annotations).length > 0) state.annotations = record.annotations;
  return state;
}
