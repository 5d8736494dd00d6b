/**
 * `POST /build` (docker build with the legacy builder): the client's context tarball is unpacked
 * into a scratch directory, the Dockerfile runs through image/build's Builder, and this file is
 * the engine side of it — containers created, run, filled and committed as the builder asks.
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import type { BuildRequest } from '../api/index.ts';
import { Builder, type BuildHost, type BuildImage, type PathKind } from '../image/build/builder.ts';
import { applyLayer } from '../image/unpack/index.ts';
import type { HistoryEntry, ImageRunConfig } from '../oci/image-spec.ts';
import { END_OF_ARCHIVE } from '../snapshot/index.ts';
import { atomicWrite } from '../util/atomic-write.ts';
import { EngineError, errorCode, invalidArgument } from '../util/errors.ts';
import { ContainerFsService } from './archive.ts';
import { attachContainer } from './attach.ts';
import { commitLayer } from './commit.ts';
import type { DaemonContext } from './context.ts';
import { createContainer } from './create.ts';
import { removeContainer } from './delete.ts';
import { startContainer } from './start.ts';
import { killContainer } from './stop.ts';

/** What a build needs of the image store beyond the daemon's image service. */
export interface BuildImages {
  runConfig(ref: string): Promise<{ Id: string; Config: object }>;
  pull(ref: string, options: { platform?: string }): Promise<unknown>;
  import(rootfs: AsyncIterable<Uint8Array>, options: { message?: string }): Promise<string>;
  reconfigure(parent: string, options: { runConfig: ImageRunConfig; history: readonly HistoryEntry[]; author?: string }): Promise<string>;
  tag(source: string, target: string): Promise<void>;
}

export type { BuildRequest };

/**
 * The build cache: step key → image, in `<root>/build-cache.json` (written whole, atomically).
 * An entry whose image was removed since is dropped when looked up.
 */
export class BuildCache {
  readonly #path: string;
  #entries: Map<string, string> | undefined;

  constructor(root: string) {
    this.#path = join(root, 'build-cache.json');
  }

  async #load(): Promise<Map<string, string>> {
    if (this.#entries !== undefined) return this.#entries;
    try {
      this.#entries = new Map(Object.entries(JSON.parse(await readFile(this.#path, 'utf8')) as Record<string, string>));
    } catch (err) {
      // a missing or unreadable cache is an empty one: it only ever saves work
      if (errorCode(err) !== 'ENOENT') process.stderr.write(`berthd: build cache ${this.#path} unreadable, starting empty: ${err instanceof Error ? err.message : String(err)}\n`);
      this.#entries = new Map();
    }
    return this.#entries;
  }

  async get(key: string, exists: (image: string) => Promise<boolean>): Promise<string | undefined> {
    const entries = await this.#load();
    const image = entries.get(key);
    if (image === undefined) return undefined;
    if (await exists(image)) return image;
    entries.delete(key);
    return undefined;
  }

  /** Forgets every entry; returns the keys forgotten. */
  async clear(): Promise<string[]> {
    const entries = await this.#load();
    const keys = [...entries.keys()];
    entries.clear();
    await atomicWrite(this.#path, '{}');
    return keys;
  }

  async set(key: string, image: string): Promise<void> {
    const entries = await this.#load();
    entries.set(key, image);
    await atomicWrite(this.#path, JSON.stringify(Object.fromEntries(entries)));
  }
}

const GO_MODE_DIR = 0x80000000;
const GO_MODE_SYMLINK = 0x8000000;

class EngineBuildHost implements BuildHost {
  readonly #ctx: DaemonContext;
  readonly #images: BuildImages;
  readonly #fs: ContainerFsService;
  readonly #output: (text: string) => void;
  readonly #cache: BuildCache;
  readonly #signal: AbortSignal | undefined;
  #scratch: string | undefined;

  constructor(ctx: DaemonContext, images: BuildImages, cache: BuildCache, output: (text: string) => void, signal?: AbortSignal) {
    this.#ctx = ctx;
    this.#signal = signal;
    this.#images = images;
    this.#cache = cache;
    this.#fs = new ContainerFsService(ctx);
    this.#output = output;
  }

  async image(ref: string, options: { pull: boolean; platform?: string }): Promise<BuildImage> {
    const present = options.pull ? undefined : await this.#images.runConfig(ref).catch((err: unknown) => {
      if (err instanceof Error && 'kind' in err && err.kind === 'not-found') return undefined;
      throw err;
    });
    if (present !== undefined) return { id: present.Id, config: present.Config as ImageRunConfig };
    this.#output(`Pulling ${ref}\n`);
    await this.#images.pull(ref, options.platform !== undefined ? { platform: options.platform } : {});
    const pulled = await this.#images.runConfig(ref);
    return { id: pulled.Id, config: pulled.Config as ImageRunConfig };
  }

  async scratch(): Promise<BuildImage> {
    // one empty layer: containers need a snapshot to start from
    this.#scratch ??= await this.#images.import(Readable.from([END_OF_ARCHIVE]), { message: 'scratch' });
    return { id: this.#scratch, config: {} };
  }

  async createContainer(image: string, config: ImageRunConfig, argv: string[]): Promise<string> {
    const { Id } = await createContainer(this.#ctx, undefined, {
      Image: image,
      Entrypoint: [],
      Cmd: argv,
      Env: config.Env ?? [],
      ...(config.User ? { User: config.User } : {}),
      ...(config.WorkingDir ? { WorkingDir: config.WorkingDir } : {}),
      Labels: { 'org.berth.build': 'intermediate' },
      HostConfig: {},
    });
    return Id;
  }

