/**
 * `kill`: signal the container's init, or with `all` every process in its cgroup.
 */

import { constants } from 'node:os';
import { failedPrecondition, invalidArgument } from '../util/errors.ts';
import { containerStatus } from './status.ts';
import { loadCgroup } from './cgroup.ts';
import type { Runtime } from './runtime.ts';

/** `KILL`, `SIGKILL`, `9` → 9. */
export function parseSignal(value: string): number {
  const upper = value.toUpperCase();
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n < 1 || n > 64) throw invalidArgument(`invalid signal ${JSON.stringify(value)}`);
    return n;
  }
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const rt = /^SIGRTMIN(\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(-(\d+))?$/.exec(name);
  if (rt) return name.startsWith('SIGRTMIN') ? 34 + Number(rt[2] ?? 0) : 64 - Number(rt[2] ?? 0);
  const n = (constants.signals as Record<string, number>)[name];
  if (n === undefined) throw invalidArgument(`invalid signal ${JSON.stringify(value)}`);
  return n;
}

export async function kill(rt: Runtime, id: string, signal: number, options: { all?: boolean } = {}): Promise<void> {
  const record = await rt.store.load(id);
  const status = await containerStatus(rt, record);
  if (status === 'stopped' || status === 'creating') throw failedPrecondition(`container ${id} is not running`);
  if (options.all) {
    await loadCgroup(record).killAll(signal);
    return;
  }
  process.kill(record.pid, signal);
}
