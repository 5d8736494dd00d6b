/**
 * The image service behind docker's image endpoints, answering in the Engine API's shapes:
 * pulls and pushes as docker's JSON progress messages (`Pulling fs layer`, `Downloading`,
 * `Pull complete`, `Digest: …`, `Status: …`), loads as `Loaded image: …` lines. The `berth`
 * CLI uses it in-process today; the API server will stream the same messages.
 */

import type { Readable } from 'node:stream';
import { familiar, formatReference, parseReference, repositoryName } from '../reference/index.ts';
import { login, logout } from '../registry/index.ts';
import type { ImageStore } from './image-store.ts';
import { parseListFilters } from './filters.ts';
import type { DeleteItem, DiskUsage, HistoryItem, ImageInspect, ImageSummary, PruneFilters, PruneReport } from './types.ts';

export interface ProgressMessage {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
}

export class LocalImageBackend {
  #store: ImageStore;
  #insecure: readonly string[];
  #configPath: string | undefined;

  constructor(store: ImageStore, options: { insecureRegistries?: readonly string[]; dockerConfigPath?: string } = {}) {
    this.#store = store;
    this.#insecure = options.insecureRegistries ?? [];
    this.#configPath = options.dockerConfigPath;
  }

  async pull(input: string, options: { platform?: string; onMessage: (message: ProgressMessage) => void; signal?: AbortSignal }): Promise<{ reference: string }> {
    const ref = parseReference(input);
    const emit = options.onMessage;
    emit({ id: ref.tag ?? ref.digest!, status: `Pulling from ${ref.path}` });
    const existing = new Set<string>();
    const started = new Set<string>();
    const result = await this.#store.pull(input, {
      ...(options.platform !== undefined ? { platform: options.platform } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      onProgress: (event) => {
        const { id, status } = event;
        if (status === 'Waiting') {
          if (!started.has(id)) emit({ id, status: 'Pulling fs layer' });
          started.add(id);
          return;
        }
        started.add(id);
        if (status === 'Already exists') existing.add(id);
        if (status === 'Pull complete' && existing.has(id)) return;
        if (event.current !== undefined && event.total !== undefined && (status === 'Downloading' || status === 'Extracting')) {
          emit({ id, status, progressDetail: { current: event.current, total: event.total } });
        } else emit({ id, status });
      },
    });
    emit({ status: `Digest: ${result.digest}` });
    emit({ status: result.updated ? `Status: Downloaded newer image for ${familiar(ref)}` : `Status: Image is up to date for ${familiar(ref)}` });
    return { reference: formatReference(ref) };
  }

  async push(input: string, options: { onMessage: (message: ProgressMessage) => void; signal?: AbortSignal }): Promise<void> {
    const ref = parseReference(input);
    const emit = options.onMessage;
    emit({ status: `The push refers to repository [${repositoryName(ref)}]` });
    const result = await this.#store.push(input, {
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      onProgress: (event) => {
        const { id, status } = event;
        if (status === 'Waiting') emit({ id, status: 'Preparing' });
        else if (status === 'Mounted') emit({ id, status: `Mounted from ${event.from ?? ''}` });
        else if (status === 'Pushing' && event.current !== undefined && event.total !== undefined) emit({ id, status, progressDetail: { current: event.current, total: event.total } });
        else emit({ id, status });
      },
    });
    emit({ status: `${ref.tag ?? 'latest'}: digest: ${result.digest} size: ${result.size}` });
  }

  list(options: { filters?: string[] } = {}): Promise<ImageSummary[]> {
    return this.#store.list({ filters: parseListFilters(options.filters ?? []) });
  }

  inspect(ref: string): Promise<ImageInspect & Record<string, unknown>> {
    return this.#store.inspect(ref) as Promise<ImageInspect & Record<string, unknown>>;
  }

  history(ref: string): Promise<HistoryItem[]> {
    return this.#store.history(ref);
  }

  tag(source: string, target: string): Promise<void> {
    return this.#store.tag(source, target);
  }

  remove(ref: string, options: { force?: boolean } = {}): Promise<DeleteItem[]> {
    return this.#store.remove(ref, options);
  }

  prune(options: PruneFilters = {}): Promise<PruneReport> {
    return this.#store.prune(options);
  }

  save(refs: string[]): Promise<Readable> {
    return this.#store.save(refs);
  }

  async load(archive: AsyncIterable<Uint8Array>): Promise<string[]> {
    const loaded = await this.#store.load(archive);
    return loaded.map((image) => (image.name !== undefined ? `Loaded image: ${image.name}` : `Loaded image ID: ${image.id}`));
  }

  import(rootfs: AsyncIterable<Uint8Array>, options: { ref?: string; changes?: string[]; message?: string } = {}): Promise<string> {
    return this.#store.import(rootfs, options);
  }

  login(server: string, credentials: { username: string; password: string }): Promise<void> {
    return login(server, credentials, {
      insecureRegistries: this.#insecure,
      ...(this.#configPath !== undefined ? { configPath: this.#configPath } : {}),
    });
  }

  logout(server: string): Promise<boolean> {
    return logout(server, this.#configPath !== undefined ? { configPath: this.#configPath } : {});
  }

  systemDf(): Promise<DiskUsage> {
    return this.#store.systemDf();
  }
}

