/**
 * `run`: create + start. In the foreground the shim stays as the container's monitor, relays
 * signals (and the terminal), and its exit code becomes ours; the container is deleted after.
 */

import { create, type CreateOptions } from './create.ts';
import { start } from './start.ts';
import { deleteContainer } from './delete.ts';
import { waitExit, type ExitReport } from './exec.ts';
import type { Runtime } from './runtime.ts';

export interface RunOptions extends Omit<CreateOptions, 'mode' | 'relayConsole'> {
  detach?: boolean;
  /** Keep the stopped container instead of deleting it (runc --keep). */
  keep?: boolean;
}

export async function run(rt: Runtime, id: string, options: RunOptions): Promise<ExitReport> {
  const detach = options.detach ?? false;
  const { shim } = await create(rt, id, {
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
  if (!options.keep) await deleteContainer(rt, id, { force: true });
  return report;
}
