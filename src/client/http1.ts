/**
 * The HTTP/1.1 client side berth needs, on a unix-socket connection from transport.ts (node:net
 * under Node, Bun's own sockets under Bun): one request per connection, the response head parsed
 * here and its body (Content-Length, chunked, or up to the close) handed out as a Readable as it
 * arrives. Bun's `node:http` costs a CLI call several milliseconds at first use and at exit; this
 * costs none.
 */

import { Readable } from 'node:stream';
import { openSocket, type EngineSocket } from './transport.ts';
import { drained } from '../util/drained.ts';

export interface Http1Request {
  socketPath: string;
  method: string;
  /** path and query, already encoded */
  target: string;
  headers: Record<string, string>;
  /** a Buffer goes out with its Content-Length, a stream chunked */
  body?: Buffer | AsyncIterable<Buffer | string>;
  /** asks for `Upgrade: tcp`; a 101 then hands the raw socket over */
  upgrade?: boolean;
  signal?: AbortSignal;
}

/** A response body read as it arrives, with the status and headers node's IncomingMessage gives. */
export class Http1Response extends Readable {
  readonly statusCode: number;
  readonly statusMessage: string;
  /** lower-cased names; repeated headers joined with ", " */
  readonly headers: Record<string, string>;
  #socket: EngineSocket | undefined;

  constructor(statusCode: number, statusMessage: string, headers: Record<string, string>, socket: EngineSocket | undefined) {
    super();
    this.statusCode = statusCode;
    this.statusMessage = statusMessage;
    this.headers = headers;
    this.#socket = socket;
  }

  /** The body has been read from the socket in full: nothing more to wait for on it. */
  release(): void {
    this.#socket = undefined;
  }

  override _read(): void {
    this.#socket?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // a reader that gives up (waiting.destroy()) closes the connection with it
    this.#socket?.destroy();
    this.#socket = undefined;
    callback(error);
  }
}

export interface Http1Answer {
  res: Http1Response;
  /** set for a 101: the raw connection, `head` the bytes that came after the response head */
  socket?: EngineSocket;
  head?: Buffer;
}

export interface ResponseHead {
  statusCode: number;
  statusMessage: string;
  headers: Record<string, string>;
}

/** Parses a response head (status line and headers, without the blank line). */
export function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!status) throw protocolError(`malformed status line ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw protocolError(`malformed header line ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { statusCode: Number(status[1]), statusMessage: status[2] ?? '', headers };
}

function protocolError(message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`parse daemon response: ${message}`), { code: 'HPE_INVALID' });
}

function hangUp(): NodeJS.ErrnoException {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

function aborted(): NodeJS.ErrnoException {
  return Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
}

/**
 * Decodes a chunked body fed in pieces of any size: `feed` returns the data bytes it completes
 * and any bytes past the final chunk; `done` is set once the last chunk and trailers are read.
 */
export class ChunkedDecoder {
  #pending: Buffer = Buffer.alloc(0);
  /** data bytes still due in the current chunk, then its CRLF; -1 while reading a size line */
  #remaining = -1;
  #trailers = false;
  done = false;

  feed(input: Buffer): { data: Buffer[]; rest: Buffer } {
    const data: Buffer[] = [];
    let buf = this.#pending.length > 0 ? Buffer.concat([this.#pending, input]) : input;
    this.#pending = Buffer.alloc(0);
    while (!this.done) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, buf.length);
        if (take === 0) break;
        data.push(buf.subarray(0, take));
        buf = buf.subarray(take);
        this.#remaining -= take;
        if (this.#remaining > 0) break;
        this.#remaining = -2; // the CRLF after the data
        continue;
      }
      if (this.#remaining === -2) {
        if (buf.length < 2) break;
        if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw protocolError('missing CRLF after chunk data');
        buf = buf.subarray(2);
        this.#remaining = -1;
        continue;
      }
      const eol = buf.indexOf('\r\n');
      if (eol === -1) {
        if (buf.length > 4096) throw protocolError('chunk size line too long');
        break;
      }
      const line = buf.subarray(0, eol).toString('latin1');
      buf = buf.subarray(eol + 2);
      if (this.#trailers) {
        if (line === '') this.done = true;
      } else {
        const size = /^([0-9a-fA-F]+)(?:;.*)?$/.exec(line.trim());
        if (!size) throw protocolError(`invalid chunk size ${JSON.stringify(line.slice(0, 40))}`);
        const n = parseInt(size[1]!, 16);
        if (n === 0) this.#trailers = true;
        else this.#remaining = n;
      }
    }
    if (!this.done) {
      this.#pending = Buffer.from(buf);
      return { data, rest: Buffer.alloc(0) };
    }
    return { data, rest: buf };
  }
}

