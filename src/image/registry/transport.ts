/**
 * HTTP to registries, with everything every call needs and none wants to repeat: picking
 * http or https for a host, authentication (through the Authorizer), following redirects
 * (blob GETs are often 307'd to object storage, which must not see our Authorization header),
 * and retrying 5xx, 429 and network failures with exponential backoff.
 *
 * Glossary: `host` = registry as written in a reference (`docker.io`, `127.0.0.1:5000`);
 * `endpoint` = the base URL requests go to (`https://registry-1.docker.io`).
 */

import { EngineError, type ErrorKind } from '../../util/errors.ts';
import { DEFAULT_DOMAIN } from '../reference/index.ts';
import { Authorizer } from './auth.ts';
import type { CredentialStore } from './credentials.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RegistryRequest {
  method: HttpMethod;
  host: string;
  /** `/v2/...` on the host's endpoint, or an absolute URL (an upload Location). */
  path: string;
  headers?: Record<string, string>;
  /** A factory, so a retried request can send its body again. */
  body?: () => NonNullable<RequestInit['body']>;
  /** Token scopes the request needs, e.g. `repository:library/nginx:pull`. */
  scopes: readonly string[];
  signal?: AbortSignal;
  /** Retry 5xx/429/network errors (default true). */
  retry?: boolean;
}

export interface TransportOptions {
  credentials?: CredentialStore;
  /** Hosts (`host` or `host:port`) reached over plain HTTP, as dockerd's --insecure-registry. */
  insecureRegistries?: readonly string[];
  /** Attempts after the first (default 4). */
  retries?: number;
  /** First backoff delay in ms, doubled each attempt (default 250). */
  backoffMs?: number;
  userAgent?: string;
}

const MAX_REDIRECTS = 10;

/**
 * What callers use of a response: the part of fetch's Response that the plain-HTTP path below
 * gives as well. `body` yields the bytes as they arrive; `cancel()` drops the rest.
 */
export interface RegistryResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  readonly body: (AsyncIterable<Uint8Array> & { cancel(): Promise<void> }) | null;
  text(): Promise<string>;
}

/** Errors with what the registry said: its HTTP status and the first `errors[].code`. */
export class RegistryError extends EngineError {
  readonly status: number;
  readonly code: string | undefined;
  constructor(kind: ErrorKind, message: string, status: number, code?: string, options?: { cause?: unknown }) {
    super(kind, message, options);
    this.name = 'RegistryError';
    this.status = status;
    this.code = code;
  }
}

export function kindForStatus(status: number): ErrorKind {
  if (status === 401 || status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  if (status === 429 || status >= 500) return 'unavailable';
  if (status === 405) return 'not-implemented';
  if (status >= 400 && status < 500) return 'invalid-argument';
  return 'internal';
}

/**
 * Turns an unexpected response into a RegistryError, message "<action>: <code>: <message>"
 * in docker's wording (`manifest unknown: manifest unknown`).
 */
export async function registryError(res: RegistryResponse, action: string): Promise<RegistryError> {
  let detail = `${res.status} ${res.statusText}`.trim();
  let code: string | undefined;
  try {
    const text = await res.text();
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const first = parsed.errors?.[0];
    if (first?.code) {
      code = first.code;
      detail = `${first.code.toLowerCase().replaceAll('_', ' ')}: ${first.message ?? ''}`.replace(/: $/, '');
    }
  } catch {
    // Not a JSON error body (HEAD, proxies): the status line is all there is.
  }
  return new RegistryError(kindForStatus(res.status), `${action}: ${detail}`, res.status, code);
}

export function isLoopbackHost(host: string): boolean {
  const name = hostname(host);
  return name === 'localhost' || name === '::1' || name === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

export class RegistryTransport {
  readonly authorizer: Authorizer;
  #insecure: Set<string>;
  #retries: number;
  #backoffMs: number;
  #userAgent: string;

  constructor(options: TransportOptions = {}) {
    this.#insecure = new Set((options.insecureRegistries ?? []).map((h) => h.toLowerCase()));
    this.#retries = options.retries ?? 4;
    this.#backoffMs = options.backoffMs ?? 250;
    this.#userAgent = options.userAgent ?? 'berth/0.1';
    this.authorizer = new Authorizer({
      ...(options.credentials ? { credentials: options.credentials } : {}),
      fetchToken: (url, headers) => this.#fetchWithRetry(url, { method: 'GET', headers: { 'User-Agent': this.#userAgent, ...headers } }, true),
    });
  }

  /** Base URL for a registry host: plain HTTP for loopback and configured insecure registries. */
  endpoint(host: string): string {
    const lower = host.toLowerCase();
    if (lower === DEFAULT_DOMAIN || lower === 'index.docker.io') return 'https://registry-1.docker.io';
    const insecure = isLoopbackHost(lower) || this.#insecure.has(lower) || this.#insecure.has(hostname(lower));
    return `${insecure ? 'http' : 'https'}://${host}`;
  }

  url(host: string, path: string): URL {
    return new URL(path, this.endpoint(host));
  }

  /**
   * Sends a request; the response may have any status (callers decide what they expected),
   * except that 401s are answered with credentials once and 5xx/429 are retried.
   */
  async request(req: RegistryRequest): Promise<RegistryResponse> {
    const url = this.url(req.host, req.path);
    const headers: Record<string, string> = { 'User-Agent': this.#userAgent, ...req.headers };
    const auth = await this.authorizer.authorization(req.host, req.scopes);
    if (auth) headers['Authorization'] = auth;
    let res = await this.#send(url, req, headers);
    if (res.status === 401) {
      const challenge = res.headers.get('www-authenticate');
      const retryAuth = await this.authorizer.onChallenge(req.host, challenge, req.scopes);
      if (retryAuth && retryAuth !== auth) {
        await res.body?.cancel();
        headers['Authorization'] = retryAuth;
        res = await this.#send(url, req, headers);
      }
    }
    return res;
  }

  async #send(url: URL, req: RegistryRequest, headers: Record<string, string>): Promise<RegistryResponse> {
    const retry = req.retry ?? true;
    let current = url;
    let method: HttpMethod = req.method;
    let sendHeaders = headers;
    let withBody = true;
    for (let hop = 0; ; hop++) {
      const init: RequestInit & { duplex?: 'half' } = { method, headers: sendHeaders, redirect: 'manual' };
      if (req.signal) init.signal = req.signal;
      if (withBody && req.body) {
        init.body = req.body();
        if (typeof ReadableStream !== 'undefined' && init.body instanceof ReadableStream) init.duplex = 'half';
      }
      const res = await this.#fetchWithRetry(current, init, retry);
      const location = res.headers.get('location');
      if (![301, 302, 303, 307, 308].includes(res.status) || !location || (method !== 'GET' && method !== 'HEAD')) return res;
      if (hop >= MAX_REDIRECTS) throw new EngineError('unavailable', `${method} ${url.pathname}: too many redirects`);
      await res.body?.cancel();
      const next = new URL(location, current);
      if (next.origin !== current.origin) {
        // Storage backends get a pre-signed URL; our registry token is none of their business.
        const { Authorization: _dropped, ...rest } = sendHeaders;
        sendHeaders = rest;
      }
      if (res.status === 303) {
        method = 'GET';
        withBody = false;
      }
      current = next;
    }
  }

  async #fetchWithRetry(url: URL, init: RequestInit, retry: boolean): Promise<RegistryResponse> {
    const attempts = retry ? this.#retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      let res: RegistryResponse;
      try {
        res = url.protocol === 'http:' && (init.method === 'GET' || init.method === 'HEAD') && !init.body ? await plainRequest(url, init) : await fetch(url, init);
      } catch (err) {
        if (init.signal?.aborted) throw init.signal.reason ?? err;
        if (attempt >= attempts) {
          throw new EngineError('unavailable', `${init.method ?? 'GET'} ${url.origin}${url.pathname}: ${describeNetworkError(err)}`, { cause: err });
        }
        await this.backoff(attempt, init.signal ?? undefined);
        continue;
      }
      if ((res.status >= 500 || res.status === 429) && attempt < attempts) {
        await res.body?.cancel();
        await this.backoff(attempt, init.signal ?? undefined);
        continue;
      }
      return res;
    }
  }

  /** Sleeps backoffMs·2^(attempt-1) with ±25% jitter, so parallel retries do not stampede. */
  async backoff(attempt: number, signal?: AbortSignal): Promise<void> {
    const base = this.#backoffMs * 2 ** (attempt - 1);
    const delay = base * (0.75 + Math.random() * 0.5);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, delay);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      }, { once: true });
    });
  }

  get retries(): number {
    return this.#retries;
  }
}

