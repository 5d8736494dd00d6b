/**
 * The Engine API over HTTP on a unix socket. Every response carries the version headers the
 * docker CLI negotiates with; every failure becomes Docker's JSON error body, and no error in
 * one request can take the server down.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { chmod, chown, lstat, unlink } from 'node:fs/promises';
import { API_VERSION, ENGINE_NAME, ENGINE_VERSION } from '../api/index.ts';
import { drained } from '../util/drained.ts';
import { EngineError, errorCode } from '../util/errors.ts';
import { errorBody, httpStatus } from './http-status.ts';
import type { Reply, Router } from './router.ts';

export interface ApiServerOptions {
  /** where unexpected (500) errors are reported */
  log?: (message: string) => void;
  /** when set, every request is reported with its status and duration (berthd --debug) */
  trace?: (message: string) => void;
}

export interface ListenOptions {
  mode?: number;
  gid?: number;
}

/** Headers moby's version middleware stamps on every response. */
export function versionHeaders(): Record<string, string> {
  return { 'Api-Version': API_VERSION, Ostype: 'linux', Server: `${ENGINE_NAME}/${ENGINE_VERSION} (linux)` };
}

export class ApiServer {
  readonly http: Server;
  #router: Router;
  #log: (message: string) => void;
  #trace: ((message: string) => void) | undefined;
  #sockets = new Set<Duplex>();
  #path: string | undefined;

  constructor(router: Router, options: ApiServerOptions = {}) {
    this.#router = router;
    this.#log = options.log ?? ((message) => process.stderr.write(`${message}\n`));
    this.#trace = options.trace;
    this.http = createServer({ keepAliveTimeout: 30_000 });
    this.http.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const trace = this.#trace;
      if (trace !== undefined) {
        const started = performance.now();
        res.once('finish', () => trace(`${req.method} ${req.url} ${res.statusCode} ${(performance.now() - started).toFixed(1)} ms`));
      }
      void this.#dispatch(req, new ResponseReply(res), res);
    });
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // bytes the client sent right behind its headers are the start of its stream
      if (head.length > 0) socket.unshift(head);
      void this.#dispatch(req, new SocketReply(socket), socket);
    });
    this.http.on('connection', (socket: Duplex) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.http.on('clientError', (_err, socket: Duplex) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Listens on a unix socket, replacing a stale one; mode 0660 by default. */
  async listen(path: string, options: ListenOptions = {}): Promise<void> {
    await removeStaleSocket(path);
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(path, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.#path = path;
    await chmod(path, options.mode ?? 0o660);
    if (options.gid !== undefined) await chown(path, 0, options.gid);
  }

  /** Stops accepting, ends every open connection (long polls included), removes the socket. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
    if (this.#path) await unlink(this.#path).catch(() => {});
  }

  async #dispatch(req: IncomingMessage, reply: Reply, stream: Duplex | ServerResponse): Promise<void> {
    const controller = new AbortController();
    const onClose = (): void => controller.abort();
    stream.once('close', onClose);
    req.once('close', () => {
      if (!req.complete) controller.abort();
    });
    try {
      const url = new URL(req.url ?? '/', 'http://berth');
      const match = this.#router.match(req.method ?? 'GET', url.pathname);
      if (!match) {
        reply.json(404, { message: 'page not found' });
        return;
      }
      await match.handler({ req, params: match.params, query: url.searchParams, version: match.version, signal: controller.signal, reply });
    } catch (err) {
      const status = httpStatus(err);
      if (status >= 500 && !(err instanceof EngineError && err.kind !== 'internal')) this.#log(`${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (!reply.sent) reply.json(status, errorBody(err));
      else reply.end();
    }
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSocket()) await unlink(path);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') throw err;
  }
}

class ResponseReply implements Reply {
  #res: ServerResponse;
  constructor(res: ServerResponse) {
    this.#res = res;
  }
  get sent(): boolean {
    return this.#res.headersSent;
  }
  json(status: number, body: unknown): void {
    const text = `${JSON.stringify(body)}\n`;
    this.#res.writeHead(status, { ...versionHeaders(), 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    this.#res.end(text);
  }
  status(status: number): void {
    this.#res.writeHead(status, versionHeaders());
    this.#res.end();
  }
  begin(status: number, headers: Record<string, string>): void {
    this.#res.writeHead(status, { ...versionHeaders(), ...headers });
    this.#res.flushHeaders();
  }
  write(chunk: string | Uint8Array): boolean {
    return this.#res.destroyed ? false : this.#res.write(chunk);
  }
  drained(): Promise<void> {
    return drainedIfNeeded(this.#res);
  }
  end(chunk?: string | Uint8Array): void {
    if (this.#res.destroyed) return;
    if (!this.#res.headersSent) this.#res.writeHead(200, versionHeaders());
    if (chunk !== undefined) this.#res.end(chunk);
    else this.#res.end();
  }
  hijack(mediaType: string): void {
    this.begin(200, { 'Content-Type': mediaType });
  }
}

/** A request that asked to upgrade: we speak HTTP ourselves on its socket. */
class SocketReply implements Reply {
  #socket: Duplex;
  #sent = false;
  #raw = false;
  constructor(socket: Duplex) {
    this.#socket = socket;
    socket.on('error', () => socket.destroy());
  }
  get sent(): boolean {
    return this.#sent;
  }
  #head(status: number, reason: string, headers: Record<string, string>): void {
    const lines = [`HTTP/1.1 ${status} ${reason}`, ...Object.entries({ ...versionHeaders(), ...headers }).map(([k, v]) => `${k}: ${v}`)];
    this.#socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    this.#sent = true;
  }
  json(status: number, body: unknown): void {
    const text = `${JSON.stringify(body)}\n`;
    this.#head(status, reasonPhrase(status), { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)), Connection: 'close' });
    this.#socket.end(text);
  }
  status(status: number): void {
    this.#head(status, reasonPhrase(status), { 'Content-Length': '0', Connection: 'close' });
    this.#socket.end();
  }
  begin(status: number, headers: Record<string, string>): void {
    this.#head(status, reasonPhrase(status), { ...headers, Connection: 'close' });
    this.#raw = true;
  }
  write(chunk: string | Uint8Array): boolean {
    return this.#socket.destroyed ? false : this.#socket.write(chunk);
  }
  drained(): Promise<void> {
    return drainedIfNeeded(this.#socket);
  }
  end(chunk?: string | Uint8Array): void {
    if (this.#socket.destroyed) return;
    if (!this.#sent) this.status(200);
    else if (this.#raw) this.#socket.end(chunk);
    else this.#socket.end();
  }
  hijack(mediaType: string): void {
    this.#head(101, 'UPGRADED', { 'Content-Type': mediaType, Connection: 'Upgrade', Upgrade: 'tcp' });
    this.#raw = true;
  }
}

/** Nothing to wait for unless the stream asked for a drain. */
function drainedIfNeeded(stream: Duplex | ServerResponse): Promise<void> {
  return stream.writableNeedDrain ? drained(stream) : Promise.resolve();
}

function reasonPhrase(status: number): string {
  const phrases: Record<number, string> = { 200: 'OK', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error', 501: 'Not Implemented' };
  return phrases[status] ?? 'Status';
}
