/**
 * The image verbs' backend when a daemon is named (`-H` or $BERTH_HOST): the same
 * ImageBackend interface the in-process store answers, over the Engine API, so `berth images`
 * shows what berthd's containers run from. Registry login stays local, as docker's does.
 */

import { Readable } from 'node:stream';
import { ApiError, jsonLines, type EngineClient, type Query } from '../../../client/index.ts';
import type { DeleteItemLike, DiskUsageBuildCache, DiskUsageContainer, DiskUsageLike, DiskUsageVolume, HistoryItemLike, ImageBackend, ImageSummaryLike, JsonMessage } from '../backend.ts';
import { formatReference, parseReference } from '../../../image/reference/reference.ts';

/** docker's JSON message stream: each message to `onMessage`, an `error` one thrown. */
async function readMessages(res: AsyncIterable<Buffer | string>, onMessage: (m: JsonMessage & { stream?: string; errorDetail?: { message?: string } }) => void): Promise<void> {
  for await (const line of jsonLines(res)) {
    const message = JSON.parse(line) as JsonMessage & { stream?: string; errorDetail?: { message?: string } };
    if (message.error !== undefined || message.errorDetail !== undefined) throw new ApiError(500, message.errorDetail?.message ?? message.error ?? 'unknown error');
    onMessage(message);
  }
}

/** `name[:tag]` split for the `fromImage`/`tag` and `repo`/`tag` query pairs. */
function repoAndTag(ref: string): { repo: string; tag?: string } {
  if (ref.includes('@')) return { repo: ref };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repo: ref };
}

const NO_AUTH = { 'X-Registry-Auth': 'e30=' };

export class ApiImageBackend implements ImageBackend {
  readonly #client: EngineClient;
  readonly #local: () => Promise<ImageBackend>;

  constructor(client: EngineClient, local: () => Promise<ImageBackend>) {
    this.#client = client;
    this.#local = local;
  }

  async pull(ref: string, options: { platform?: string; onMessage: (message: JsonMessage) => void }): Promise<{ reference: string }> {
    const parsed = parseReference(ref, { defaultTag: true });
    const { repo, tag } = repoAndTag(ref);
    const query: Query = { fromImage: repo, tag: tag ?? (ref.includes('@') ? undefined : 'latest'), platform: options.platform };
    await readMessages(await this.#client.stream('POST', '/images/create', { query, headers: NO_AUTH }), options.onMessage);
    return { reference: formatReference(parsed) };
  }

  async push(ref: string, options: { onMessage: (message: JsonMessage) => void }): Promise<void> {
    const { repo, tag } = repoAndTag(ref);
    await readMessages(await this.#client.stream('POST', `/images/${repo}/push`, { query: { tag }, headers: NO_AUTH }), options.onMessage);
  }

  list(options: { filters?: string[] }): Promise<ImageSummaryLike[]> {
    const filters: Record<string, string[]> = {};
    for (const f of options.filters ?? []) {
      const eq = f.indexOf('=');
      (filters[eq === -1 ? f : f.slice(0, eq)] ??= []).push(eq === -1 ? '' : f.slice(eq + 1));
    }
    return this.#client.json('GET', '/images/json', { query: { filters: Object.keys(filters).length > 0 ? JSON.stringify(filters) : undefined } });
  }

  inspect(ref: string): Promise<{ Id: string } & Record<string, unknown>> {
    return this.#client.json('GET', `/images/${ref}/json`);
  }

  history(ref: string): Promise<HistoryItemLike[]> {
    return this.#client.json('GET', `/images/${ref}/history`);
  }

  async tag(source: string, target: string): Promise<void> {
    const { repo, tag } = repoAndTag(target);
    await this.#client.call('POST', `/images/${source}/tag`, { query: { repo, tag } });
  }

  remove(ref: string, options: { force?: boolean }): Promise<DeleteItemLike[]> {
    return this.#client.json('DELETE', `/images/${ref}`, { query: { force: options.force === true } });
  }

  prune(options: { all?: boolean }): Promise<{ ImagesDeleted: DeleteItemLike[]; SpaceReclaimed: number }> {
    return this.#client.json('POST', '/images/prune', { query: { filters: JSON.stringify({ dangling: [options.all ? 'false' : 'true'] }) } });
  }

  async save(refs: string[]): Promise<AsyncIterable<Uint8Array>> {
    const params = new URLSearchParams();
    for (const ref of refs) params.append('names', ref);
    return this.#client.stream('GET', `/images/get?${params.toString()}`);
  }

  async load(archive: AsyncIterable<Uint8Array>): Promise<string[]> {
    const lines: string[] = [];
    const res = await this.#client.stream('POST', '/images/load', { body: Readable.from(archive), headers: { 'Content-Type': 'application/x-tar' } });
    await readMessages(res, (m) => {
      if (m.stream) lines.push(m.stream.trimEnd());
    });
    return lines;
  }

  async import(rootfs: AsyncIterable<Uint8Array>, options: { ref?: string; changes?: string[]; message?: string }): Promise<string> {
    const target: { repo?: string; tag?: string } = options.ref === undefined ? {} : repoAndTag(options.ref);
    const params = new URLSearchParams({ fromSrc: '-' });
    if (target.repo) params.set('repo', target.repo);
    if (target.tag) params.set('tag', target.tag);
    if (options.message) params.set('message', options.message);
    for (const change of options.changes ?? []) params.append('changes', change);
    let id = '';
    await readMessages(await this.#client.stream('POST', `/images/create?${params.toString()}`, { body: Readable.from(rootfs) }), (m) => {
      if (m.status) id = m.status;
    });
    return id;
  }

  async login(server: string, credentials: { username: string; password: string }): Promise<void> {
    return (await this.#local()).login(server, credentials);
  }

  async logout(server: string): Promise<boolean> {
    return (await this.#local()).logout(server);
  }

  async systemDf(): Promise<DiskUsageLike> {
    const df = await this.#client.json<{ LayersSize: number; Images: ImageSummaryLike[] | null; Containers?: DiskUsageContainer[] | null; Volumes?: DiskUsageVolume[] | null; BuildCache?: DiskUsageBuildCache[] | null }>('GET', '/system/df');
    const images = df.Images ?? [];
    const reclaimable = images.filter((i) => i.Containers <= 0).reduce((sum, i) => sum + Math.max(0, i.Size - Math.max(0, i.SharedSize)), 0);
    return { LayersSize: df.LayersSize, Images: images, Reclaimable: reclaimable, Containers: df.Containers ?? [], Volumes: df.Volumes ?? [], BuildCache: df.BuildCache ?? [] };
  }
}
