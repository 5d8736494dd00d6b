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
  await cgroup.destroy();
  await rt.store.remove(id);
  await runHooksWarn('poststop', record.config.hooks?.poststop, toState(record, 'stopped'), rt.warn);
}
