/**
 * A container's live status, derived from the kernel rather than trusted from the state file:
 * the init must still be the same process, the exec fifo tells created from running, the freezer
 * tells paused.
 */

import type { State, Status } from '../oci/runtime-spec.ts';
import { processAlive, toState, type ContainerRecord } from './state/state-store.ts';
import { loadCgroup } from './cgroup.ts';
import type { Runtime } from './runtime.ts';

export async function containerStatus(rt: Runtime, record: ContainerRecord): Promise<Status> {
  if (record.pid === 0) return 'creating';
  if (!processAlive(record)) return 'stopped';
  if (!record.started && (await rt.store.hasFifo(record.id))) return 'created';
  if ((await loadCgroup(record).state()) === 'frozen') return 'paused';
  return 'running';
}

export async function containerState(rt: Runtime, id: string): Promise<{ record: ContainerRecord; state: State }> {
  const record = await rt.store.load(id);
  const status = await containerStatus(rt, record);
  return { record, state: toState(record, status) };
}