  async runContainer(id: string, onOutput: (chunk: Uint8Array) => void): Promise<number> {
    const c = this.#ctx.store.get(id);
    const abort = new AbortController();
    // the client went away (ctrl-C on `docker build`): the step's process goes too
    const cancel = (): void => void killContainer(this.#ctx, c, 'KILL', id).catch(() => {});
    if (this.#signal?.aborted) throw new EngineError('unavailable', 'build cancelled: the client went away');
    this.#signal?.addEventListener('abort', cancel, { once: true });
    const output = await attachContainer(this.#ctx, c, { stdin: false, stdout: true, stderr: true, logs: false, stream: true, signal: abort.signal });
    const exit = c.nextExit();
    const pump = (async () => {
      for await (const chunk of output) onOutput(chunk.data);
    })();
    try {
      await startContainer(this.#ctx, c);
      const status = await exit;
      // the attach stream ends once the shim has sent the last bytes
      await Promise.race([pump, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      return status.exitCode;
    } finally {
      this.#signal?.removeEventListener('abort', cancel);
      abort.abort();
      await pump.catch(() => {});
    }
  }

  async pathKind(container: string, path: string): Promise<PathKind> {
    let at = path;
    for (let hops = 0; hops < 40; hops++) {
      let stat;
      try {
        stat = await this.#fs.statPath(container, at);
      } catch (err) {
        if (err instanceof Error && 'kind' in err && err.kind === 'not-found') return undefined;
        throw err;
      }
      if ((stat.mode & GO_MODE_DIR) !== 0) return 'dir';
      if ((stat.mode & GO_MODE_SYMLINK) === 0 || stat.linkTarget === '') return 'other';
      at = posix.resolve(posix.dirname(at), stat.linkTarget);
    }
    throw invalidArgument(`${path}: too many levels of symbolic links`);
  }

  async putArchive(container: string, dir: string, tar: AsyncIterable<Uint8Array>): Promise<void> {
    await this.#fs.putArchive(container, dir, tar, { noOverwriteDirNonDir: false });
  }

  async getArchive(container: string, path: string): Promise<AsyncIterable<Uint8Array>> {
    return (await this.#fs.getArchive(container, path)).body;
  }

  async commit(container: string, config: ImageRunConfig, history: HistoryEntry[], author?: string): Promise<string> {
    return commitLayer(this.#ctx, this.#ctx.store.get(container), { runConfig: config, history, ...(author !== undefined ? { author } : {}) });
  }

  async configure(image: string, config: ImageRunConfig, history: HistoryEntry[], author?: string): Promise<string> {
    return this.#images.reconfigure(image, { runConfig: config, history, ...(author !== undefined ? { author } : {}) });
  }

  async removeContainer(id: string): Promise<void> {
    await removeContainer(this.#ctx, this.#ctx.store.get(id), { force: true, volumes: true });
  }

  cacheLookup(key: string): Promise<string | undefined> {
    return this.#cache.get(key, (image) => this.#images.runConfig(image).then(() => true, () => false));
  }

  cacheStore(key: string, image: string): Promise<void> {
    return this.#cache.set(key, image);
  }
}

/** Unpacks the context, runs the build, tags the result; resolves to the image ID. */
export async function buildImage(ctx: DaemonContext, images: BuildImages, cache: BuildCache, request: BuildRequest, output: (text: string) => void): Promise<string> {
  const contextDir = await mkdtemp(join(tmpdir(), 'berth-build-'));
  try {
    // applyLayer never writes outside the directory it is given: a hostile context is refused
    await applyLayer(contextDir, request.context, { hasParent: false, label: 'build context', ...(request.signal ? { signal: request.signal } : {}) });
    const dockerfilePath = posix.normalize(`/${request.dockerfile || 'Dockerfile'}`);
    let text: string;
    try {
      text = await readFile(join(contextDir, dockerfilePath), 'utf8');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') throw invalidArgument(`Cannot locate specified Dockerfile: ${request.dockerfile || 'Dockerfile'}`);
      throw err;
    }
    const builder = new Builder(new EngineBuildHost(ctx, images, cache, output, request.signal), text, {
      contextDir,
      ...(request.buildArgs !== undefined ? { buildArgs: request.buildArgs } : {}),
      ...(request.labels !== undefined ? { labels: request.labels } : {}),
      ...(request.target !== undefined ? { target: request.target } : {}),
      ...(request.pull !== undefined ? { pull: request.pull } : {}),
      ...(request.platform !== undefined ? { platform: request.platform } : {}),
      ...(request.rm !== undefined ? { rm: request.rm } : {}),
      ...(request.forceRm !== undefined ? { forceRm: request.forceRm } : {}),
      ...(request.noCache !== undefined ? { noCache: request.noCache } : {}),
      ...(request.signal !== undefined ? { signal: request.signal } : {}),
      output,
    });
    const id = await builder.build();
    for (const tag of request.tags) await images.tag(id, tag);
    return id;
  } finally {
    await rm(contextDir, { recursive: true, force: true });
  }
}
