/**
 * The daemon: Docker semantics over the runtime library and the image service. Its methods
 * are what the API server's routers declare as their backends (it never sees HTTP); each
 * operation lives in its own file, this class only resolves references and wires them up.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerCreateRequest, ContainerCreateResponse, ContainerUpdateRequest, ContainerInspect, ContainerSummary, InfoResponse, VersionResponse, WaitCondition, WaitResponse } from '../api/index.ts';
import { keepStateInMemory, mountOnHost, prepareSpareShims, releaseStandingShims, Runtime } from '../runtime/index.ts';
import type { DockerSeccompProfile } from '../runtime/security/index.ts';
import { errorCode, invalidArgument } from '../util/errors.ts';
import { ContainerStore } from './container-store.ts';
import type { Container, ExitStatus } from './container.ts';
import type { DaemonContext } from './context.ts';
import { createContainer } from './create.ts';
import { removeContainer } from './delete.ts';
import type { ImageService } from './images.ts';
import { createExec, execIsTty, inspectExec, resizeExec, startExec, type ExecCreateRequest, type ExecInspect, type ExecStartRequest } from './exec.ts';
import { containerEvents, emitImageEvent, type EventMessage } from './events.ts';
import { containerStats, type StatsResponse } from './stats.ts';
import { topContainer, type TopResponse } from './top.ts';
import { attachContainer, containerLogs, parseApiTime, resizeContainer, type AttachRequest, type LogsRequest, type OutputChunk } from './attach.ts';
import { reconcile, removeOrphanLayers, stopMonitors } from './monitor.ts';
import { startOnBoot } from './restart-policy.ts';
import { restoreHealth } from './health.ts';
import { updateContainer } from './update.ts';
import { startContainer } from './start.ts';
import { pauseContainer, unpauseContainer } from './pause.ts';
import { renameContainer, restartContainer } from './restart.ts';
import { killContainer, stopContainer } from './stop.ts';
import { systemInfo, versionInfo } from './system-info.ts';
import { containerSize, inspectView, listView } from './views.ts';
import { VolumeService } from './volumes.ts';
import { ContainerFsService } from './archive.ts';
import { pruneContainers, type ContainerPruneReport } from './prune.ts';
import { BuildCache, buildImage, type BuildImages, type BuildRequest } from './build.ts';
import { LocalVolumes } from '../volume/index.ts';
import { NetworkService, networkSettings, reconcileNetworks, summaryNetworking, settleNetworks } from './network.ts';
import type { NetworkManager } from '../network/index.ts';
import type { DnsService } from '../network/dns/service.ts';
import { PredefinedNetworksOnly } from './predefined-networks.ts';

export const DEFAULT_RUNTIME_ROOT = '/run/berth/runtime';

/** Where a Docker-format default seccomp profile is looked for, in order. */
export const SECCOMP_PROFILE_PATHS = ['/etc/berth/seccomp.json', '/usr/share/containers/seccomp.json'];

export interface DaemonOptions {
  /** data root (containers/ under it); default /var/lib/berth */
  root: string;
  /** the runtime's state root; default /run/berth/runtime */
  runtimeRoot?: string;
  images: ImageService;
  /** a Docker seccomp profile file; default: the first of SECCOMP_PROFILE_PATHS that exists; `unconfined` for none */
  seccompProfile?: string;
  /** container networking, initialised by the caller; without it every container gets `--network none` */
  network?: NetworkManager;
  dns?: DnsService;
  warn?: (message: string) => void;
  gitCommit?: string;
  buildTime?: string;
}

async function loadSeccompProfile(option: string | undefined): Promise<DockerSeccompProfile | undefined> {
  if (option === 'unconfined') return undefined;
  for (const path of option !== undefined ? [option] : SECCOMP_PROFILE_PATHS) {
    try {
      return JSON.parse(await readFile(path, 'utf8')) as DockerSeccompProfile;
    } catch (err) {
      if (option === undefined && errorCode(err) === 'ENOENT') continue;
      throw invalidArgument(`load seccomp profile ${path}: ${err instanceof Error ? err.message : String(err)}`, err);
    }
  }
  return undefined;
}

export class Daemon {
  #ctx: DaemonContext;
  #buildCache: BuildCache | undefined;
  #gitCommit: string;
  #buildTime: string;

  private constructor(ctx: DaemonContext, options: DaemonOptions) {
    this.#ctx = ctx;
    this.#gitCommit = options.gitCommit ?? 'unknown';
    this.#buildTime = options.buildTime ?? new Date(0).toISOString();
  }

