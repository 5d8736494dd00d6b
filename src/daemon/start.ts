/**
 * `POST /containers/{id}/start`: mount the container's snapshot, write its /etc files and
 * OCI bundle, and run it under a detached berth-shim monitor (WAIT mode) that outlives the
 * daemon and records the exit in the container's exit file. The monitor owns the container's
 * stdio: it writes the json-file log and serves the attach socket (attach.ts).
 * Each acquired resource is undone if a later step fails (moby's start.go defers).
 */

import { closeSync, constants, lstatSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../oci/runtime-spec.ts';
import { create, deleteContainer, keepMigrationLockWarm, prepareSpareShims, shimMounter, start, unmountOnHost } from '../runtime/index.ts';
import { mountAll, volatileOverlay, type Mount } from '../snapshot/index.ts';
import { EngineError, conflict } from '../util/errors.ts';
import { ZERO_TIME, type Container, type ContainerRecord } from './container.ts';
import { prepareSnapshot } from './create.ts';
import type { DaemonContext } from './context.ts';
import { etcFilePaths, writeEtcFiles, type EtcFiles } from './etc-files.ts';
import { exitFilePath } from './exit-file.ts';
import { monitorContainer } from './monitor.ts';
import { prepareNetwork, teardownNetwork, writeNetworkEtcFiles } from './network.ts';
import { prepareNamespaces } from './namespace-modes.ts';
import { checkExecutable } from './look-path.ts';
import { removeContainer } from './delete.ts';
import { resolveUser, type ResolvedUser } from './user.ts';
import { rootfsDir } from './paths.ts';
import { mountPointsOf, prepareMountSources, withMountPoints } from './volumes.ts';
import { connectPendingAttachers, monitorStdioFor, withConsoleSize } from './attach.ts';
import { emitContainerEvent, emitVolumeMounts } from './events.ts';
import { startHealthcheck } from './health.ts';
import { INIT_PATH_IN_CONTAINER, initBinaryPath } from './spec/init-binary.ts';
import { hostDevices, parseDeviceCgroupRules, withDeviceCgroupRules, withDevices } from './spec/devices.ts';
import { applyEtcOverrides } from './spec/etc-overrides.ts';
import {
  buildSpec,
  effectiveCapabilities,
  parseSecurityOpts,
  withCapabilities,
  withCgroupsPath,
  withEtcFiles,
  withHostname,
  withInit,
  withNetworkNone,
  withNoNewPrivileges,
  withOomScoreAdj,
  withPrivileged,
  withProcess,
  withReadonlyPaths,
  withResources,
  withRootfs,
  withSeccomp,
  withShmSize,
  withSysctls,
  withTmpfs,
  withUlimits,
  type SpecOpt,
} from './spec/spec-opts.ts';
import type { DockerSeccompProfile } from '../runtime/security/index.ts';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Docker's process environment: PATH, HOSTNAME, (TERM), HOME, then the container's own. */
export function processEnv(config: ContainerRecord['Config'], hostname: string, home: string): string[] {
  const env = new Map<string, string>();
  env.set('PATH', DEFAULT_PATH);
  env.set('HOSTNAME', `HOSTNAME=${hostname}`);
  if (config.Tty) env.set('TERM', 'TERM=xterm');
  env.set('HOME', `HOME=${home}`);
  for (const entry of config.Env ?? []) env.set(entry.split('=')[0]!, entry);
  return [...env.values()];
}

/** The spec options for a container: Docker's flags, in the order they must apply. */
export function containerSpecOpts(record: ContainerRecord, paths: { rootfs: string; etc: EtcFiles }, user: ResolvedUser, seccompProfile: DockerSeccompProfile | undefined): SpecOpt[] {
  const config = record.Config;
  const hc = record.HostConfig;
  const hostname = config.Hostname || record.ID.slice(0, 12);
  const security = parseSecurityOpts(hc.SecurityOpt ?? []);
  const caps = effectiveCapabilities(hc.CapAdd ?? [], hc.CapDrop ?? [], hc.Privileged ?? false);
  const opts: SpecOpt[] = [
    withRootfs(paths.rootfs, hc.ReadonlyRootfs ?? false),
    withProcess({
      args: [record.Path, ...record.Args],
      env: processEnv(config, hostname, user.home),
      cwd: config.WorkingDir || '/',
      uid: user.uid,
      gid: user.gid,
      additionalGids: user.additionalGids,
      terminal: config.Tty === true,
    }),
    withHostname(hostname),
    withEtcFiles(paths.etc),
    withNetworkNone(),
    withCgroupsPath(`/berth/${record.ID}`),
    withConsoleSize(record),
    withCapabilities(caps),
    withResources(hc),
  ];
  if (hc.ShmSize) opts.push(withShmSize(hc.ShmSize));
  if (hc.Tmpfs) opts.push(withTmpfs(hc.Tmpfs));
  const mountPoints = mountPointsOf(record);
  if (mountPoints.length) opts.push(withMountPoints(mountPoints));
  if (hc.Init === true) opts.push(withInit(initBinaryPath(), INIT_PATH_IN_CONTAINER));
  if (hc.Devices?.length) opts.push(withDevices(hostDevices(hc.Devices)));
  // moby ignores them (and never reads them) for a privileged container, which allows every device
  if (hc.DeviceCgroupRules?.length && !hc.Privileged) opts.push(withDeviceCgroupRules(parseDeviceCgroupRules(hc.DeviceCgroupRules)));
  if (hc.Ulimits?.length) opts.push(withUlimits(hc.Ulimits));
  if (hc.Sysctls) opts.push(withSysctls(hc.Sysctls));
  if (hc.OomScoreAdj) opts.push(withOomScoreAdj(hc.OomScoreAdj));
  if (security.noNewPrivileges) opts.push(withNoNewPrivileges());
  if (hc.Privileged) opts.push(withPrivileged());
  else {
    if (hc.MaskedPaths || hc.ReadonlyPaths) opts.push(withReadonlyPaths(hc.MaskedPaths, hc.ReadonlyPaths));
    if (security.seccomp === 'default' && seccompProfile) opts.push(withSeccomp(seccompProfile, caps));
  }
  return opts;
}

/**
 * The files the /etc bind mounts land on; an image need not have them. Synchronous: four
 * metadata calls, each far cheaper than a thread-pool round trip.
 */
function ensureMountTargets(rootfs: string): void {
  const etc = join(rootfs, 'etc');
  // an image's /etc (or a file in it) may be a symlink: never follow one out of the rootfs here
  if (lstatSync(etc, { throwIfNoEntry: false })?.isSymbolicLink()) return;
  mkdirSync(etc, { recursive: true, mode: 0o755 });
  for (const name of ['hostname', 'hosts', 'resolv.conf']) {
    const path = join(etc, name);
    if (!lstatSync(path, { throwIfNoEntry: false })) closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644));
  }
}

