/**
 * The daemon: Docker semantics over the runtime library and the image service. Its methods
 * are what the API server's routers declare as their backends (it never sees HTTP); each
 * operation lives in its own file, this class only resolves references and wires them up.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerCreateRequest, ContainerCreateResponse, ContainerInspect, ContainerSummary, InfoResponse, VersionResponse, WaitCondition, WaitResponse } from '../api/index.ts';
import { Runtime } from '../runtime/index.ts';
import type { DockerSeccompProfile } from '../runtime/security/index.ts';
import { errorCode, invalidArgument } from '../util/errors.ts';
import { ContainerStore } from './container-store.ts';
import type { Container, ExitStatus } from './container.ts';
import type { DaemonContext } from './context.ts';
import { createContainer } from './create.ts';
import { removeContainer } from './delete.ts';
import type { ImageService } from './images.ts';
import { openOutput, type OutputChunk } from './logs.ts';
import { reconcile, stopMonitors } from './monitor.ts';
import { startContainer } from './start.ts';
import { pauseContainer, unpauseContainer } from './pause.ts';
import { renameContainer, restartContainer } from './restart.ts';
import { killContainer, stopContainer } from './stop.ts';
import { systemInfo, versionInfo } from './system-info.ts';
import { inspectView, listView } from './views.ts';

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
    const store = new ContainerStore(join(options.root, 'containers'));
    await store.load(warn);
    const ctx: DaemonContext = {
      store,
      runtime: new Runtime({ root: options.runtimeRoot ?? DEFAULT_RUNTIME_ROOT, warn }),
      images: options.images,
      root: options.root,
      seccompProfile: await loadSeccompProfile(options.seccompProfile),
      warn,
    };
    for (const c of store.all()) await reconcile(ctx, c).catch((err: unknown) => warn(`reconcile ${c.id}: ${err instanceof Error ? err.message : String(err)}`));
    return new Daemon(ctx, options);
  }

  /** Stops watching containers; they keep running under their shims. */
  close(): void {
    stopMonitors(this.#ctx);
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

  async list(options: { all: boolean; limit?: number; filters: Record<string, string[]> }): Promise<ContainerSummary[]> {
    return listView(this.#ctx.store.all(), options);
  }

  async inspect(ref: string): Promise<ContainerInspect> {
    return inspectView(this.#get(ref));
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

  /** Whether any container was created from the image (the image store must not delete it). */
  usesImage(imageId: string): boolean {
    return this.#ctx.store.all().some((c) => c.record.Image === imageId);
  }

  remove(ref: string, options: { force: boolean; volumes: boolean }): Promise<void> {
    return removeContainer(this.#ctx, this.#get(ref), { force: options.force });
  }

  async isTty(ref: string): Promise<boolean> {
    return this.#get(ref).record.Config.Tty === true;
  }

  async logs(ref: string, options: { stdout: boolean; stderr: boolean; follow: boolean; tail?: number; signal: AbortSignal }): Promise<AsyncIterable<OutputChunk>> {
    const c = this.#get(ref);
    return openOutput(c.dir, {
      stdout: options.stdout,
      stderr: options.stderr,
      ...(options.tail !== undefined ? { tail: options.tail } : {}),
      ...(options.follow && c.running ? { until: c.nextExit() } : {}),
      signal: options.signal,
    });
  }

  async attach(ref: string, options: { stdout: boolean; stderr: boolean; logs: boolean; stream: boolean; signal: AbortSignal }): Promise<AsyncIterable<OutputChunk>> {
    const c = this.#get(ref);
    // An attach made before start (docker run) streams until the exit of the run that follows.
    return openOutput(c.dir, {
      stdout: options.stdout,
      stderr: options.stderr,
      fromEnd: !options.logs,
      ...(options.stream ? { until: c.nextExit() } : {}),
      signal: options.signal,
    });
  }

  #get(ref: string): Container {
    return this.#ctx.store.get(ref);
  }
}
