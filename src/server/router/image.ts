/**
 * Image routes (moby's router/image and system df): pull, import, push, list, inspect,
 * history, tag, remove, prune, save, load, and disk usage — what `docker image …` and
 * `docker system df` send. Pulls, pushes, imports and loads answer with Docker's JSON message
 * stream; a failure before the first message is a plain HTTP error, one after it an
 * `errorDetail` message, as in moby. Registry credentials come per request in X-Registry-Auth.
 */

import type { IncomingMessage } from 'node:http';
import { invalidArgument } from '../../util/errors.ts';
import { Router, type Reply } from '../router.ts';
import { boolParam, filtersParam } from '../request.ts';

/** One message of Docker's JSON progress stream. */
export interface ProgressMessage {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
}

/** The decoded X-Registry-Auth header (docker's AuthConfig); empty when the client sent none. */
export interface RegistryAuth {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
}

export interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

export interface ImageBackend {
  pull(ref: string, options: { platform?: string; auth: RegistryAuth; onMessage: (message: ProgressMessage) => void; signal: AbortSignal }): Promise<void>;
  push(ref: string, options: { auth: RegistryAuth; onMessage: (message: ProgressMessage) => void; signal: AbortSignal }): Promise<void>;
  /** a one-layer image from a rootfs tarball; resolves to its ID */
  import(rootfs: AsyncIterable<Uint8Array>, options: { ref?: string; changes: string[]; message?: string }): Promise<string>;
  list(options: { all: boolean; filters: Record<string, string[]> }): Promise<unknown[]>;
  inspect(name: string): Promise<unknown>;
  history(name: string): Promise<unknown[]>;
  tag(source: string, target: string): Promise<void>;
  remove(name: string, options: { force: boolean; noprune: boolean }): Promise<ImageDeleteItem[]>;
  prune(filters: Record<string, string[]>): Promise<{ ImagesDeleted: ImageDeleteItem[] | null; SpaceReclaimed: number }>;
  /** a docker-archive tarball of the named images */
  save(names: string[]): Promise<AsyncIterable<Uint8Array>>;
  /** the lines docker prints: `Loaded image: …` or `Loaded image ID: …` */
  load(archive: AsyncIterable<Uint8Array>, options: { signal: AbortSignal }): Promise<string[]>;
  /** `/system/df`: LayersSize, Images, Containers, Volumes, BuildCache */
  diskUsage(): Promise<unknown>;
}