/**
 * A bodiless GET or HEAD over plain HTTP (loopback and insecure registries) with node:http
 * rather than fetch: the first fetch of a process loads and compiles undici, 30–100 ms here,
 * which is most of what a pull of an image already present costs after Node's own start-up.
 * Same behaviour as fetch with `redirect: 'manual'`: no redirects followed, errors shaped like
 * fetch's (TypeError with the system error as `cause`), the abort signal honoured, bodies
 * decoded when a server compresses them even though identity was asked for.
 */
async function plainRequest(url: URL, init: RequestInit): Promise<RegistryResponse> {
  const [{ request }, zlib] = await Promise.all([import('node:http'), import('node:zlib')]);
  const headers: Record<string, string> = { 'Accept-Encoding': 'identity', ...(init.headers as Record<string, string> | undefined) };
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
      const encoding = res.headers['content-encoding']?.trim().toLowerCase();
      const decoder =
        encoding === 'gzip' || encoding === 'x-gzip' ? zlib.createGunzip()
        : encoding === 'deflate' ? zlib.createInflate()
        : encoding === 'br' ? zlib.createBrotliDecompress()
        : undefined;
      if (decoder) res.on('error', (err) => decoder.destroy(err)).pipe(decoder);
      const stream = decoder ?? res;
      const status = res.statusCode ?? 0;
      const noBody = init.method === 'HEAD' || status === 204 || status === 304;
      const cancel = async (): Promise<void> => {
        res.destroy();
        stream.destroy();
      };
      const body = noBody ? null : Object.assign(stream[Symbol.asyncIterator]() as AsyncIterableIterator<Uint8Array>, { cancel });
      if (noBody) res.resume();
      resolve({
        status,
        ok: status >= 200 && status < 300,
        statusText: res.statusMessage ?? '',
        headers: {
          get(name: string): string | null {
            const value = res.headers[name.toLowerCase()];
            return value === undefined ? null : Array.isArray(value) ? value.join(', ') : String(value);
          },
        },
        body,
        async text(): Promise<string> {
          if (body === null) return '';
          const chunks: Buffer[] = [];
          for await (const chunk of body) chunks.push(Buffer.from(chunk));
          return Buffer.concat(chunks).toString('utf8');
        },
      });
    });
    req.on('error', (err) => reject(init.signal?.aborted ? err : Object.assign(new TypeError('fetch failed'), { cause: err })));
    req.end();
  });
}

export function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code.toLowerCase()}${cause.message ? ` (${cause.message})` : ''}`;
  return (err as Error).message ?? String(err);
}
