/**
 * `run`: create + start. In the foreground the shim stays as the container's monitor, relays
 * signals (and the terminal), and its exit code becomes ours; the container is deleted after.
 */

import { create, type CreateOptions } from './create.ts';
import { start } from './start.ts';
import { deleteContainer, releaseStopped } from './delete.ts';
import { waitExit, type ExitReport } from './exec.ts';
import { processAlive } from './state/state-store.ts';
import type { Runtime } from './runtime.ts';

export interface RunOptions extends Omit<CreateOptions, 'mode' | 'relayConsole'> {
  detach?: boolean;
  /** Keep the stopped container instead of deleting it (runc --keep). */
  keep?: boolean;
}

export async function run(rt: Runtime, id: string, options: RunOptions): Promise<ExitReport> {
  const detach = options.detach ?? false;
  const { shim, record } = await create(rt, id, {
    ...options,
    mode: detach ? 'exit' : 'wait',
    relayConsole: !detach && !options.consoleSocket,
    stdio: options.stdio ?? ['inherit', 'inherit', 'inherit'],
  });
  try {
    await start(rt, id);
  } catch (err) {
    shim.close();
    await deleteContainer(rt, id, { force: true }).catch(() => {});
    throw err;
  }
  if (detach) {
    shim.close();
    return { code: 0 };
  }
  const report = await waitExit(shim);
  if (!options.keep) {
    // The shim reports the exit once it has reaped the init, and the record is the one create
    // made: nothing to read back. A shim that died first may have left the init running.
    if (processAlive(record)) await deleteContainer(rt, id, { force: true });
    else await releaseStopped(rt, record);
  }
  return report;
}
