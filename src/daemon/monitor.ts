/**
 * Learning of exits. The shim's monitor writes the exit file and then tells us on its socket;
 * we wait for the file (the socket only hurries us along), so the same path serves a daemon
 * that restarted and has no socket any more. On exit the runtime's resources are released, the
 * rootfs unmounted, the record saved, waiters woken, and `--rm` containers removed.
 */

import { containerState, deleteContainer, prepareSpareShims, unmountOnHost, type create } from '../runtime/index.ts';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';
import { awaitExitFile, exitFilePath, readExitFile, type ExitFile } from './exit-file.ts';
import { rootfsDir } from './paths.ts';
import { isMountPoint } from '../util/mountinfo.ts';
import { EngineError } from '../util/errors.ts';
import { removeContainer } from './delete.ts';
import { emitContainerEvent, emitVolumeMounts } from './events.ts';
import { emitAttachmentEvents, teardownNetwork } from './network.ts';
import { wasOomKilled } from './oom.ts';
import { planRestart } from './restart-policy.ts';
import { CONTAINER_LABEL } from './create.ts';
import { mountPointsOf } from './volumes.ts';

/** The shim connection `create` hands back (the runtime does not export its class). */
type ShimConnection = Awaited<ReturnType<typeof create>>['shim'];

const EXIT_FILE_GRACE_MS = 2000;

const monitors = new WeakMap<DaemonContext, AbortController>();

/** Aborted at daemon shutdown: monitors stop watching (the shims keep running). */
export function monitorSignal(ctx: DaemonContext): AbortSignal {
  let controller = monitors.get(ctx);
  if (!controller) monitors.set(ctx, (controller = new AbortController()));
  return controller.signal;
}

export function stopMonitors(ctx: DaemonContext): void {
  monitors.get(ctx)?.abort();
}

/** What the shim said on its socket: errors (they become State.Error) and the exit code, if it got that far. */
interface ShimReport {
  errors: string[];
  exitCode?: number;
}

/** The shim's socket, read until `exit` or its end. */
async function drainShim(shim: ShimConnection, report: ShimReport): Promise<void> {
  try {
    for (;;) {
      const message = await shim.next();
      if (message === undefined) return;
      if (message.type === 'exit') {
        report.exitCode = message.code;
        return;
      }
      if (message.type === 'error') report.errors.push(`${message.step}${message.detail ? ` ${message.detail}` : ''}: errno ${message.errno}`);
    }
  } catch {
    // the file is what counts
  } finally {
    shim.close();
  }
}

/**
 * The exit when the shim's socket ended and no exit file came: the code the shim said (the file
 * could not be written), or, if the init is gone without a word (its monitor was killed), moby's
 * 255. Never settles while the init still runs, or when the file turns up after all.
 */
async function exitWithoutFile(ctx: DaemonContext, c: Container, ended: Promise<void>, report: ShimReport, signal: AbortSignal): Promise<ExitFile> {
  const never = new Promise<never>(() => {});
  await ended;
  // WAIT renames the file before it says `exit`: the watch may just not have fired yet
  await new Promise((resolve) => setTimeout(resolve, EXIT_FILE_GRACE_MS).unref());
  if (signal.aborted || (await readExitFile(exitFilePath(c.dir)).catch(() => undefined))) return never;
  const finishedAt = new Date().toISOString();
  if (report.exitCode !== undefined) return { exitCode: report.exitCode, signal: null, finishedAt };
  const alive = await containerState(ctx.runtime, c.id).then(({ state }) => state.status === 'running' || state.status === 'paused', () => false);
  if (alive) return never;
  report.errors.push('the container\'s monitor ended without its exit status');
  return { exitCode: 255, signal: null, finishedAt };
}

export function monitorContainer(ctx: DaemonContext, c: Container, shim?: ShimConnection): void {
  const report: ShimReport = { errors: [] };
  const hint = shim ? drainShim(shim, report) : undefined;
  const errors = report.errors;
  const signal = monitorSignal(ctx);
  void (async () => {
    const settled = new AbortController();
    const stop = AbortSignal.any([signal, settled.signal]);
    const fromFile = awaitExitFile(exitFilePath(c.dir), { ...(hint ? { hint } : {}), signal: stop });
    const exit = await (hint ? Promise.race([fromFile, exitWithoutFile(ctx, c, hint, report, stop)]) : fromFile);
    settled.abort();
    if (!exit) return;
    // the shim's `exit` comes once the attach clients have all the output and their exit frame:
    // nothing may be torn down before it (a `--rm` removal would cut the output short)
    await hint;
    await handleExit(ctx, c, exit, errors.join('; '));
  })().catch((err: unknown) => ctx.warn(`monitor container ${c.id}: ${err instanceof Error ? err.message : String(err)}`));
}