/** How the body after a head is delimited. */
export function bodyFraming(method: string, head: ResponseHead): { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' } {
  const status = head.statusCode;
  if (method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)) return { kind: 'none' };
  const te = head.headers['transfer-encoding'];
  if (te !== undefined && te.toLowerCase().split(',').some((t) => t.trim() === 'chunked')) return { kind: 'chunked' };
  const cl = head.headers['content-length'];
  if (cl !== undefined) {
    const length = Number(cl.split(',')[0]!.trim());
    if (!Number.isSafeInteger(length) || length < 0) throw protocolError(`invalid content-length ${JSON.stringify(cl)}`);
    return length === 0 ? { kind: 'none' } : { kind: 'length', length };
  }
  return { kind: 'close' };
}

function requestHead(request: Http1Request, framing: 'length' | 'chunked' | 'none', length: number): string {
  const headers: Record<string, string> = { Host: 'localhost', ...request.headers };
  if (request.upgrade) Object.assign(headers, { Connection: 'Upgrade', Upgrade: 'tcp' });
  else headers['Connection'] = 'close';
  if (framing === 'chunked') headers['Transfer-Encoding'] = 'chunked';
  else if (framing === 'length' || !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(request.method)) headers['Content-Length'] = String(length);
  let text = `${request.method} ${request.target} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new TypeError(`invalid header ${name}: line breaks are not allowed`);
    text += `${name}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}

/** Sends a streamed body chunk-encoded, at the socket's pace; stops when the connection goes. */
async function sendChunked(socket: EngineSocket, body: AsyncIterable<Buffer | string>): Promise<void> {
  for await (const piece of body) {
    if (socket.destroyed || socket.writableEnded) return;
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    if (chunk.length === 0) continue;
    socket.write(`${chunk.length.toString(16)}\r\n`);
    socket.write(chunk);
    if (!socket.write('\r\n')) await drained(socket);
  }
  if (!socket.destroyed && !socket.writableEnded) socket.write('0\r\n\r\n');
}

/**
 * Sends one request on a new connection and resolves at the response head. Errors before it
 * (the connect's ENOENT, ECONNREFUSED, a hang-up) reject; later ones destroy the body stream.
 */
export async function send(request: Http1Request): Promise<Http1Answer> {
  const body = request.body;
  const buffered = Buffer.isBuffer(body) ? body : undefined;
  const streamed = Buffer.isBuffer(body) ? undefined : body;
  const head = requestHead(request, buffered ? 'length' : streamed ? 'chunked' : 'none', buffered?.length ?? 0);
  if (request.signal?.aborted) throw abortError();
  // no await before the exchange: a streamed body is read from this tick on (see exchange)
  return exchange(openSocket(request.socketPath), request, head, buffered, streamed);
}

function abortError(): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
}

