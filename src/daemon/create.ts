/**
 * `POST /containers/create`: a name, an ID, the image's config merged under the request's,
 * a writable snapshot on the image — and nothing running yet. Every step is undone if a later
 * one fails, so a failed create leaves no name, directory or snapshot behind.
 */

import { randomBytes } from 'node:crypto';
import type { ContainerConfig, ContainerCreateRequest, ContainerCreateResponse, HostConfig } from '../api/index.ts';
import { EngineError, invalidArgument, notFound } from '../util/errors.ts';
import { familiar, parseReference } from '../image/reference/index.ts';
import { initialState, type ContainerRecord } from './container.ts';
import { logRotation } from './attach.ts';
import { emitContainerEvent } from './events.ts';
import { generateName, normalizeName } from './names.ts';
import { effectiveCapabilities, parseSecurityOpts } from './spec/spec-opts.ts';
import { checkHealthConfig, mergeHealthcheck } from './health.ts';
import { hostDevices, parseDeviceCgroupRules } from './spec/devices.ts';
import { checkEtcOverrides } from './spec/etc-overrides.ts';
import type { DaemonContext } from './context.ts';
import type { ImageRunConfig } from './images.ts';
import { planNetworking } from './network.ts';
import { namespaceModes } from './namespace-modes.ts';
import { removeAnonymousVolumes, resolveMounts } from './volumes.ts';
import { keepMigrationLockWarm } from '../runtime/index.ts';

/** 64 hex digits whose 12-digit short form is never all digits (it would read as a number). */
export function newContainerId(taken: (id: string) => boolean): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (/^\d{12}/.test(id) || taken(id)) continue;
    return id;
  }
}

/**
 * The image's config under the request's (moby's merge): the request's Env wins per variable,
 * an Entrypoint given in the request drops the image's Cmd, empty fields take the image's;
 * an Entrypoint of [""] then means none (moby's mergeAndVerifyConfig).
 */
export function mergeConfig(request: ContainerConfig, image: ImageRunConfig): ContainerConfig {
  const merged: ContainerConfig = { ...request };
  const env = new Map<string, string>();
  for (const entry of [...(image.Env ?? []), ...(request.Env ?? [])]) env.set(entry.split('=')[0]!, entry);
  merged.Env = [...env.values()];
  const entrypointGiven = request.Entrypoint !== undefined && request.Entrypoint !== null;
  if (!entrypointGiven) merged.Entrypoint = image.Entrypoint ?? null;
  if (!request.Cmd?.length && !entrypointGiven) merged.Cmd = image.Cmd ?? null;
  // the docker CLI's `--entrypoint ''`: no entrypoint at all, and not the image's Cmd either
  if (merged.Entrypoint?.length === 1 && merged.Entrypoint[0] === '') merged.Entrypoint = null;
  if (!merged.WorkingDir) merged.WorkingDir = image.WorkingDir ?? '';
  if (!merged.User) merged.User = image.User ?? '';
  if (!merged.StopSignal && image.StopSignal) merged.StopSignal = image.StopSignal;
  if (!merged.Shell?.length && image.Shell?.length) merged.Shell = [...image.Shell];
  const healthcheck = mergeHealthcheck(request.Healthcheck, image.Healthcheck);
  if (healthcheck) merged.Healthcheck = healthcheck;
  merged.Labels = { ...(image.Labels ?? {}), ...(request.Labels ?? {}) };
  if (image.ExposedPorts || request.ExposedPorts) merged.ExposedPorts = { ...(image.ExposedPorts ?? {}), ...(request.ExposedPorts ?? {}) };
  if (image.Volumes || request.Volumes) merged.Volumes = { ...(image.Volumes ?? {}), ...(request.Volumes ?? {}) };
  return merged;
}

/** `busybox` → `busybox:latest`, as moby names a missing image; an unparsable ref as given. */
function familiarRef(ref: string): string {
  try {
    return familiar(parseReference(ref));
  } catch {
    return ref;
  }
}

/** Checks what start would otherwise fail on, so the error comes from create as in Docker. */
function checkHostConfig(hc: HostConfig): void {
  effectiveCapabilities(hc.CapAdd ?? [], hc.CapDrop ?? [], hc.Privileged ?? false);
  parseSecurityOpts(hc.SecurityOpt ?? []);
  if (hc.Memory && hc.Memory < 6 * 1024 * 1024) throw invalidArgument('Minimum memory limit allowed is 6MB');
  if (hc.ShmSize !== undefined && hc.ShmSize < 0) throw invalidArgument('SHM size can not be less than 0');
  logRotation(hc);
  checkRestartPolicy(hc);
  const policy = hc.RestartPolicy?.Name ?? '';
  if (hc.AutoRemove && policy !== '' && policy !== 'no') throw invalidArgument("can't create 'AutoRemove' container with restart policy");
  if (hc.Devices?.length) hostDevices(hc.Devices);
  if (hc.DeviceCgroupRules?.length && !hc.Privileged) parseDeviceCgroupRules(hc.DeviceCgroupRules);
  checkEtcOverrides(hc);
  const requests = (hc as HostConfig & { DeviceRequests?: Array<{ Driver?: string; Capabilities?: string[][] | null }> | null }).DeviceRequests ?? [];
  // no device driver (NVIDIA's or CDI) is registered with berthd: moby's words for that
  const request = requests[0];
  if (request) throw invalidArgument(`could not select device driver ${JSON.stringify(request.Driver ?? '')} with capabilities: [${(request.Capabilities ?? []).map((set) => `[${set.join(' ')}]`).join(' ')}]`);
}

