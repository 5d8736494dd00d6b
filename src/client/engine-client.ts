/**
 * The Engine API client `berth` talks to berthd with: HTTP over the unix socket at the API
 * version berthd serves, daemon errors turned into EngineErrors carrying docker's message and
 * the HTTP status, and hijacked connections (attach, exec start) handed over as raw sockets.
 * Kept free of the engine's modules so a CLI call loads little.
 */

import { EngineError, type ErrorKind } from '../util/errors.ts';
import { send, type Http1Answer, type Http1Response } from './http1.ts';
import type { EngineSocket } from './transport.ts';

/** A response whose body is read as it arrives: `statusCode`, lower-cased `headers`, a Readable. */
export type ApiResponse = Http1Response;

export const API_VERSION = '1.51';

/** A daemon answer ≥ 400; `message` is the daemon's own text, as docker prints it. */
export class ApiError extends EngineError {
  readonly status: number;
  constructor(status: number, message: string) {
    super(kindOf(status), message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** The socket could not be reached: nothing listens there, or the file is absent. */
export class ConnectError extends EngineError {
  readonly code: string;
  constructor(socketPath: string, code: string, cause: unknown) {
    super('unavailable', `Cannot connect to the Berth daemon at unix://${socketPath}. Is the berth daemon running?`, { cause });
    this.name = 'ConnectError';
    this.code = code;
  }
}

function kindOf(status: number): ErrorKind {
  if (status === 404) return 'not-found';
  if (status === 409) return 'conflict';
  if (status === 400) return 'invalid-argument';
  if (status === 403) return 'forbidden';
  if (status === 501) return 'not-implemented';
  if (status === 503) return 'unavailable';
  return 'internal';
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  /** JSON-encoded unless a Buffer or a readable stream */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function isStream(body: unknown): body is AsyncIterable<Buffer | string> & NodeJS.ReadableStream {
  return typeof body === 'object' && body !== null && typeof (body as { pipe?: unknown }).pipe === 'function';
}

async function readAll(res: ApiResponse): Promise<string> {
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) text += chunk as string;
  return text;
}

async function apiError(res: ApiResponse): Promise<ApiError> {
  const text = await readAll(res);
  let message = text.trim();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // a non-JSON error body is shown as is
  }
  return new ApiError(res.statusCode, message || `status ${res.statusCode}`);
}

export class EngineClient {
  readonly socketPath: string;
  #answered = 0;

  /** Responses received so far: a connection error before the first means no daemon was ever reached. */
  get answered(): number {
    return this.#answered;
  }

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  async #open(method: string, path: string, options: RequestOptions, upgrade: boolean): Promise<Http1Answer> {
    const headers: Record<string, string> = { ...options.headers };
    let body: Buffer | AsyncIterable<Buffer | string> | undefined;
    if (options.body !== undefined) {
      if (Buffer.isBuffer(options.body) || isStream(options.body)) body = options.body;
      else {
        body = Buffer.from(JSON.stringify(options.body));
        headers['Content-Type'] ??= 'application/json';
      }
    }
    const prefix = path === '/_ping' ? '' : `/v${API_VERSION}`;
    let answer: Http1Answer;
    try {
      answer = await send({ socketPath: this.socketPath, method, target: `${prefix}${path}${queryString(options.query)}`, headers, body, upgrade, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES') throw new ConnectError(this.socketPath, code, err);
      throw err;
    }
    this.#answered++;
    if (!answer.socket && answer.res.statusCode >= 400) throw await apiError(answer.res);
    return answer;
  }

  /** The response, for streaming bodies (logs, pull progress, archives). */
  async stream(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    return (await this.#open(method, path, options, false)).res;
  }

  /** The decoded JSON body; undefined for an empty one (204, 304). */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.stream(method, path, options);
    const text = await readAll(res);
    return (text.trim() === '' ? undefined : JSON.parse(text)) as T;
  }

  /** Status only: 204 and 304 both mean done (stop on a stopped container answers 304). */
  async call(method: string, path: string, options: RequestOptions = {}): Promise<number> {
    const res = await this.stream(method, path, options);
    res.resume();
    await new Promise((r) => res.once('end', r));
    return res.statusCode;
  }

  /** A hijacked connection (`Upgrade: tcp` → 101): the raw socket, bytes read past the headers put back. */
  async hijack(method: string, path: string, options: RequestOptions = {}): Promise<EngineSocket> {
    const { res, socket, head } = await this.#open(method, path, options, true);
    if (!socket) {
      // a daemon that answers 200 without upgrading still streams the body
      res.destroy();
      throw new ApiError(res.statusCode, `${path}: the daemon did not upgrade the connection`);
    }
    if (head && head.length > 0) socket.unshift(head);
    return socket;
  }

  async ping(): Promise<boolean> {
    const res = await this.stream('GET', '/_ping');
    res.resume();
    return res.statusCode === 200;
  }
}
