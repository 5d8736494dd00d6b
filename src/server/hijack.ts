/**
 * Hijacked connections (`Connection: Upgrade`, `Upgrade: tcp`): after the 101 the socket is a
 * raw duplex stream — the container's output to the client (multiplexed frames, or raw for a
 * TTY), the client's keystrokes to the container. The client half-closes its side at the end
 * of its input (the server keeps half-open sockets), and we go on writing until the output ends.
 */

import type { Duplex } from 'node:stream';
import type { RequestContext, Reply } from './router.ts';
import { frame, type StreamType } from './stdcopy.ts';
import { invalidArgument } from '../util/errors.ts';

/** A piece of a container's (or exec's) output. */
export interface OutputChunk {
  stream: 1 | 2;
  data: Uint8Array;
}

/** Whether the client asked to upgrade: only then does the socket carry input. */
export function isUpgrade(ctx: Pick<RequestContext, 'req'>): boolean {
  const connection = String(ctx.req.headers['connection'] ?? '').toLowerCase();
  return connection.split(',').some((t) => t.trim() === 'upgrade') && ctx.req.headers['upgrade'] !== undefined;
}

/** The client's bytes after the 101, ending when it half-closes (or goes away). */
export function clientInput(ctx: Pick<RequestContext, 'req'>): AsyncIterable<Uint8Array> | undefined {
  if (!isUpgrade(ctx)) return undefined;
  const socket: Duplex = ctx.req.socket;
  return (async function* () {
    try {
      // Not destroyed at the end of input: the output still has to go out on it.
      for await (const chunk of socket.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) yield chunk;
    } catch {
      // a reset is an end of input like any other
    }
  })();
}

/** Copies output to the client at the client's pace: a slow reader never makes us buffer a whole log. */
export async function pumpOutput(chunks: AsyncIterable<OutputChunk>, reply: Reply, raw: boolean): Promise<void> {
  for await (const chunk of chunks) {
    if (chunk.data.length === 0) continue;
    if (!reply.write(raw ? chunk.data : frame(chunk.stream as StreamType, chunk.data))) await reply.drained();
  }
}

/**
 * The JSON body of a request that asked to upgrade: node hands such a request over at its
 * headers, so the body (Content-Length bytes) is the start of the socket's stream.
 */
export async function readUpgradeJson<T>(ctx: Pick<RequestContext, 'req'>): Promise<T | undefined> {
  const length = Number(ctx.req.headers['content-length'] ?? 0);
  if (!Number.isInteger(length) || length <= 0) return undefined;
  if (length > MAX_UPGRADE_BODY) throw invalidArgument(`invalid JSON: request body larger than ${MAX_UPGRADE_BODY} bytes`);
  const socket: Duplex = ctx.req.socket;
  const body = await new Promise<Buffer>((resolve, reject) => {
    const attempt = (): void => {
      const data = socket.read(length) as Buffer | null;
      if (data !== null) {
        cleanup();
        resolve(data);
      }
    };
    const gone = (): void => {
      cleanup();
      reject(invalidArgument('invalid JSON: unexpected end of request body'));
    };
    const cleanup = (): void => {
      socket.off('readable', attempt);
      socket.off('end', gone);
      socket.off('close', gone);
    };
    socket.on('readable', attempt);
    socket.once('end', gone);
    socket.once('close', gone);
    attempt();
  });
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch (err) {
    throw invalidArgument(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}

const MAX_UPGRADE_BODY = 1024 * 1024;
