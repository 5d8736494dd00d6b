/**
 * System routes: `/_ping` (the first thing every docker CLI call sends, for version
 * negotiation), `/version`, `/info`.
 */

import type { InfoResponse, VersionResponse } from '../../api/index.ts';
import { Router } from '../router.ts';

export interface SystemBackend {
  version(): Promise<VersionResponse> | VersionResponse;
  info(): Promise<InfoResponse>;
}

const PING_HEADERS = {
  'Builder-Version': '1',
  'Docker-Experimental': 'false',
  Swarm: 'inactive',
  'Cache-Control': 'no-cache, no-store, must-revalidate',
  Pragma: 'no-cache',
};

export function systemRouter(backend: SystemBackend): Router {
  return new Router()
    .add('GET', '/_ping', ({ req, reply }) => {
      const head = req.method === 'HEAD';
      reply.begin(200, { ...PING_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': head ? '0' : '2' });
      reply.end(head ? undefined : 'OK');
    })
    .add('GET', '/version', async ({ reply }) => reply.json(200, await backend.version()))
    .add('GET', '/info', async ({ reply }) => reply.json(200, await backend.info()));
}
