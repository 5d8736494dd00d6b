/**
 * `POST /build` as moby's legacy builder answers it: the request body is the context tarball,
 * the query carries the options (`t`, `dockerfile`, `buildargs`, `labels`, `target`, `q`, `rm`,
 * `forcerm`, `pull`, `platform`), and the answer is a JSON message stream — the build's output as
 * `stream` messages, the image ID as an `aux` message, then docker's `Successfully built` and
 * `Successfully tagged` lines. A failure after the first message is an `errorDetail` message.
 */

import type { IncomingMessage } from 'node:http';
import type { BuildRequest } from '../../api/index.ts';
import { invalidArgument, notImplemented } from '../../util/errors.ts';
import { boolParam } from '../request.ts';
import { Router } from '../router.ts';

export type BuildParams = BuildRequest;

export interface BuildBackend {
  /** resolves to the image ID; `output` gets the build's text as it comes */
  build(params: BuildParams, output: (text: string) => void): Promise<string>;
  /** forgets the build cache (`docker builder prune`, `docker system prune`) */
  pruneBuildCache(): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>;
}

function jsonParam<T extends Record<string, unknown>>(query: URLSearchParams, name: string): T | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    throw invalidArgument(`invalid ${name} JSON: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidArgument(`invalid ${name}: a JSON object is expected`);
  return parsed as T;
}

function paramsOf(req: IncomingMessage, query: URLSearchParams, signal: AbortSignal): BuildParams {
  if (query.get('remote')) throw notImplemented('building from a remote context (git, URL) is not supported by berthd: send the context as a tarball');
  const version = query.get('version');
  if (version === '2') throw notImplemented('BuildKit builds are not supported by berthd: use the legacy builder (DOCKER_BUILDKIT=0)');
  const buildArgs = jsonParam<Record<string, string | null>>(query, 'buildargs');
  const labels = jsonParam<Record<string, string>>(query, 'labels');
  const dockerfile = query.get('dockerfile');
  const target = query.get('target');
  const platform = query.get('platform');
  return {
    context: req,
    tags: query.getAll('t').filter((t) => t !== ''),
    ...(dockerfile ? { dockerfile } : {}),
    ...(buildArgs !== undefined ? { buildArgs } : {}),
    ...(labels !== undefined ? { labels } : {}),
    ...(target ? { target } : {}),
    ...(platform ? { platform } : {}),
    pull: boolParam(query, 'pull'),
    rm: query.get('rm') === null ? true : boolParam(query, 'rm'),
    forceRm: boolParam(query, 'forcerm'),
    noCache: boolParam(query, 'nocache'),
    signal,
  };
}

/** `name` → `name:latest`, as docker reports a tag given without one. */
function shownTag(tag: string): string {
  return /:[^/]*$/.test(tag) || tag.includes('@') ? tag : `${tag}:latest`;
}

export function buildRouter(backend: BuildBackend): Router {
  return new Router()
    .add('POST', '/build/prune', async ({ reply }) => {
      reply.json(200, await backend.pruneBuildCache());
    })
    .add('POST', '/build', async ({ req, query, reply, signal }) => {
    const quiet = boolParam(query, 'q');
    const send = (message: object): void => {
      if (!reply.sent) reply.begin(200, { 'Content-Type': 'application/json' });
      reply.write(`${JSON.stringify(message)}\n`);
    };
    try {
      const params = paramsOf(req, query, signal);
      const id = await backend.build(params, (text) => {
        if (!quiet && text !== '') send({ stream: text });
      });
      send({ aux: { ID: id } });
      if (quiet) send({ stream: `${id}\n` });
      else {
        send({ stream: `Successfully built ${id.replace(/^sha256:/, '').slice(0, 12)}\n` });
        for (const tag of params.tags) send({ stream: `Successfully tagged ${shownTag(tag)}\n` });
      }
    } catch (err) {
      // the client may still be uploading the context: take it, so it reads our answer, not EPIPE
      if (!req.readableEnded) for await (const _ of req) void _;
      if (!reply.sent) throw err;
      const message = err instanceof Error ? err.message : String(err);
      send({ errorDetail: { message }, error: message });
    }
    reply.end();
  });
}
