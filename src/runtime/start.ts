/**
 * `start`: run startContainer hooks inside the waiting container, then release its init by
 * writing one byte into the exec fifo; poststart hooks follow (their failure only warns).
 */

import { closeSync, constants, openSync, unlinkSync, writeSync } from 'node:fs';
import { failedPrecondition, errorCode } from '../util/errors.ts';
import { toState } from './state/state-store.ts';
import { containerStatus } from './status.ts';
import { runHooks, runHooksWarn } from './hooks.ts';
import type { Runtime } from './runtime.ts';

export async function start(rt: Runtime, id: string): Promise<void> {
  const record = await rt.store.load(id);
  const status = await containerStatus(rt, record);
  if (status !== 'created') throw failedPrecondition(`cannot start a container in the ${status} state`);
  const spec = record.config;
  if (!spec.process) throw failedPrecondition(`cannot start container ${id}: config.json has no process`);

  const namespaces = (spec.linux?.namespaces ?? []).map((n) => n.type);
  await runHooks('startContainer', spec.hooks?.startContainer, toState(record, 'created'), { pid: record.pid, namespaces });

  const fifo = rt.store.fifoPath(id);
  let fd: number;
  try {
    // Non-blocking: with no reader (the init died) this fails at once with ENXIO instead of hanging.
    fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    if (errorCode(err) === 'ENXIO' || errorCode(err) === 'ENOENT') throw failedPrecondition(`cannot start container ${id}: its init is not waiting any more`, err);
    throw err;
  }
  try {
    writeSync(fd, Buffer.from([0]));
  } finally {
    closeSync(fd);
  }
  record.started = true;
  await rt.store.save(record);
  try {
    unlinkSync(fifo);
  } catch {
    // already gone
  }
  await runHooksWarn('poststart', spec.hooks?.poststart, toState(record, 'running'), rt.warn);
}