/**
 * The container's snapshot mounts. create writes the record and the snapshot side by side: after
 * a crash between the two, a container never started has no snapshot yet, and gets it here.
 */
async function snapshotMounts(ctx: DaemonContext, record: ContainerRecord): Promise<Mount[]> {
  try {
    return await ctx.images.snapshotter.mounts(record.SnapshotKey);
  } catch (err) {
    if (!(err instanceof EngineError && err.kind === 'not-found') || record.State.StartedAt !== ZERO_TIME) throw err;
    await prepareSnapshot(ctx, record);
    return ctx.images.snapshotter.mounts(record.SnapshotKey);
  }
}

/**
 * A `--rm` container's writable layer goes with it: its overlay is volatile (no sync of the
 * upper layer, at fsync or at the unmount of its exit). A kernel without the option (before
 * 5.10) gets the plain mount.
 */
async function mountRootfs(mounts: Mount[], rootfs: string, ephemeral: boolean): Promise<void> {
  if (ephemeral) {
    const volatile = volatileOverlay(mounts);
    if (volatile !== undefined) {
      try {
        await mountAll(volatile, rootfs, shimMounter);
        return;
      } catch (err) {
        if (!(err instanceof Error && /EINVAL/.test(err.message))) throw err;
      }
    }
  }
  await mountAll(mounts, rootfs, shimMounter);
}

export async function startContainer(ctx: DaemonContext, c: Container): Promise<boolean> {
  keepMigrationLockWarm();
  try {
    return await c.exclusive(async () => {
      if (c.removing) throw conflict(`cannot start container ${c.id}: removal in progress`);
      if (c.record.State.Paused) throw conflict('cannot start a paused container, try unpause instead');
      if (c.running) return false;
      await runContainer(ctx, c);
      return true;
    });
  } catch (err) {
    // `docker run --rm` waits for the removal even when the start fails (moby's start.go does the same).
    if (c.record.HostConfig.AutoRemove && !c.running) {
      await removeContainer(ctx, c, { force: true, auto: true }).catch((e: unknown) => ctx.warn(`auto-remove ${c.id}: ${e instanceof Error ? e.message : String(e)}`));
    }
    throw err;
  }
}