function exchange(socket: EngineSocket, request: Http1Request, head: string, buffered: Buffer | undefined, streamed: AsyncIterable<Buffer | string> | undefined): Promise<Http1Answer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    /** after a 101 the socket is the caller's: nothing here may touch it again */
    let handedOver = false;
    let res: Http1Response | undefined;
    let finished = false;
    let pending: Buffer = Buffer.alloc(0);
    let framing: ReturnType<typeof bodyFraming> = { kind: 'none' };
    let remaining = 0;
    let chunked: ChunkedDecoder | undefined;

    const fail = (err: Error): void => {
      if (handedOver) return;
      if (!settled) {
        settled = true;
        reject(err);
      } else if (res && !finished) res.destroy(err);
      socket.destroy();
    };

    const onAbort = (): void => fail(abortError());
    request.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (): void => {
      finished = true;
      request.signal?.removeEventListener('abort', onAbort);
      res!.release();
      res!.push(null);
      socket.destroy();
    };

    const deliver = (data: Buffer): void => {
      if (data.length > 0 && !res!.push(data)) socket.pause();
    };

    const onBody = (data: Buffer): void => {
      if (framing.kind === 'length') {
        const take = data.subarray(0, remaining);
        remaining -= take.length;
        deliver(take);
        if (remaining === 0) finish();
      } else if (framing.kind === 'chunked') {
        const { data: pieces } = chunked!.feed(data);
        for (const piece of pieces) deliver(piece);
        if (chunked!.done) finish();
      } else deliver(data);
    };

    const onHead = (): void => {
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end === -1) {
          if (pending.length > 64 * 1024) throw protocolError('response head larger than 64 KiB');
          return;
        }
        const parsed = parseHead(pending.subarray(0, end).toString('latin1'));
        const rest = pending.subarray(end + 4);
        pending = Buffer.alloc(0);
        if (parsed.statusCode === 101 && request.upgrade) {
          socket.off('data', onData);
          socket.off('end', onEnd);
          socket.off('error', fail);
          socket.off('close', onClose);
          request.signal?.removeEventListener('abort', onAbort);
          // as node's own client does: no reader yet, so the bytes wait for the first 'data' listener
          socket.pause();
          socket.readableFlowing = null;
          settled = true;
          finished = true;
          handedOver = true;
          resolve({ res: new Http1Response(parsed.statusCode, parsed.statusMessage, parsed.headers, undefined), socket, head: rest });
          return;
        }
        if (parsed.statusCode >= 100 && parsed.statusCode < 200) {
          // an interim answer (100 Continue): the real one follows
          pending = rest;
          continue;
        }
        framing = bodyFraming(request.method, parsed);
        res = new Http1Response(parsed.statusCode, parsed.statusMessage, parsed.headers, socket);
        settled = true;
        resolve({ res });
        if (framing.kind === 'none') finish();
        else {
          if (framing.kind === 'length') remaining = framing.length;
          if (framing.kind === 'chunked') chunked = new ChunkedDecoder();
          if (rest.length > 0) onBody(rest);
        }
        return;
      }
    };

    const onData = (data: Buffer): void => {
      if (finished) return;
      try {
        if (res) onBody(data);
        else {
          pending = pending.length > 0 ? Buffer.concat([pending, data]) : data;
          onHead();
        }
      } catch (err) {
        fail(err as Error);
      }
    };

    const onEnd = (): void => {
      if (finished) return;
      if (!res) fail(hangUp());
      else if (framing.kind === 'close') finish();
      else fail(aborted());
    };
    const onClose = (): void => {
      if (!finished) onEnd();
    };

    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', fail);
    socket.on('close', onClose);
    if (request.signal?.aborted) {
      onAbort();
      return;
    }
    // written at once (the socket queues it until connected), and a streamed body read from now
    // on: a child process's stdout nobody reads yet is drained and lost when the child exits
    if (buffered) socket.write(buffered.length > 0 ? Buffer.concat([Buffer.from(head, 'latin1'), buffered]) : head);
    else {
      socket.write(head);
      if (streamed) sendChunked(socket, streamed).catch((err: Error) => fail(err));
    }
  });
}
