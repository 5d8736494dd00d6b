/**
 * The image half of the Engine API as the daemon serves it: the image store's docker-shaped
 * service (LocalImageBackend) behind the image router, plus what only the daemon knows —
 * `system df` needs its containers and volumes, and a push or pull runs with the credentials
 * its request carried (X-Registry-Auth), which the registry client reads through
 * `RequestCredentials` while that request's work is under way.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import type { ContainerSummary } from '../api/index.ts';
import { parsePruneFilters, type LocalImageBackend } from '../image/store/index.ts';
import { authKeyFor, type CredentialStore, type Credentials } from '../image/registry/index.ts';
import type { ImageBackend, ImageDeleteItem, ProgressMessage, RegistryAuth } from '../server/index.ts';
import { EngineError, errorCode, invalidArgument } from '../util/errors.ts';
import type { Volume } from '../volume/index.ts';
import { treeBytes } from '../util/tree-bytes.ts';
import { familiar, familiarName, parseReference } from '../image/reference/index.ts';

/**
 * Credentials the registry client asks for by host: the current request's X-Registry-Auth when
 * it names that registry (or names none), else the fallback store.
 */
export class RequestCredentials implements CredentialStore {
  #scope = new AsyncLocalStorage<RegistryAuth>();
  #fallback: CredentialStore | undefined;

  constructor(fallback?: CredentialStore) {
    this.#fallback = fallback;
  }

  /** Runs `fn` with `auth` as the credentials of every registry call it makes. */
  run<T>(auth: RegistryAuth, fn: () => Promise<T>): Promise<T> {
    return this.#scope.run(auth, fn);
  }

  async get(host: string): Promise<Credentials | undefined> {
    const auth = this.#scope.getStore();
    if (auth?.username !== undefined && auth.password !== undefined) {
      if (auth.serveraddress === undefined || authKeyFor(auth.serveraddress) === authKeyFor(host)) return { username: auth.username, password: auth.password };
    }
    return this.#fallback?.get(host);
  }
}

/** Where image events go (the daemon's event stream): moby's LogImageEvent arguments. */
export type ImageEventSink = (id: string, name: string, action: string, labels: Record<string, string> | null) => void;

/** What `system df` needs from the daemon beyond images. */
export interface DiskUsageSources {
  /** `size`: with SizeRw and SizeRootFs (a walk of each writable layer) */
  containers(options?: { size?: boolean }): Promise<ContainerSummary[]>;
  volumes(): Promise<Volume[]>;
}

/** The store's "no such image" in Docker's words: the CLI matches on them. */
function dockerError(err: unknown): unknown {
  if (err instanceof EngineError && err.kind === 'not-found' && err.message.startsWith('no such image: ')) {
    return new EngineError('not-found', `No such image: ${err.message.slice('no such image: '.length)}`, { cause: err });
  }
  return err;
}

async function docker<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw dockerError(err);
  }
}

export class ImageApi implements ImageBackend {
  #images: LocalImageBackend;
  #credentials: RequestCredentials;
  #sources: DiskUsageSources;
  #events: ImageEventSink;

  constructor(images: LocalImageBackend, credentials: RequestCredentials, sources: DiskUsageSources, events: ImageEventSink = () => {}) {
    this.#images = images;
    this.#credentials = credentials;
    this.#sources = sources;
    this.#events = events;
  }

  /** The image's ID and labels, if it (still) exists. */
  async #identify(ref: string): Promise<{ id: string; labels: Record<string, string> | null } | undefined> {
    try {
      const image = (await this.#images.inspect(ref)) as { Id: string; Config?: { Labels?: Record<string, string> | null } };
      return { id: image.Id, labels: image.Config?.Labels ?? null };
    } catch {
      return undefined;
    }
  }

