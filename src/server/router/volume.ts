/**
 * Volume routes (moby's router/volume): list, create, inspect, remove, prune — what
 * `docker volume` sends. Docker semantics (in-use checks, anonymous volumes) live behind the
 * `VolumeBackend`.
 */

import { invalidArgument } from '../../util/errors.ts';
import { Router } from '../router.ts';
import { boolParam, filtersParam, readJson } from '../request.ts';

export interface VolumeView {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  Scope: string;
}

export interface VolumeCreateBody {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export interface VolumeBackend {
  list(filters: Record<string, string[]>): Promise<{ Volumes: VolumeView[]; Warnings: string[] | null }>;
  create(body: VolumeCreateBody): Promise<VolumeView>;
  inspect(name: string): Promise<VolumeView>;
  remove(name: string, options: { force: boolean }): Promise<void>;
  prune(filters: Record<string, string[]>): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }>;
}

export function volumeRouter(backend: VolumeBackend): Router {
  return new Router()
    .add('GET', '/volumes', async ({ query, reply }) => {
      reply.json(200, await backend.list(filtersParam(query)));
    })
    .add('POST', '/volumes/create', async ({ req, reply }) => {
      const body = (await readJson<VolumeCreateBody>(req)) ?? {};
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidArgument('invalid JSON: volume create options must be an object');
      reply.json(201, await backend.create(body));
    })
    .add('POST', '/volumes/prune', async ({ query, reply }) => {
      reply.json(200, await backend.prune(filtersParam(query)));
    })
    .add('GET', '/volumes/{name}', async ({ params, reply }) => {
      reply.json(200, await backend.inspect(params['name']!));
    })
    .add('DELETE', '/volumes/{name}', async ({ params, query, reply }) => {
      await backend.remove(params['name']!, { force: boolParam(query, 'force') });
      reply.status(204);
    });
}