/** `fromImage` + `tag` → one reference; a digest "tag" makes `name@sha256:...`. */
export function pullReference(fromImage: string, tag: string | null): string {
  if (!tag) return fromImage;
  return tag.includes(':') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`;
}

/** X-Registry-Auth: base64url JSON (padding optional, as Go's decoder accepts). */
export function registryAuth(header: string | string[] | undefined): RegistryAuth {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value.trim(), 'base64').toString('utf8'));
  } catch (err) {
    throw invalidArgument(`invalid X-Registry-Auth header: ${err instanceof Error ? err.message.toLowerCase() : String(err)}`, err);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidArgument('invalid X-Registry-Auth header: an object is expected');
  const out: RegistryAuth = {};
  for (const key of ['username', 'password', 'serveraddress', 'identitytoken'] as const) {
    const v = (parsed as Record<string, unknown>)[key];
    if (typeof v === 'string' && v !== '') out[key] = v;
  }
  return out;
}

/** Sends JSON messages, starting the 200 on the first one. */
function messageStream(reply: Reply): { send: (message: object) => void; fail: (err: unknown) => void } {
  const send = (message: object): void => {
    if (!reply.sent) reply.begin(200, { 'Content-Type': 'application/json' });
    reply.write(`${JSON.stringify(message)}\n`);
  };
  const fail = (err: unknown): void => {
    if (!reply.sent) throw err;
    const message = err instanceof Error ? err.message : String(err);
    send({ errorDetail: { message }, error: message });
  };
  return { send, fail };
}

async function streamBody(reply: Reply, body: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<void> {
  reply.begin(200, { 'Content-Type': 'application/x-tar' });
  for await (const chunk of body) {
    if (signal.aborted) break;
    if (!reply.write(chunk)) await reply.drained();
  }
  reply.end();
}

async function pullOrImport(backend: ImageBackend, { req, query, reply, signal }: { req: IncomingMessage; query: URLSearchParams; reply: Reply; signal: AbortSignal }): Promise<void> {
  const fromImage = query.get('fromImage');
  const fromSrc = query.get('fromSrc');
  const stream = messageStream(reply);
  if (!fromImage) {
    if (fromSrc === null || fromSrc === '') throw invalidArgument('give fromImage (pull) or fromSrc (import)');
    if (fromSrc !== '-') throw invalidArgument(`import ${fromSrc}: importing from a URL is not supported, send the tarball as the body (fromSrc=-)`);
    const repo = query.get('repo');
    const ref = repo ? pullReference(repo, query.get('tag')) : undefined;
    const message = query.get('message');
    try {
      const id = await backend.import(req, { ...(ref !== undefined ? { ref } : {}), changes: query.getAll('changes').filter((c) => c !== ''), ...(message ? { message } : {}) });
      stream.send({ status: id });
    } catch (err) {
      stream.fail(err);
    }
    reply.end();
    return;
  }
  const auth = registryAuth(req.headers['x-registry-auth']);
  const platform = query.get('platform');
  try {
    await backend.pull(pullReference(fromImage, query.get('tag')), { ...(platform ? { platform } : {}), auth, onMessage: stream.send, signal });
  } catch (err) {
    stream.fail(err);
  }
  reply.end();
}

export function imageRouter(backend: ImageBackend): Router {
  return new Router()
    .add('POST', '/images/create', (ctx) => pullOrImport(backend, ctx))
    .add('GET', '/images/json', async ({ query, reply }) => {
      reply.json(200, await backend.list({ all: boolParam(query, 'all'), filters: filtersParam(query) }));
    })
    .add('POST', '/images/prune', async ({ query, reply }) => {
      reply.json(200, await backend.prune(filtersParam(query)));
    })
    .add('GET', '/images/get', async ({ query, reply, signal }) => {
      const names = query.getAll('names').filter((n) => n !== '');
      if (names.length === 0) throw invalidArgument('give at least one image to save: names=');
      await streamBody(reply, await backend.save(names), signal);
    })
    .add('POST', '/images/load', async ({ req, reply, signal }) => {
      const lines = await backend.load(req, { signal });
      reply.begin(200, { 'Content-Type': 'application/json' });
      for (const line of lines) reply.write(`${JSON.stringify({ stream: `${line}\n` })}\n`);
      reply.end();
    })
    .add('GET', '/images/{name*}/json', async ({ params, reply }) => {
      reply.json(200, await backend.inspect(params['name']!));
    })
    .add('GET', '/images/{name*}/history', async ({ params, reply }) => {
      reply.json(200, await backend.history(params['name']!));
    })
    .add('GET', '/images/{name*}/get', async ({ params, reply, signal }) => {
      await streamBody(reply, await backend.save([params['name']!]), signal);
    })
    .add('POST', '/images/{name*}/tag', async ({ params, query, reply }) => {
      const repo = query.get('repo');
      if (!repo) throw invalidArgument('repository name must have at least one component');
      const tag = query.get('tag');
      await backend.tag(params['name']!, tag ? `${repo}:${tag}` : repo);
      reply.status(201);
    })
    .add('POST', '/images/{name*}/push', async ({ req, params, query, reply, signal }) => {
      const auth = registryAuth(req.headers['x-registry-auth']);
      const tag = query.get('tag');
      const ref = pullReference(params['name']!, tag);
      const stream = messageStream(reply);
      try {
        await backend.push(ref, { auth, onMessage: stream.send, signal });
      } catch (err) {
        stream.fail(err);
      }
      reply.end();
    })
    .add('DELETE', '/images/{name*}', async ({ params, query, reply }) => {
      reply.json(200, await backend.remove(params['name']!, { force: boolParam(query, 'force'), noprune: boolParam(query, 'noprune') }));
    })
    .add('GET', '/system/df', async ({ reply }) => {
      reply.json(200, await backend.diskUsage());
    });
}
