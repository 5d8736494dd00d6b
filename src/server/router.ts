/**
 * Route table shared by every resource router: method + path pattern (`/containers/{id}/start`)
 * → handler. Docker clients prefix paths with the API version they negotiated (`/v1.51/...`)
 * or send none at all; both reach the same handler, with the version the request asked for.
 */

import type { IncomingMessage } from 'node:http';
import { API_VERSION, MIN_API_VERSION, compareApiVersions } from '../api/index.ts';
import { invalidArgument } from '../util/errors.ts';

/** What a handler gets: the request, its path parameters and query, and ways to answer. */
export interface RequestContext {
  req: IncomingMessage;
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** the API version of the request (the advertised one when unversioned) */
  version: string;
  /** aborted when the client goes away, so long polls and streams stop */
  signal: AbortSignal;
  reply: Reply;
}

/**
 * The ways to answer. A request that asked to upgrade (`Connection: Upgrade`, `Upgrade: tcp`)
 * has no ServerResponse, only its socket: `hijack` answers 101 there; otherwise it streams the
 * raw body under a 200, which is what Docker does for clients that did not ask.
 */
export interface Reply {
  readonly sent: boolean;
  json(status: number, body: unknown): void;
  status(status: number): void;
  /** headers now, body later (long polls: the client learns that its wait is registered) */
  begin(status: number, headers: Record<string, string>): void;
  write(chunk: string | Uint8Array): boolean;
  /** resolves when the client has taken what was written (or is gone): streams wait on it */
  drained(): Promise<void>;
  end(chunk?: string | Uint8Array): void;
  hijack(mediaType: string): void;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

export interface RouteMatch {
  handler: Handler;
  params: Record<string, string>;
  version: string;
}

const VERSION_PREFIX = /^\/v(\d+\.\d+)(?=\/)/;

export class Router {
  #routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.#routes.push({ method: method.toUpperCase(), segments: split(pattern), handler });
    return this;
  }

  /** Adds every route of another router (one per resource). */
  mount(other: Router): this {
    this.#routes.push(...other.#routes);
    return this;
  }

  /**
   * The route for a request path, or undefined (page not found). Throws invalid-argument for
   * an API version outside what we speak, with moby's wording.
   */
  match(method: string, pathname: string): RouteMatch | undefined {
    let path = pathname;
    let version = API_VERSION;
    const prefix = VERSION_PREFIX.exec(path);
    if (prefix) {
      version = prefix[1]!;
      path = path.slice(prefix[0].length);
    }
    const segments = split(path);
    const wanted = method.toUpperCase();
    for (const route of this.#routes) {
      if (route.method !== wanted && !(wanted === 'HEAD' && route.method === 'GET')) continue;
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      checkVersion(version);
      return { handler: route.handler, params, version };
    }
    return undefined;
  }
}

export function checkVersion(version: string): void {
  if (compareApiVersions(version, API_VERSION) > 0) {
    throw invalidArgument(`client version ${version} is too new. Maximum supported API version is ${API_VERSION}`);
  }
  if (compareApiVersions(version, MIN_API_VERSION) < 0) {
    throw invalidArgument(`client version ${version} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`);
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function matchSegments(pattern: string[], path: string[]): Record<string, string> | undefined {
  const greedy = pattern.findIndex((s) => s.startsWith('{') && s.endsWith('*}'));
  if (greedy !== -1) return matchGreedy(pattern, path, greedy);
  if (pattern.length !== path.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    const got = path[i]!;
    if (want.startsWith('{') && want.endsWith('}')) {
      let value: string;
      try {
        value = decodeURIComponent(got);
      } catch {
        return undefined;
      }
      params[want.slice(1, -1)] = value;
    } else if (want !== got) {
      return undefined;
    }
  }
  return params;
}

/**
 * A `{name*}` segment takes one or more path segments: image names carry slashes
 * (`127.0.0.1:5000/busybox`) and the docker CLI sends them unescaped, as moby's `{name:.*}`.
 */
function matchGreedy(pattern: string[], path: string[], at: number): Record<string, string> | undefined {
  const tail = pattern.length - at - 1;
  const taken = path.length - at - tail;
  if (taken < 1) return undefined;
  const head = matchSegments(pattern.slice(0, at), path.slice(0, at));
  const rest = matchSegments(pattern.slice(at + 1), path.slice(at + taken));
  if (!head || !rest) return undefined;
  let value: string;
  try {
    value = path.slice(at, at + taken).map(decodeURIComponent).join('/');
  } catch {
    return undefined;
  }
  return { ...head, ...rest, [pattern[at]!.slice(1, -2)]: value };
}
