/**
 * The role every cgroup implementation plays for the runtime: create the container's cgroup,
 * apply linux.resources, place processes, report stats, freeze, kill everything, remove it.
 * The runtime CLI is a fresh process for every verb, so `paths()` is what goes into the state
 * file and `loadCgroupManager(paths)` reopens the same cgroup later.
 *
 * Helpers here are the parts v1 and v2 share: walking a cgroup tree, removing it leaf-first,
 * signalling every member.
 */

import { readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Resources } from '../oci/runtime-spec.ts';
import { EngineError, errorCode } from '../util/errors.ts';
import { readProcs } from './cgroup-file.ts';
import type { CgroupMode } from './layout.ts';
import type { PollOptions } from './poll.ts';
import type { CgroupStats } from './stats.ts';
import type { FreezerState } from './v1/freezer.ts';

export type { FreezerState };

/** What the state file keeps to find the cgroup again. */
export interface CgroupPaths {
  mode: CgroupMode;
  /** The resolved cgroupsPath (`/berth/<id>`). */
  path: string;
  /**
   * Directory per hierarchy. v1: controller name → dir (`cpu`, `name=systemd`), plus `''` for
   * the unified dir on a hybrid host; v2: `''` only.
   */
  dirs: Record<string, string>;
  /** Hybrid hosts: controllers driven through the unified dir (`hugetlb`). */
  unifiedControllers?: string[];
}

/**
 * A cgroup v2 device policy, to be loaded by `berth-shim` (DEVICE_FILTER, native/PLAN.md): the
 * cgroup's directory and its BPF_PROG_TYPE_CGROUP_DEVICE program (`struct bpf_insn[]`).
 */
export interface DeviceFilter {
  dir: string;
  program: Uint8Array;
}

export interface CgroupManager {
  /** Makes the directories (parents included) and prepares them for a first process. */
  create(): Promise<void>;
  /** Everything but what Node cannot do itself: see deviceFilter. */
  apply(resources: Resources): Promise<void>;
  /**
   * The device filter `resources.devices` asks for where the kernel enforces devices with an
   * eBPF program (cgroup v2), for the runtime to hand to the shim; undefined where apply() already
   * enforced them (v1 devices.allow) or when `resources` has no device rules.
   */
  deviceFilter?(resources: Resources): DeviceFilter | undefined;
  /** Every cgroup.procs file the init pid must be written to (the C helper does it before exec). */
  procsFiles(): string[];
  addProcess(pid: number): Promise<void>;
  /** Every process in the cgroup and its descendants. */
  pids(): Promise<number[]>;
  stats(): Promise<CgroupStats>;
  /** Processes the OOM killer took in the cgroup (what a container's exit asks; stats() reads far more). */
  oomKills(): Promise<number>;
  freeze(options?: PollOptions): Promise<void>;
  thaw(options?: PollOptions): Promise<void>;
  state(): Promise<FreezerState>;
  killAll(signal: NodeJS.Signals | number): Promise<void>;
  /** Removes the container's directories (and any sub-cgroups the container made). */
  destroy(): Promise<void>;
  paths(): CgroupPaths;
}

export interface ManagerOptions {
  /**
   * How to remove one directory. Defaults to rmdir(2), which on cgroupfs succeeds on a
   * directory full of control files; tests on a plain tmpdir pass one that deletes the files.
   */
  removeDir?: (dir: string) => Promise<void>;
}

async function subdirectories(dir: string): Promise<string[]> {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => join(dir, entry.name));
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/** Processes in `dir` and all cgroups below it, deduplicated. */
export async function collectPids(dir: string): Promise<number[]> {
  const found = new Set<number>();
  const walk = async (current: string): Promise<void> => {
    try {
      for (const pid of await readProcs(current)) found.add(pid);
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
    }
    for (const child of await subdirectories(current)) await walk(child);
  };
  await walk(dir);
  return [...found];
}

/**
 * Removes `dir` and its sub-cgroups, children before parents. rmdir of a cgroup whose last task
 * has just exited can return EBUSY for a moment (the task is still being torn down), so EBUSY
 * is retried with a short backoff; ENOENT means someone else already removed it.
 */
export async function removeCgroupTree(dir: string, options: ManagerOptions = {}): Promise<void> {
  for (const child of await subdirectories(dir)) await removeCgroupTree(child, options);
  const remove = options.removeDir ?? ((path: string) => Promise.resolve(rmdirSync(path)));
  for (let attempt = 0; ; attempt++) {
    try {
      await remove(dir);
      return;
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT') return;
      // the last task is usually gone within a millisecond or two: start short, back off to 50 ms
      if (code === 'EBUSY' && attempt < 10) {
        await sleep(Math.min(2 ** attempt, 50));
        continue;
      }
      throw new EngineError(code === 'EBUSY' ? 'conflict' : 'internal', `remove cgroup ${dir}: ${code ?? String(err)}`, { cause: err });
    }
  }
}

/** Signals each pid; a process that exited since the cgroup was read (ESRCH) is fine. */
export function signalAll(pids: readonly number[], signal: NodeJS.Signals | number): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      if (errorCode(err) !== 'ESRCH') throw new EngineError('internal', `kill ${pid}: ${errorCode(err) ?? String(err)}`, { cause: err });
    }
  }
}

export function isSigkill(signal: NodeJS.Signals | number): boolean {
  return signal === 'SIGKILL' || signal === 9;
}
