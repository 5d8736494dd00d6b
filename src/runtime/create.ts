/**
 * `create`: from a bundle to a container whose init waits on the exec fifo (OCI "created").
 * Every resource is undone if a later step fails, so a failed create leaves no state dir,
 * cgroup, fifo or process behind.
 */

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { userInfo } from 'node:os';
import type { Spec } from '../oci/runtime-spec.ts';
import { cgroupPlacement } from '../cgroups/index.ts';
import { EngineError, invalidArgument, errorCode } from '../util/errors.ts';
import { atomicWriteSync } from '../util/atomic-write.ts';
import { loadSpec, rootfsPath } from './spec/load-spec.ts';
import { compileInitPlan, SPARE_NAMESPACES, type MonitorStdio } from './plan/compile.ts';
import { ShimConnection, shimError, type ShimStartOptions } from './shim/shim-client.ts';
import { checkId, readProcStat, toState, type ContainerRecord } from './state/state-store.ts';
import { runHooks } from './hooks.ts';
import { openCgroup, warmCgroupMigrationSoon, type ContainerCgroup } from './cgroup.ts';
import { compileSeccompFor, hostFacts, checkRlimits } from './security.ts';
import { containerResources } from './rootfs/device-rules.ts';
import { deviceFilterSteps } from './device-filter.ts';
import { preservedFds } from './shim/preserve-fds.ts';
import type { Runtime } from './runtime.ts';

export interface CreateOptions {
  bundle: string;
  consoleSocket?: string;
  pidFile?: string;
  preserveFds?: number;
  /** `wait`: the shim stays as the container's monitor (foreground run, daemon). */
  mode?: 'exit' | 'wait';
  relayConsole?: boolean;
  detach?: boolean;
  exitFile?: string;
  stdio?: ShimStartOptions['stdio'];
  /** The monitor owns the container's stdio: pipes, json-file log, attach socket (mode `wait`). */
  monitorStdio?: MonitorStdio;
  /** Take a spare shim (prepareSpareShims) instead of spawning one, when there is one. */
  takeSpareShim?: boolean;
}

export interface Created {
  record: ContainerRecord;
  /** The shim, still connected in `wait` mode (its `exit` message ends the container). */
  shim: ShimConnection;
}

export async function create(rt: Runtime, id: string, options: CreateOptions): Promise<Created> {
  checkId(id);
  const bundle = resolve(options.bundle);
  const spec = await loadSpec(bundle);
  const rootfs = rootfsPath(spec, bundle);
  await checkRootfs(rootfs);
  checkRlimits(spec);
  const seccomp = compileSeccompFor(spec);
  const host = hostFacts();

  await rt.store.reserve(id);
  let cgroup: ContainerCgroup | undefined;
  let shim: ShimConnection | undefined;
  let pid = 0;
  try {
    cgroup = await openCgroup(spec, id, { create: true });
    const resources = containerResources(spec);
    await cgroup.apply(resources);
    const placement = cgroupPlacementFor(spec, cgroup);
    // after the cgroup set-up: the warming write holds cgroup_mutex, which mkdir needs too
    if (placement.cgroupProcs.length > 0) warmCgroupMigrationSoon();
    const record: ContainerRecord = {
      id,
      bundle,
      rootfs,
      pid: 0,
      pidStartTime: 0,
      created: new Date().toISOString(),
      owner: ownerName(),
      annotations: spec.annotations ?? {},
      cgroupPaths: cgroup.paths(),
      config: spec,
      started: false,
    };
    await rt.store.save(record);

    const hasCreateHooks = Boolean(spec.hooks?.prestart?.length || spec.hooks?.createRuntime?.length || spec.hooks?.createContainer?.length);
    const opened = cgroup;
    const plan = (prepared: number): ReturnType<typeof compileInitPlan> => compileInitPlan({
      spec,
      rootfs,
      bundle,
      fifoPath: rt.store.fifoPath(id),
      mode: options.mode ?? 'exit',
      detach: options.detach ?? false,
      exitFile: options.exitFile,
      consoleSocket: options.consoleSocket ? resolve(options.consoleSocket) : undefined,
      relayConsole: options.relayConsole ?? false,
      ...placement,
      cgroupMounts: opened.mountSources(),
      preserveFds: options.preserveFds ?? 0,
      seccomp,
      host,
      syncHooks: hasCreateHooks,
      deviceFilter: deviceFilterSteps(opened, resources),
      ...(options.monitorStdio ? { stdio: options.monitorStdio } : {}),
      ...(prepared ? { prepared: { flags: prepared, origin: `/proc/${process.pid}/ns` } } : {}),
    });

    const takeSpare = options.takeSpareShim ?? false;
    shim = await ShimConnection.start(plan, {
      stdio: options.stdio ?? ['ignore', 'inherit', 'inherit'],
      extraFds: preservedFds(options.preserveFds ?? 0),
      takeSpare,
      spareNamespaces: takeSpare ? SPARE_NAMESPACES : 0,
    });
    for (;;) {
      const message = await shim.next();
      if (message === undefined) throw new EngineError('internal', 'container init exited before it was ready');
      if (message.type === 'error') throw shimError(message);
      if (message.type === 'pid') {
        pid = message.pid;
        record.pid = pid;
        record.pidStartTime = readProcStat(pid)?.startTime ?? 0;
      } else if (message.type === 'sync') {
        await runCreateHooks(spec, toState(record, 'created'), pid).then(
          () => shim!.send('ok'),
          (err: Error) => {
            shim!.send(`abort ${err.message}`);
            throw err;
          },
        );
      } else if (message.type === 'ready') {
        break;
      }
    }
    await rt.store.save(record);
    if (options.pidFile) atomicWriteSync(resolve(options.pidFile), String(pid), { durable: false });
    return { record, shim };
  } catch (err) {
    if (pid > 0) killQuietly(pid);
    shim?.close();
    await cgroup?.destroy().catch(() => {});
    await rt.store.remove(id);
    throw err;
  }
}

/**
 * On a pure cgroup v2 host the init is cloned into its cgroup (CLONE_INTO_CGROUP, cgroups/
 * placement.ts); elsewhere the shim writes its pid to every cgroup.procs. Not after joining a
 * user namespace: its credentials would be checked against the host's cgroupfs.
 */
function cgroupPlacementFor(spec: Spec, cgroup: ContainerCgroup): { cgroupProcs: string[]; cloneIntoCgroup?: string } {
  const joinsUserNamespace = (spec.linux?.namespaces ?? []).some((n) => n.type === 'user' && n.path);
  if (joinsUserNamespace) return { cgroupProcs: cgroup.procsFiles() };
  const placement = cgroupPlacement(cgroup.paths(), cgroup.procsFiles());
  return { cgroupProcs: placement.procsFiles, ...(placement.cloneInto !== undefined ? { cloneIntoCgroup: placement.cloneInto } : {}) };
}

async function runCreateHooks(spec: Spec, state: ReturnType<typeof toState>, pid: number): Promise<void> {
  await runHooks('prestart', spec.hooks?.prestart, state);
  await runHooks('createRuntime', spec.hooks?.createRuntime, state);
  const namespaces = (spec.linux?.namespaces ?? []).map((n) => n.type);
  await runHooks('createContainer', spec.hooks?.createContainer, state, { pid, namespaces });
}

async function checkRootfs(rootfs: string): Promise<void> {
  try {
    if (!statSync(rootfs).isDirectory()) throw invalidArgument(`rootfs ${rootfs}: not a directory`);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') throw invalidArgument(`rootfs ${rootfs}: no such directory`, err);
    throw err;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function ownerName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? '');
  }
}

