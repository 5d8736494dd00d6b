/**
 * `exec`: a new process inside a running container — every namespace of its init joined, placed
 * in its cgroup, with the container's security settings unless the process overrides them.
 */

import { resolve } from 'node:path';
import type { Process } from '../oci/runtime-spec.ts';
import { EngineError, failedPrecondition } from '../util/errors.ts';
import { atomicWriteSync } from '../util/atomic-write.ts';
import { checkProcess } from './spec/load-spec.ts';
import { step, type Plan } from './plan/plan.ts';
import { processSteps } from './plan/compile.ts';
import { ShimConnection, shimError, type ShimChild, type ShimStartOptions } from './shim/shim-client.ts';
import { joinNamespaceSteps } from './namespaces.ts';
import { containerStatus } from './status.ts';
import { loadCgroup } from './cgroup.ts';
import { compileSeccompFor, hostFacts } from './security.ts';
import { preservedFds } from './shim/preserve-fds.ts';
import type { Runtime } from './runtime.ts';

export interface ExecOptions {
  process: Process;
  detach?: boolean;
  consoleSocket?: string;
  pidFile?: string;
  preserveFds?: number;
  stdio?: ShimStartOptions['stdio'];
  /**
   * The shim, as the process's monitor, owns its stdio: pipes (or the pty) served on an attach
   * socket (native/PLAN.md, "The monitor's stdio"); foreground only.
   */
  monitorStdio?: { stdin: boolean; attachSocket: string };
  /** Called once the process exists, before it runs (attach clients connect here). */
  beforeStart?: (pid: number) => Promise<void>;
}

export interface ExecResult {
  pid: number;
  /** Resolves with the process's exit code (foreground); undefined when detached. */
  exit?: Promise<ExitReport>;
  /** The foreground shim: its stdio pipes, when `stdio` asked for `pipe`, carry the process's (or the relayed pty's). */
  child?: ShimChild;
}

export async function exec(rt: Runtime, id: string, options: ExecOptions): Promise<ExecResult> {
  const record = await rt.store.load(id);
  const status = await containerStatus(rt, record);
  if (status !== 'running' && status !== 'created') throw failedPrecondition(`cannot exec in a ${status} container`);
  checkProcess(options.process, 'process');
  const spec = record.config;
  const terminal = options.process.terminal === true;
  const detach = options.detach ?? false;

  const plan: Plan = [step('SET_DUMPABLE', 0)];
  if (options.monitorStdio) {
    if (detach) throw failedPrecondition('exec: monitor stdio needs a foreground exec');
    // made before the namespaces are joined: the socket path is the host's
    plan.push(step('STDIO_PIPES', options.monitorStdio.stdin ? 1 : 0), step('ATTACH_SOCKET', options.monitorStdio.attachSocket));
  }
  plan.push(...joinNamespaceSteps(record.pid, (spec.linux?.namespaces ?? []).map((n) => n.type)));
  if (terminal) {
    if (options.consoleSocket) plan.push(step('CONSOLE_SOCKET', resolve(options.consoleSocket)));
    else if (!detach) plan.push(step('CONSOLE_PAIR'));
    else throw failedPrecondition('exec with a terminal and --detach needs --console-socket');
  }
  // The shim has joined the container's mount namespace, where the host's cgroup paths do not
  // exist: we place the process in the cgroup ourselves while it waits.
  plan.push(step('CLONE', 0), step('REPORT_PID'), step('SYNC', 'cgroup'));
  plan.push(detach ? step('EXIT') : step('WAIT', '', 1));
  plan.push(step('CHILD'));
  if (terminal) plan.push(step('SETSID'));
  plan.push(
    ...processSteps(options.process, { spec, host: hostFacts(), seccomp: compileSeccompFor(spec), preserveFds: options.preserveFds ?? 0 }, { terminal, exec: true, cwdInRoot: true }),
  );

  const cgroup = loadCgroup(record);
  const shim = await ShimConnection.start(plan, { stdio: options.stdio ?? ['inherit', 'inherit', 'inherit'], extraFds: preservedFds(options.preserveFds ?? 0) });
  let pid = 0;
  for (;;) {
    const message = await shim.next();
    if (message === undefined) throw new EngineError('internal', 'exec process exited before it was ready');
    if (message.type === 'error') {
      shim.close();
      throw shimError(message);
    }
    if (message.type === 'pid') pid = message.pid;
    if (message.type === 'sync') {
      await cgroup
        .addProcess(pid)
        .then(() => options.beforeStart?.(pid))
        .then(
          () => shim.send('ok'),
          (err: Error) => {
            shim.send(`abort ${err.message}`);
            throw err;
          },
        );
    }
    if (message.type === 'ready') break;
  }
  if (options.pidFile) atomicWriteSync(resolve(options.pidFile), String(pid), { durable: false });
  if (detach) {
    shim.close();
    return { pid };
  }
  return { pid, exit: waitExit(shim), child: shim.child };
}

export interface ExitReport {
  code: number;
  /** A failure the process reported before it could exec (e.g. its binary does not exist). */
  error?: Error;
}

/** The exit code a foreground shim reports (or its own exit status if it could not report). */
export async function waitExit(shim: ShimConnection): Promise<ExitReport> {
  let error: Error | undefined;
  for (;;) {
    const message = await shim.next();
    if (message === undefined) break;
    if (message.type === 'exit') {
      shim.close();
      return error ? { code: message.code, error } : { code: message.code };
    }
    if (message.type === 'error') error = shimError(message);
  }
  const { code, signal } = await shim.exited;
  const status = code ?? (signal ? 128 + 9 : 125);
  return error ? { code: status, error } : { code: status };
}