/** moby's validateRestartPolicy. */
export function checkRestartPolicy(hc: HostConfig): void {
  const { Name: name = '', MaximumRetryCount: count = 0 } = hc.RestartPolicy ?? {};
  switch (name) {
    case 'always':
    case 'unless-stopped':
    case 'no':
      if (count !== 0) throw invalidArgument(`invalid restart policy: maximum retry count can only be used with 'on-failure'${count < 0 ? ' and cannot be negative' : ''}`);
      return;
    case 'on-failure':
      if (count < 0) throw invalidArgument('invalid restart policy: maximum retry count cannot be negative');
      return;
    case '':
      return;
    default:
      throw invalidArgument(`invalid restart policy: unknown policy '${name as string}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
}

/** moby's default /dev/shm size, recorded at create as Docker does (inspect shows it). */
const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

/** The label that ties a writable layer to its container. */
export const CONTAINER_LABEL = 'berth.container';

/** The container's writable layer on its image's top layer. */
export async function prepareSnapshot(ctx: DaemonContext, record: ContainerRecord, options: { chainId?: string; durable?: boolean } = {}): Promise<void> {
  const parent = options.chainId ?? (await ctx.images.runConfig(record.Image)).ChainId;
  await ctx.images.snapshotter.prepare(record.SnapshotKey, parent, { labels: { [CONTAINER_LABEL]: record.ID }, durable: options.durable ?? true });
}

export async function createContainer(ctx: DaemonContext, name: string | undefined, request: ContainerCreateRequest): Promise<ContainerCreateResponse> {
  // a start usually follows: its move of the init into the container's cgroups should not wait
  keepMigrationLockWarm();
  const { HostConfig: hostConfig = {}, NetworkingConfig: networking, ...config } = request;
  const ref = config.Image ?? '';
  if (ref === '') throw invalidArgument('no image specified');
  const containerName = name !== undefined ? normalizeName(name) : generateName((n) => ctx.store.nameTaken(n));
  checkHostConfig(hostConfig);
  checkHealthConfig(config.Healthcheck);

  let image: { Id: string; Config: ImageRunConfig; ChainId: string };
  try {
    image = await ctx.images.runConfig(ref);
  } catch (err) {
    if (err instanceof EngineError && err.kind === 'not-found') throw notFound(`No such image: ${familiarRef(ref)}`, err);
    throw err;
  }
  const merged = mergeConfig(config, image.Config ?? {});
  const command = [...(merged.Entrypoint ?? []), ...(merged.Cmd ?? [])];
  if (command.length === 0) throw invalidArgument('no command specified');

  const network = await planNetworking(ctx, hostConfig, networking?.EndpointsConfig, merged.ExposedPorts ?? undefined);

  const id = newContainerId((candidate) => ctx.store.has(candidate));
  merged.Hostname = merged.Hostname || id.slice(0, 12);
  const record: ContainerRecord = {
    ID: id,
    Name: containerName,
    Created: new Date().toISOString(),
    Path: command[0]!,
    Args: command.slice(1),
    Config: merged,
    HostConfig: { ...hostConfig, ...namespaceModes(hostConfig), ShmSize: hostConfig.ShmSize || DEFAULT_SHM_SIZE, NetworkMode: network.mode, LogConfig: { Type: hostConfig.LogConfig?.Type || 'json-file', Config: hostConfig.LogConfig?.Config ?? {} } },
    Image: image.Id,
    State: initialState(),
    RestartCount: 0,
    SnapshotKey: `container-${id}`,
    ...(Object.keys(network.networks).length > 0 ? { Networks: network.networks } : {}),
  };
  const container = await ctx.store.add(record);
  try {
    record.MountPoints = await resolveMounts(ctx, record);
    // Side by side, neither needs the other. The record is durable before the reply; the
    // layer's metadata is made durable right after it (flush): a crash before that leaves a
    // record whose layer is gone, and its first start makes it (start.ts).
    const [prepared, saved] = await Promise.allSettled([prepareSnapshot(ctx, record, { chainId: image.ChainId, durable: false }), ctx.store.save(container)]);
    if (saved.status === 'rejected') {
      if (prepared.status === 'fulfilled') await ctx.images.snapshotter.remove(record.SnapshotKey).catch(() => {});
      throw saved.reason;
    }
    if (prepared.status === 'rejected') throw prepared.reason;
    ctx.images.snapshotter.flush().catch((err: unknown) => ctx.warn(`sync the layer of container ${id}: ${err instanceof Error ? err.message : String(err)}`));
  } catch (err) {
    await ctx.store.delete(container, ctx.warn);
    await removeAnonymousVolumes(ctx, record, ctx.warn);
    throw err;
  }
  emitContainerEvent(ctx, container, 'create');
  return { Id: id, Warnings: [] };
}