export async function handleExit(ctx: DaemonContext, c: Container, exit: ExitFile, error = ''): Promise<void> {
  if (!c.running) return;
  const oomKilled = await wasOomKilled(ctx, c);
  const autoRemove = c.record.HostConfig.AutoRemove === true && !c.restarting;
  // The runtime's delete (what is left in the cgroups killed, the cgroups removed), then the
  // rootfs unmount: a removal follows a `--rm` exit at once and lets both finish behind it;
  // anyone else (a restart, a start, cp) needs them done now.
  const release = async (): Promise<void> => {
    await deleteContainer(ctx.runtime, c.id, { force: true }).catch((err: unknown) => ctx.warn(`delete runtime state of ${c.id}: ${err instanceof Error ? err.message : String(err)}`));
    await unmountOnHost(rootfsDir(c.dir));
  };
  // behind a removal it starts once the removal has replied: its cgroup removals are synchronous
  const releasing = autoRemove ? new Promise<void>((resolve) => setImmediate(resolve)).then(release) : release();
  if (autoRemove) {
    c.releasing = releasing;
    releasing.catch(() => {}); // reported by the removal
  } else await releasing.catch((err: unknown) => ctx.warn(`unmount rootfs of ${c.id}: ${err instanceof Error ? err.message : String(err)}`));
  await teardownNetwork(ctx, c).catch((err: unknown) => ctx.warn(`tear down network of ${c.id}: ${err instanceof Error ? err.message : String(err)}`));
  const execDuration = Math.max(0, Math.trunc((Date.now() - Date.parse(c.record.State.StartedAt)) / 1000)) || 0;
  c.record.State = { ...c.record.State, Status: 'exited', Running: false, Paused: false, Restarting: false, Pid: 0, OOMKilled: oomKilled, ExitCode: exit.exitCode, FinishedAt: exit.finishedAt, Error: error };
  planRestart(ctx, c, exit);
  // A `--rm` container's record goes right after this: not rewritten for it. A crash in between
  // leaves it "running" with its exit file, and the next start handles the exit and removes it.
  // A record that cannot be saved (a full disk) must not hold the exit up: waiters, events and
  // the removal go on from the record in memory, and the exit file, still there, tells the next
  // start of the daemon the same.
  if (!autoRemove) await ctx.store.save(c).catch((err: unknown) => ctx.warn(`save the exit of ${c.id}: ${err instanceof Error ? err.message : String(err)}`));
  c.notifyExit({ exitCode: exit.exitCode, finishedAt: exit.finishedAt });
  // moby's Cleanup order: networks released, volumes unmounted, then `die`
  emitAttachmentEvents(ctx, c, 'disconnect');
  emitVolumeMounts(ctx, c, mountPointsOf(c.record), 'unmount');
  if (oomKilled) emitContainerEvent(ctx, c, 'oom');
  emitContainerEvent(ctx, c, 'die', { exitCode: String(exit.exitCode), execDuration: String(execDuration) });
  if (autoRemove) {
    await removeContainer(ctx, c, { force: true, auto: true }).catch((err: unknown) => ctx.warn(`auto-remove ${c.id}: ${err instanceof Error ? err.message : String(err)}`));
  }
  // an exit is no quiet moment for the spares a start asked for (host-mount.ts)
  prepareSpareShims();
}

/**
 * On daemon start: a container recorded as running either exited while we were away (its exit
 * file says so), is still running (watch it again), or vanished without a word (the host
 * rebooted: /run is gone) — then it is marked exited as Docker does, with 255. An exited `--rm`
 * container is removed.
 */
export async function reconcile(ctx: DaemonContext, c: Container): Promise<void> {
  if (!c.running) {
    // a `--rm` container that exited, but whose removal a crash cut short (as moby's restore)
    if (c.record.HostConfig.AutoRemove && c.record.State.Status === 'exited') await removeContainer(ctx, c, { force: true, auto: true });
    else await releaseCutShortStart(ctx, c);
    return;
  }
  const exit = await readExitFile(exitFilePath(c.dir));
  if (exit) return handleExit(ctx, c, exit);
  let alive = false;
  try {
    const { state } = await containerState(ctx.runtime, c.id);
    alive = state.status === 'running' || state.status === 'paused' || state.status === 'created';
  } catch {
    alive = false;
  }
  if (alive) {
    monitorContainer(ctx, c);
    return;
  }
  // The init is gone; its monitor may still be writing the exit file — give it a moment.
  const late = await awaitExitFile(exitFilePath(c.dir), { signal: AbortSignal.timeout(EXIT_FILE_GRACE_MS), pollMs: 50 });
  if (late) return handleExit(ctx, c, late);
  await handleExit(ctx, c, { exitCode: 255, signal: null, finishedAt: new Date().toISOString() }, 'container vanished while the daemon was down');
}

/**
 * A start that a crash cut short, before its record said running, leaves the runtime's container
 * (its init waiting, or already running: no client was told it started) and the rootfs mounted:
 * both go, or the next start would mount a second overlay on the same layer.
 */
async function releaseCutShortStart(ctx: DaemonContext, c: Container): Promise<void> {
  await deleteContainer(ctx.runtime, c.id, { force: true }).catch((err: unknown) => {
    // the usual case: the start never got that far, or was never cut short
    if (!(err instanceof EngineError && err.kind === 'not-found')) throw err;
  });
  const rootfs = rootfsDir(c.dir);
  if (await isMountPoint(rootfs)) await unmountOnHost(rootfs);
}

/**
 * At daemon start: containers' writable layers whose container is gone — a crash cut short
 * their removal (it is not fsynced) or the create that made them — are removed.
 */
export async function removeOrphanLayers(ctx: DaemonContext): Promise<void> {
  const orphans: string[] = [];
  await ctx.images.snapshotter.walk((info) => {
    const owner = info.labels[CONTAINER_LABEL];
    if (owner !== undefined && !ctx.store.has(owner)) orphans.push(info.name);
  });
  for (const key of orphans) {
    await ctx.images.snapshotter.remove(key).catch((err: unknown) => ctx.warn(`remove the layer of a removed container (${key}): ${err instanceof Error ? err.message : String(err)}`));
  }
}
