/**
 * Image routes, as far as `docker run` needs them: `POST /images/create?fromImage=` (pull),
 * which the CLI calls when create answers "No such image". Progress is Docker's JSON message
 * stream; a failure before any progress is a plain HTTP error, as in moby.
 */

import { invalidArgument } from '../../util/errors.ts';
import { Router } from '../router.ts';

export interface PullProgress {
  id: string;
  status: string;
  current?: number;
  total?: number;
}

export interface ImageBackend {
  pull(ref: string, options: { platform?: string; onProgress?: (event: PullProgress) => void; signal?: AbortSignal }): Promise<{ digest: string; updated: boolean }>;
}

/** `fromImage` + `tag` → one reference; a digest "tag" makes `name@sha256:...`. */
export function pullReference(fromImage: string, tag: string | null): string {
  if (!tag) return fromImage;
  return tag.includes(':') ? `${fromImage}@${tag}` : `${fromImage}:${tag}`;
}

export function imageRouter(backend: ImageBackend): Router {
  return new Router().add('POST', '/images/create', async ({ query, reply, signal }) => {
    const fromImage = query.get('fromImage');
    if (!fromImage) throw invalidArgument('importing images is not supported yet: give fromImage');
    const ref = pullReference(fromImage, query.get('tag'));
    const send = (message: object): void => {
      if (!reply.sent) reply.begin(200, { 'Content-Type': 'application/json' });
      reply.write(`${JSON.stringify(message)}\n`);
    };
    const platform = query.get('platform');
    let result: { digest: string; updated: boolean };
    try {
      result = await backend.pull(ref, {
        ...(platform ? { platform } : {}),
        onProgress: (e) => send({ status: e.status, id: e.id, ...(e.total !== undefined ? { progressDetail: { current: e.current ?? 0, total: e.total } } : {}) }),
        signal,
      });
    } catch (err) {
      if (!reply.sent) throw err;
      const message = err instanceof Error ? err.message : String(err);
      send({ errorDetail: { message }, error: message });
      reply.end();
      return;
    }
    send({ status: `Digest: ${result.digest}` });
    send({ status: result.updated ? `Status: Downloaded newer image for ${ref}` : `Status: Image is up to date for ${ref}` });
    reply.end();
  });
}