  /** Loads every container record and reconciles it with what ran while we were away. */
  static async open(options: DaemonOptions): Promise<Daemon> {
    const warn = options.warn ?? ((message: string) => process.stderr.write(`berthd: ${message}\n`));
    const runtimeRoot = options.runtimeRoot ?? DEFAULT_RUNTIME_ROOT;
    // the default one only: a caller's own root is theirs to place
    if (runtimeRoot === DEFAULT_RUNTIME_ROOT) {
      const kind = await keepStateInMemory(runtimeRoot, mountOnHost).catch((err: unknown) => warn(`keep runtime state in memory: ${err instanceof Error ? err.message : String(err)}`));
      if (kind === 'disk') warn(`${runtimeRoot} is on a disk filesystem and holds state already: container starts write it there`);
    }
    const store = new ContainerStore(join(options.root, 'containers'));
    await store.load(warn);
    const ctx: DaemonContext = {
      store,
      runtime: new Runtime({ root: runtimeRoot, warn }),
      images: options.images,
      root: options.root,
      seccompProfile: await loadSeccompProfile(options.seccompProfile),
      volumes: await LocalVolumes.open(join(options.root, 'volumes'), warn),
      ...(options.network === undefined ? {} : { network: options.network }),
      ...(options.dns === undefined ? {} : { dns: options.dns }),
      warn,
    };
    for (const c of store.all()) await reconcile(ctx, c).catch((err: unknown) => warn(`reconcile ${c.id}: ${err instanceof Error ? err.message : String(err)}`));
    await removeOrphanLayers(ctx).catch((err: unknown) => warn(`remove orphaned container layers: ${err instanceof Error ? err.message : String(err)}`));
    await reconcileNetworks(ctx);
    await restoreHealth(ctx, store.all());
    await startOnBoot(ctx, store.all());
    // the first start then finds its shims waiting instead of forking this process for them
    setImmediate(() => prepareSpareShims());
    return new Daemon(ctx, options);
  }

