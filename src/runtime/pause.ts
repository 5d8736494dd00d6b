/**
 * `pause`/`resume`: freeze and thaw every process of the container through its cgroup.
 */

import { failedPrecondition } from '../util/errors.ts';
import { containerStatus } from './status.ts';
import { loadCgroup } from './cgroup.ts';
import type { Runtime } from './runtime.ts';

export async function pause(rt: Runtime, id: string): Promise<void> {
  const record = await rt.store.load(id);
  const status = await containerStatus(rt, record);
  if (status !== 'running' && status !== 'created') throw failedPrecondition(`container ${id} is not running: ${status}`);
  await loadCgroup(record).freeze();
}

export async function resume(rt: Runtime, id: string): Promise<void> {
  const record = await rt.store.load(id);
  const status = await containerStatus(rt, record);
  if (status !== 'paused') throw failedPrecondition(`container ${id} is not paused: ${status}`);
  await loadCgroup(record).thaw();
}
