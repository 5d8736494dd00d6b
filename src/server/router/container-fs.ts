/**
 * Routes over a container's file system (moby's router/container copy + changes + export):
 * `docker cp` (archive GET, HEAD for the stat, PUT), `docker diff`, `docker export`.
 */

import { invalidArgument } from '../../util/errors.ts';
import { Router, type Reply } from '../router.ts';
import { boolParam, readJson } from '../request.ts';

/** The stat `docker cp` reads from the `X-Docker-Container-Path-Stat` header. */
export interface ContainerPathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits */
  mode: number;
  mtime: string;
  linkTarget: string;
}

export interface ContainerFsBackend {
  statPath(ref: string, path: string): Promise<ContainerPathStat>;
  getArchive(ref: string, path: string): Promise<{ stat: ContainerPathStat; body: AsyncIterable<Uint8Array> }>;
  putArchive(ref: string, path: string, archive: AsyncIterable<Uint8Array>, options: { noOverwriteDirNonDir: boolean }): Promise<void>;
  changes(ref: string): Promise<Array<{ Path: string; Kind: number }>>;
  export(ref: string): Promise<AsyncIterable<Uint8Array>>;
  commit(ref: string, options: { repo?: string; tag?: string; comment?: string; author?: string; changes: string[]; pause: boolean }): Promise<{ Id: string }>;
}

const STAT_HEADER = 'X-Docker-Container-Path-Stat';

function statHeader(stat: ContainerPathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

function pathParam(query: URLSearchParams): string {
  const path = query.get('path');
  if (path === null || path === '') throw invalidArgument('path cannot be empty');
  return path;
}

export function containerFsRouter(backend: ContainerFsBackend): Router {
  return new Router()
    .add('GET', '/containers/{id}/archive', async ({ req, params, query, reply }) => {
      const path = pathParam(query);
      if (req.method === 'HEAD') {
        const stat = await backend.statPath(params['id']!, path);
        reply.begin(200, { [STAT_HEADER]: statHeader(stat), 'Content-Length': '0' });
        reply.end();
        return;
      }
      const { stat, body } = await backend.getArchive(params['id']!, path);
      reply.begin(200, { 'Content-Type': 'application/x-tar', [STAT_HEADER]: statHeader(stat) });
      await pump(body, reply);
      reply.end();
    })
    .add('PUT', '/containers/{id}/archive', async ({ req, params, query, reply }) => {
      await backend.putArchive(params['id']!, pathParam(query), req, { noOverwriteDirNonDir: boolParam(query, 'noOverwriteDirNonDir') });
      reply.status(200);
    })
    .add('GET', '/containers/{id}/changes', async ({ params, reply }) => {
      reply.json(200, await backend.changes(params['id']!));
    })
    .add('POST', '/commit', async ({ req, query, reply }) => {
      await readJson<unknown>(req); // the container's config comes from the container; --change arrives in the query
      const ref = query.get('container') ?? '';
      if (ref === '') throw invalidArgument('No container name or ID supplied');
      const options: { repo?: string; tag?: string; comment?: string; author?: string; changes: string[]; pause: boolean } = {
        changes: query.getAll('changes').filter((c) => c !== ''),
        pause: query.get('pause') === null || boolParam(query, 'pause'),
      };
      for (const key of ['repo', 'tag', 'comment', 'author'] as const) {
        const value = query.get(key);
        if (value) options[key] = value;
      }
      reply.json(201, await backend.commit(ref, options));
    })
    .add('GET', '/containers/{id}/export', async ({ params, reply }) => {
      const body = await backend.export(params['id']!);
      reply.begin(200, { 'Content-Type': 'application/x-tar' });
      await pump(body, reply);
      reply.end();
    });
}

/** At the client's pace; a client that goes away stops the walk (the generator's finally runs). */
async function pump(chunks: AsyncIterable<Uint8Array>, reply: Reply): Promise<void> {
  for await (const chunk of chunks) {
    if (!reply.write(chunk)) await reply.drained();
  }
}