  /** Stops watching containers (they keep running under their shims) after any network teardown still under way. */
  async close(): Promise<void> {
    stopMonitors(this.#ctx);
    await settleNetworks(this.#ctx);
    // reaped here, not left for PID 1 to collect late
    await releaseStandingShims();
  }

  // ---- system ------------------------------------------------------------------------------

  version(): VersionResponse {
    return versionInfo(this.#gitCommit, this.#buildTime);
  }

  async info(): Promise<InfoResponse> {
    const all = this.#ctx.store.all();
    const running = all.filter((c) => c.running && !c.record.State.Paused).length;
    const paused = all.filter((c) => c.record.State.Paused).length;
    const images = await this.#ctx.images.list().then((l) => l.length, () => 0);
    return systemInfo({
      containers: { total: all.length, running, paused, stopped: all.length - running - paused },
      images,
      root: this.#ctx.root,
      seccomp: this.#ctx.seccompProfile !== undefined,
    });
  }

  // ---- containers --------------------------------------------------------------------------

  create(name: string | undefined, request: ContainerCreateRequest): Promise<ContainerCreateResponse> {
    return createContainer(this.#ctx, name, request);
  }

  start(ref: string): Promise<boolean> {
    return startContainer(this.#ctx, this.#get(ref));
  }

  list(options: { all: boolean; limit?: number; size?: boolean; filters: Record<string, string[]> }): Promise<ContainerSummary[]> {
    const ctx = this.#ctx;
    return listView(ctx.store.all(), options, {
      // images here have no parents: an image's family is itself
      imageFamily: (ref) => ctx.images.inspect(ref).then((image) => [image.Id], () => []),
      networking: (c) => summaryNetworking(ctx, c),
      size: (c) => containerSize(ctx, c),
    });
  }

  async inspect(ref: string, options: { size: boolean } = { size: false }): Promise<ContainerInspect> {
    const c = this.#get(ref);
    return { ...inspectView(c), NetworkSettings: await networkSettings(this.#ctx, c), ...(options.size ? await containerSize(this.#ctx, c) : {}) };
  }

  /** `docker container prune`: every stopped container (filters `until`, `label`, `label!`). */
  pruneContainers(filters: Record<string, string[]>): Promise<ContainerPruneReport> {
    return pruneContainers(this.#ctx, filters);
  }

  /** `POST /build/prune`: forgets the build cache (its images stay until an image prune). */
  async pruneBuildCache(): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }> {
    this.#buildCache ??= new BuildCache(this.#ctx.root);
    const deleted = await this.#buildCache.clear();
    return { CachesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: 0 };
  }

  /** `docker build` (the legacy builder): resolves to the new image's ID. */
  build(images: BuildImages, request: BuildRequest, output: (text: string) => void): Promise<string> {
    this.#buildCache ??= new BuildCache(this.#ctx.root);
    return buildImage(this.#ctx, images, this.#buildCache, request, output);
  }

  /** `docker cp`, `diff`, `export`. */
  containerFs(): ContainerFsService {
    return new ContainerFsService(this.#ctx);
  }

  /** The `docker volume` verbs. */
  volumes(): VolumeService {
    return new VolumeService(this.#ctx);
  }

  /** The `docker network` verbs, when the daemon has networking. */
  networks(): NetworkService | PredefinedNetworksOnly {
    return this.#ctx.network === undefined ? new PredefinedNetworksOnly(this.#ctx) : new NetworkService(this.#ctx, this.#ctx.network);
  }

  async wait(ref: string, condition: WaitCondition, _signal: AbortSignal): Promise<{ result: Promise<WaitResponse> }> {
    const c = this.#get(ref);
    const last = (): ExitStatus => ({ exitCode: c.record.State.ExitCode, finishedAt: c.record.State.FinishedAt });
    let status: Promise<ExitStatus>;
    if (condition === 'removed') status = c.removed().then(last);
    else if (condition === 'not-running' && !c.running) status = Promise.resolve(last());
    else status = c.nextExit();
    return { result: status.then((s) => ({ StatusCode: s.exitCode, Error: s.error ? { Message: s.error } : null })) };
  }

  async kill(ref: string, signal: string | undefined): Promise<void> {
    await killContainer(this.#ctx, this.#get(ref), signal, ref);
  }

  stop(ref: string, options: { signal?: string; timeout?: number }): Promise<boolean> {
    return stopContainer(this.#ctx, this.#get(ref), options);
  }

  async pause(ref: string): Promise<void> {
    await pauseContainer(this.#ctx, this.#get(ref));
  }

  async unpause(ref: string): Promise<void> {
    await unpauseContainer(this.#ctx, this.#get(ref));
  }

  async restart(ref: string, options: { signal?: string; timeout?: number }): Promise<void> {
    await restartContainer(this.#ctx, this.#get(ref), options);
  }

  async rename(ref: string, name: string): Promise<void> {
    await renameContainer(this.#ctx, this.#get(ref), name);
  }

  update(ref: string, request: ContainerUpdateRequest): Promise<{ Warnings: string[] }> {
    return updateContainer(this.#ctx, this.#get(ref), request);
  }

  /** Whether any container was created from the image (the image store must not delete it). */
  usesImage(imageId: string): boolean {
    return this.#ctx.store.all().some((c) => c.record.Image === imageId);
  }

  remove(ref: string, options: { force: boolean; volumes: boolean }): Promise<void> {
    return removeContainer(this.#ctx, this.#get(ref), { force: options.force, volumes: options.volumes });
  }

  async isTty(ref: string): Promise<boolean> {
    return this.#get(ref).record.Config.Tty === true;
  }

  async logs(ref: string, options: LogsRequest): Promise<AsyncIterable<OutputChunk>> {
    return containerLogs(this.#get(ref), options);
  }

  attach(ref: string, options: AttachRequest): Promise<AsyncIterable<OutputChunk>> {
    return attachContainer(this.#ctx, this.#get(ref), options);
  }

  resize(ref: string, height: number, width: number): Promise<void> {
    return resizeContainer(this.#ctx, this.#get(ref), height, width);
  }

  // ---- observing ---------------------------------------------------------------------------

  top(ref: string, psArgs: string): Promise<TopResponse> {
    return topContainer(this.#ctx, this.#get(ref), psArgs);
  }

  async stats(ref: string, options: { stream: boolean; oneShot: boolean; signal: AbortSignal }): Promise<AsyncIterable<StatsResponse>> {
    return containerStats(this.#ctx, this.#get(ref), options);
  }

  async events(options: { since?: string; until?: string; filters: Record<string, string[]>; signal: AbortSignal }): Promise<AsyncIterable<EventMessage>> {
    return containerEvents(this.#ctx, {
      ...(options.since !== undefined ? { since: parseApiTime(options.since) } : {}),
      ...(options.until !== undefined ? { until: parseApiTime(options.until) } : {}),
      filters: options.filters,
      signal: options.signal,
    });
  }

  /** The image service's events (image-api.ts), into this daemon's stream. */
  imageEvent(id: string, name: string, action: string, labels: Record<string, string> | null): void {
    emitImageEvent(this.#ctx, id, name, action, labels);
  }

  // ---- exec --------------------------------------------------------------------------------

  async execCreate(ref: string, config: ExecCreateRequest): Promise<{ Id: string }> {
    return createExec(this.#ctx, this.#get(ref), config);
  }

  execStart(id: string, options: ExecStartRequest): Promise<AsyncIterable<OutputChunk>> {
    return startExec(this.#ctx, id, options);
  }

  async execInspect(id: string): Promise<ExecInspect> {
    return inspectExec(this.#ctx, id);
  }

  async execIsTty(id: string): Promise<boolean> {
    return execIsTty(this.#ctx, id);
  }

  async execResize(id: string, height: number, width: number): Promise<void> {
    resizeExec(this.#ctx, id, height, width);
  }

  #get(ref: string): Container {
    return this.#ctx.store.get(ref);
  }
}
