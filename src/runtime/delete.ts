/**
 * `delete`: release everything a container holds. The spec forbids deleting a container that
 * is not stopped; `force` kills it first. poststop hooks run last and only warn.
 */

import { existsSync } from 'node:fs';
import { failedPrecondition } from '../util/errors.ts';
import { toState, type ContainerRecord } from './state/state-store.ts';
import { containerStatus } from './status.ts';
import { loadCgroup } from './cgroup.ts';
import { runHooksWarn } from './hooks.ts';
import type { Runtime } from './runtime.ts';

export async function deleteContainer(rt: Runtime, id: string, options: { force?: boolean } = {}): Promise<void> {
  let record: ContainerRecord;
  try {
    record = await rt.store.load(id);
  } catch (err) {
    // A create that died half-way leaves a directory without state.json: force clears it.
    if (options.force && existsSync(rt.store.dir(id))) return rt.store.remove(id);
    throw err;
  }
  const status = await containerStatus(rt, record);
  const cgroup = loadCgroup(record);
  if (status !== 'stopped') {
    if (!options.force) throw failedPrecondition(`cannot delete container ${id} that is not stopped: ${status}`);
    await cgroup.killAllAndWait(9);
  }
  await releaseStopped(rt, record, cgroup);
}

/**
 * The end of a delete, for a container whose init is known to be gone: a foreground `run` calls
 * it with the record it created once the shim has reported the exit, without reading the state
 * back or asking the kernel again.
 */
export async function releaseStopped(rt: Runtime, record: ContainerRecord, cgroup = loadCgroup(record)): Promise<void> {
  await cgroup.destroy();
  await rt.store.remove(record.id);
  await runHooksWarn('poststop', record.config.hooks?.poststop, toState(record, 'stopped'), rt.warn);
}