async function runContainer(ctx: DaemonContext, c: Container): Promise<void> {
  const record = c.record;
  const rootfs = rootfsDir(c.dir);
  const undo: Array<() => Promise<unknown>> = [];
  try {
    mkdirSync(rootfs, { recursive: true, mode: 0o755 });
    await mountRootfs(await snapshotMounts(ctx, record), rootfs, record.HostConfig.AutoRemove === true);
    undo.push(() => unmountOnHost(rootfs));
    ensureMountTargets(rootfs);
    await prepareMountSources(rootfs, mountPointsOf(record));
    const hostname = record.Config.Hostname || record.ID.slice(0, 12);
    writeEtcFiles(c.dir, hostname);
    const network = await prepareNetwork(ctx, c, hostname);
    undo.push(() => teardownNetwork(ctx, c));
    writeNetworkEtcFiles(c.dir, network);
    await applyEtcOverrides(etcFilePaths(c.dir), record.HostConfig, network.embeddedDns === true);
    // its /dev/shm mount is undone with the network (teardownNetwork)
    const namespaces = await prepareNamespaces(ctx, c);
    const user = await resolveUser(rootfs, record.Config.User, record.HostConfig.GroupAdd ?? []);
    const spec: Spec = buildSpec([...containerSpecOpts(record, { rootfs, etc: etcFilePaths(c.dir) }, user, ctx.seccompProfile), network.specOpt, namespaces]);
    await checkExecutable(rootfs, record.Path, spec.process!.env ?? [], spec.process!.cwd);
    // the bundle is rebuilt at every start: no need to make it durable
    writeFileSync(join(c.dir, 'config.json'), JSON.stringify(spec), { mode: 0o600 });

    const exitFile = exitFilePath(c.dir);
    rmSync(exitFile, { force: true });
    // A runtime state left by a crash mid-start would block the ID.
    await deleteContainer(ctx.runtime, record.ID, { force: true }).catch(() => {});
    const { record: runtimeRecord, shim } = await create(ctx.runtime, record.ID, {
      bundle: c.dir,
      mode: 'wait',
      detach: true,
      exitFile,
      stdio: ['ignore', 'ignore', 'ignore'],
      monitorStdio: monitorStdioFor(ctx, c),
      relayConsole: record.Config.Tty === true,
      takeSpareShim: true,
    });
    undo.push(() => deleteContainer(ctx.runtime, record.ID, { force: true }));
    // before the container runs: attachers made before the start see all of its output
    await connectPendingAttachers(ctx, c);
    try {
      await start(ctx.runtime, record.ID);
    } catch (err) {
      shim.close();
      throw err;
    }
    record.HasBeenManuallyStopped = false;
    record.State = { ...record.State, Status: 'running', Running: true, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: runtimeRecord.pid, ExitCode: 0, Error: '', StartedAt: new Date().toISOString() };
    // after a crash of the host no container runs whatever this says: no fsync on the start path
    await ctx.store.save(c, { durable: false });
    monitorContainer(ctx, c, shim);
    startHealthcheck(ctx, c);
    emitVolumeMounts(ctx, c, mountPointsOf(record), 'mount');
    emitContainerEvent(ctx, c, 'start');
    // the next start's shim, spawned once the daemon is quiet
    prepareSpareShims();
  } catch (err) {
    for (const step of undo.reverse()) await step().catch((e: unknown) => ctx.warn(`undo start of ${record.ID}: ${e instanceof Error ? e.message : String(e)}`));
    const message = err instanceof Error ? err.message : String(err);
    // the docker CLI's exit codes for a command that cannot run: 127 not found, 126 not executable
    const exitCode = /executable file not found|no such file or directory/.test(message) ? 127 : /permission denied/.test(message) ? 126 : 128;
    record.State = { ...record.State, Error: message, ExitCode: exitCode };
    await ctx.store.save(c).catch(() => {});
    if (err instanceof EngineError) throw err;
    throw new EngineError('internal', `start container ${record.ID}: ${message}`, { cause: err });
  }
}