  /** pull and push name the actor by the familiar reference, `name` by the repository (moby). */
  async #referenceEvent(ref: string, action: 'pull' | 'push'): Promise<void> {
    let parsed;
    try {
      parsed = parseReference(ref);
    } catch {
      return;
    }
    this.#events(familiar(parsed), familiarName(parsed), action, (await this.#identify(ref))?.labels ?? null);
  }

  /**
   * A removal's answer as moby logs it: each image's `untag`s, then its `delete`; both name the
   * image by its ID. `known` is the image a lone untag (other names remain) was of.
   */
  #removalEvents(items: readonly ImageDeleteItem[], known?: { id: string; labels: Record<string, string> | null }): void {
    let untagged = 0;
    for (const item of items) {
      if (item.Untagged !== undefined) untagged++;
      if (item.Deleted === undefined) continue;
      for (; untagged > 0; untagged--) this.#events(item.Deleted, item.Deleted, 'untag', known?.id === item.Deleted ? known.labels : null);
      this.#events(item.Deleted, item.Deleted, 'delete', null);
    }
    if (known !== undefined) for (; untagged > 0; untagged--) this.#events(known.id, known.id, 'untag', known.labels);
  }

  async pull(ref: string, options: { platform?: string; auth: RegistryAuth; onMessage: (message: ProgressMessage) => void; signal: AbortSignal }): Promise<void> {
    // moby says "Pulling from" once it has the manifest: a name the registry does not know is
    // then an HTTP error (404), not a message in a stream that has already begun
    let held: ProgressMessage | undefined;
    let first = true;
    const onMessage = (message: ProgressMessage): void => {
      if (first) {
        first = false;
        held = message;
        return;
      }
      if (held !== undefined) options.onMessage(held);
      held = undefined;
      options.onMessage(message);
    };
    await this.#credentials.run(options.auth, () =>
      this.#images.pull(ref, { ...(options.platform !== undefined ? { platform: options.platform } : {}), onMessage, signal: options.signal }),
    );
    await this.#referenceEvent(ref, 'pull');
  }

  async push(ref: string, options: { auth: RegistryAuth; onMessage: (message: ProgressMessage) => void; signal: AbortSignal }): Promise<void> {
    await docker(this.#credentials.run(options.auth, () => this.#images.push(ref, { onMessage: options.onMessage, signal: options.signal })));
    await this.#referenceEvent(ref, 'push');
  }

  async import(rootfs: AsyncIterable<Uint8Array>, options: { ref?: string; changes: string[]; message?: string }): Promise<string> {
    const id = await this.#images.import(rootfs, options);
    const image = await this.#identify(id);
    // moby tags the imported image (a `tag` event), then logs the import
    if (options.ref) this.#events(image?.id ?? id, familiar(parseReference(options.ref)), 'tag', image?.labels ?? null);
    this.#events(image?.id ?? id, image?.id ?? id, 'import', image?.labels ?? null);
    return id;
  }

  list(options: { all: boolean; filters: Record<string, string[]> }): Promise<unknown[]> {
    const filters = Object.entries(options.filters).flatMap(([key, values]) => values.map((v) => `${key}=${v}`));
    return docker(this.#images.list({ filters }));
  }

  inspect(name: string): Promise<unknown> {
    return docker(this.#images.inspect(name));
  }

  history(name: string): Promise<unknown[]> {
    return docker(this.#images.history(name));
  }

  async tag(source: string, target: string): Promise<void> {
    await docker(this.#images.tag(source, target));
    const image = await this.#identify(target);
    if (image !== undefined) this.#events(image.id, familiar(parseReference(target)), 'tag', image.labels);
  }

  async remove(name: string, options: { force: boolean; noprune: boolean }): Promise<ImageDeleteItem[]> {
    try {
      const before = await this.#identify(name);
      // there are no parent images to keep or prune: every image here is a complete pull, load or commit
      const items = await this.#images.remove(name, { force: options.force });
      this.#removalEvents(items, before);
      return items;
    } catch (err) {
      throw await this.#namingContainer(dockerError(err));
    }
  }

  /** The store cannot know which container uses an image; docker's refusal names one. */
  async #namingContainer(err: unknown): Promise<unknown> {
    const marker = ' - container is using its referenced image ';
    if (!(err instanceof EngineError && err.kind === 'conflict' && err.message.includes(marker))) return err;
    const short = err.message.slice(err.message.indexOf(marker) + marker.length).trim();
    const user = (await this.#sources.containers()).find((c) => c.ImageID.replace(/^sha256:/, '').startsWith(short));
    if (user === undefined) return err;
    return new EngineError('conflict', err.message.replace(marker, ` - container ${user.Id.slice(0, 12)} is using its referenced image `), { cause: err });
  }

  async prune(filters: Record<string, string[]>): Promise<{ ImagesDeleted: ImageDeleteItem[] | null; SpaceReclaimed: number }> {
    const report = await this.#images.prune(parsePruneFilters(filters));
    this.#removalEvents(report.ImagesDeleted);
    this.#events('', '', 'prune', { reclaimed: String(report.SpaceReclaimed) });
    return { ImagesDeleted: report.ImagesDeleted.length > 0 ? report.ImagesDeleted : null, SpaceReclaimed: report.SpaceReclaimed };
  }

  async save(names: string[]): Promise<AsyncIterable<Uint8Array>> {
    const archive = await docker(this.#images.save(names));
    const seen = new Set<string>();
    for (const name of names) {
      const image = await this.#identify(name);
      if (image === undefined || seen.has(image.id)) continue;
      seen.add(image.id);
      this.#events(image.id, image.id, 'save', image.labels);
    }
    return archive;
  }

  async load(archive: AsyncIterable<Uint8Array>): Promise<string[]> {
    const lines = await this.#images.load(archive);
    for (const line of lines) {
      const loaded = /^Loaded image(?: ID)?: (.+)$/.exec(line)?.[1];
      const image = loaded === undefined ? undefined : await this.#identify(loaded);
      if (image !== undefined) this.#events(image.id, image.id, 'load', image.labels);
    }
    return lines;
  }

  async diskUsage(): Promise<unknown> {
    const [images, containers, volumes] = await Promise.all([this.#images.systemDf(), this.#sources.containers({ size: true }), this.#sources.volumes()]);
    const refs = new Map<string, number>();
    for (const c of containers) for (const m of c.Mounts) if (m.Type === 'volume' && m.Name !== undefined) refs.set(m.Name, (refs.get(m.Name) ?? 0) + 1);
    return {
      LayersSize: images.LayersSize,
      Images: images.Images,
      Containers: containers.map((c) => ({ ...c, SizeRw: c.SizeRw ?? 0, SizeRootFs: c.SizeRootFs ?? 0 })),
      Volumes: volumes.map((v) => ({ ...v, UsageData: { Size: treeBytes(v.Mountpoint), RefCount: refs.get(v.Name) ?? 0 } })),
      BuildCache: [],
    };
  }
}
