/**
 * Network routes (moby's router/network): list, inspect, create, remove, prune, connect and
 * disconnect, for `docker network …`. Docker semantics live behind `NetworkBackend`.
 */

import { invalidArgument } from '../../util/errors.ts';
import { Router } from '../router.ts';
import type { NetworkConnectRequest, NetworkCreateRequest } from '../../api/index.ts';
import { filtersParam, readJson } from '../request.ts';

export type NetworkCreateBody = NetworkCreateRequest;
export type NetworkConnectBody = NetworkConnectRequest;

export interface NetworkBackend {
  list(filters: Record<string, string[]>): Promise<unknown[]>;
  inspect(ref: string): Promise<unknown>;
  create(body: NetworkCreateBody): Promise<{ Id: string; Warning: string }>;
  remove(ref: string): Promise<void>;
  prune(): Promise<{ NetworksDeleted: string[] }>;
  connect(ref: string, body: NetworkConnectBody): Promise<void>;
  disconnect(ref: string, body: NetworkConnectBody): Promise<void>;
}

async function objectBody<T>(req: Parameters<typeof readJson>[0]): Promise<T> {
  const body = await readJson<T>(req);
  if (body === undefined || typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidArgument('invalid JSON: request body must be an object');
  return body;
}

export function networkRouter(backend: NetworkBackend): Router {
  return new Router()
    .add('GET', '/networks', async ({ query, reply }) => {
      reply.json(200, await backend.list(filtersParam(query)));
    })
    .add('GET', '/networks/{id}', async ({ params, reply }) => {
      reply.json(200, await backend.inspect(params['id']!));
    })
    .add('POST', '/networks/create', async ({ req, reply }) => {
      reply.json(201, await backend.create(await objectBody<NetworkCreateBody>(req)));
    })
    .add('POST', '/networks/prune', async ({ reply }) => {
      reply.json(200, await backend.prune());
    })
    .add('POST', '/networks/{id}/connect', async ({ req, params, reply }) => {
      await backend.connect(params['id']!, await objectBody<NetworkConnectBody>(req));
      reply.status(200);
    })
    .add('POST', '/networks/{id}/disconnect', async ({ req, params, reply }) => {
      await backend.disconnect(params['id']!, await objectBody<NetworkConnectBody>(req));
      reply.status(200);
    })
    .add('DELETE', '/networks/{id}', async ({ params, reply }) => {
      await backend.remove(params['id']!);
      reply.status(204);
    });
}
