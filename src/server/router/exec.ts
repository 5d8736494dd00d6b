/**
 * Exec routes (moby's router/container exec routes): create an exec instance in a running
 * container, start it hijacked or detached, inspect it for its exit code, resize its TTY.
 */

import { invalidArgument } from '../../util/errors.ts';
import { Router } from '../router.ts';
import { intParam, readJson } from '../request.ts';
import { MULTIPLEXED_STREAM, RAW_STREAM } from '../stdcopy.ts';
import { clientInput, isUpgrade, pumpOutput, readUpgradeJson, type OutputChunk } from '../hijack.ts';
import type { ExecCreateRequest } from '../../api/index.ts';

export type ExecConfigRequest = ExecCreateRequest;

export interface ExecStartOptions {
  detach: boolean;
  consoleSize?: number[] | null;
  input?: AsyncIterable<Uint8Array>;
  signal: AbortSignal;
}

export interface ExecBackend {
  execCreate(ref: string, config: ExecConfigRequest): Promise<{ Id: string }>;
  execStart(id: string, options: ExecStartOptions): Promise<AsyncIterable<OutputChunk>>;
  execInspect(id: string): Promise<unknown>;
  execIsTty(id: string): Promise<boolean>;
  execResize(id: string, height: number, width: number): Promise<void>;
}

function asObject<T>(body: T | undefined): T {
  if (body === undefined || typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidArgument('invalid JSON: body must be an object');
  return body;
}

export function execRouter(backend: ExecBackend): Router {
  return new Router()
    .add('POST', '/containers/{id}/exec', async ({ req, params, reply }) => {
      const body = asObject(await readJson<ExecConfigRequest>(req));
      reply.json(201, await backend.execCreate(params['id']!, body));
    })
    .add('POST', '/exec/{id}/start', async (ctx) => {
      const { req, params, reply, signal } = ctx;
      type StartBody = { Detach?: boolean; Tty?: boolean; ConsoleSize?: number[] | null };
      const body = (isUpgrade(ctx) ? await readUpgradeJson<StartBody>(ctx) : await readJson<StartBody>(req)) ?? {};
      const id = params['id']!;
      const detach = body.Detach === true;
      const tty = await backend.execIsTty(id);
      const input = detach ? undefined : clientInput(ctx);
      const chunks = await backend.execStart(id, { detach, ...(body.ConsoleSize ? { consoleSize: body.ConsoleSize } : {}), ...(input ? { input } : {}), signal });
      if (detach) {
        reply.status(200);
        return;
      }
      reply.hijack(tty ? RAW_STREAM : MULTIPLEXED_STREAM);
      await pumpOutput(chunks, reply, tty);
      reply.end();
    })
    .add('GET', '/exec/{id}/json', async ({ params, reply }) => {
      reply.json(200, await backend.execInspect(params['id']!));
    })
    .add('POST', '/exec/{id}/resize', async ({ params, query, reply }) => {
      await backend.execResize(params['id']!, intParam(query, 'h') ?? 0, intParam(query, 'w') ?? 0);
      reply.status(200);
    });
}
