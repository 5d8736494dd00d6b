import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ChunkedDecoder, parseHead } from './http1.ts';
import { API_VERSION, ApiError, ConnectError, EngineClient } from './engine-client.ts';

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A unix-socket server for one test, answering each connection with `serve`. */
async function withServer(serve: (socket: Socket, request: Promise<string>) => void | Promise<void>, body: (client: EngineClient) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-http1-'));
  const path = join(dir, 'sock');
  const sockets = new Set<Socket>();
  const serverErrors: unknown[] = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    let text = '';
    const request = new Promise<string>((resolve) => {
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (text.includes('\r\n\r\n')) resolve(text);
      });
    });
    // a failed check on the server side hangs the client up, and fails the test below
    Promise.resolve(serve(socket, request)).catch((err: unknown) => {
      serverErrors.push(err);
      socket.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  try {
    await body(new EngineClient(path)).catch((err: unknown) => {
      throw serverErrors[0] ?? err;
    });
    if (serverErrors.length > 0) throw serverErrors[0];
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `pieces` with a pause between, so the client reads them one by one. */
async function dribble(socket: Socket, pieces: (string | Buffer)[]): Promise<void> {
  for (const piece of pieces) {
    socket.write(piece);
    await pause(15);
  }
}

async function text(res: AsyncIterable<Buffer | string>): Promise<string> {
  let out = '';
  for await (const chunk of res) out += chunk.toString();
  return out;
}

test('a chunked body decodes whatever the split: size lines, data and CRLFs cut anywhere', () => {
  const wire = Buffer.from('5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nNEXT');
  for (const step of [1, 2, 3, 7, wire.length]) {
    const decoder = new ChunkedDecoder();
    let out = '';
    let rest = '';
    for (let i = 0; i < wire.length; i += step) {
      const fed = decoder.feed(wire.subarray(i, i + step));
      out += Buffer.concat(fed.data).toString();
      rest += fed.rest.toString();
      if (decoder.done) {
        rest += wire.subarray(i + step).toString();
        break;
      }
    }
    assert.equal(decoder.done, true, `step ${step}`);
    assert.equal(out, 'hello 0123456789', `step ${step}`);
    assert.equal(rest, 'NEXT', `step ${step}`);
  }
  assert.throws(() => new ChunkedDecoder().feed(Buffer.from('zz\r\n')), /invalid chunk size/);
  assert.throws(() => new ChunkedDecoder().feed(Buffer.from('2\r\nabXY')), /missing CRLF/);
});

test('a response head: status, reason, lower-cased and joined headers; garbage is an error', () => {
  const head = parseHead('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-A: 1\r\nx-a: 2');
  assert.equal(head.statusCode, 200);
  assert.equal(head.statusMessage, 'OK');
  assert.deepEqual(head.headers, { 'content-type': 'application/json', 'x-a': '1, 2' });
  assert.throws(() => parseHead('SSH-2.0-OpenSSH'), /malformed status line/);
  assert.throws(() => parseHead('HTTP/1.1 200 OK\r\nno colon'), /malformed header line/);
});

test('a Content-Length body whose head arrives in pieces', async () => {
  const body = JSON.stringify({ ApiVersion: API_VERSION });
  await withServer(
    async (socket, request) => {
      await request;
      await dribble(socket, ['HTTP/1.1 200 OK\r\nContent-Ty', 'pe: application/json\r', `\nContent-Length: ${body.length}\r\n`, '\r', `\n${body.slice(0, 5)}`, body.slice(5)]);
    },
    async (client) => {
      assert.deepEqual(await client.json('GET', '/version'), { ApiVersion: API_VERSION });
      assert.equal(client.answered, 1);
    },
  );
});

test('a chunked body streams: the first chunk is read before the server sends the rest', async () => {
  let sendRest!: () => void;
  const rest = new Promise<void>((r) => (sendRest = r));
  await withServer(
    async (socket, request) => {
      await request;
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{"a":1');
      await rest;
      await dribble(socket, ['\r', '\n2\r\n}\n\r\n8\r', '\n{"b":2}\n\r\n0\r\n\r\n']);
    },
    async (client) => {
      const res = await client.stream('GET', '/events');
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['transfer-encoding'], 'chunked');
      const iterator = res[Symbol.asyncIterator]();
      const first = await iterator.next();
      assert.equal(String(first.value), '{"a":1');
      sendRest();
      let tail = '';
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) tail += String(next.value);
      assert.equal(tail, '}\n{"b":2}\n');
    },
  );
});

test('no body for 204, 304 and HEAD, whatever Content-Length says; a body up to the close without framing', async () => {
  const answers = ['HTTP/1.1 204 No Content\r\n\r\n', 'HTTP/1.1 304 Not Modified\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 42\r\nX-Docker-Container-Path-Stat: e30=\r\n\r\n', 'HTTP/1.1 200 OK\r\n\r\nuntil the end'];
  let n = 0;
  await withServer(
    async (socket, request) => {
      await request;
      const answer = answers[n++]!;
      socket.write(answer);
      // a 204/304/HEAD answer is complete without the close; the unframed one ends with it
      if (answer.endsWith('end')) socket.end();
    },
    async (client) => {
      assert.equal(await client.call('POST', '/containers/x/start'), 204);
      assert.equal(await client.call('POST', '/containers/x/stop'), 304);
      const head = await client.stream('HEAD', '/containers/x/archive', { query: { path: '/' } });
      assert.equal(head.headers['x-docker-container-path-stat'], 'e30=');
      assert.equal(await text(head), '');
      assert.equal(await text(await client.stream('GET', '/x')), 'until the end');
    },
  );
});

test('a hijack hands over the socket with the bytes that came with the 101 put back', async () => {
  await withServer(
    async (socket, request) => {
      const req = await request;
      assert.match(req, /^POST \/v[\d.]+\/containers\/c1\/attach\?stream=1&stdout=1 HTTP\/1\.1\r\n/);
      assert.match(req, /\r\nConnection: Upgrade\r\n/i);
      assert.match(req, /\r\nUpgrade: tcp\r\n/i);
      socket.write('HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nearly ');
      await pause(15);
      socket.write('late');
      socket.once('data', (d: Buffer) => {
        socket.end(`echo:${d.toString()}`);
      });
    },
    async (client) => {
      const socket = await client.hijack('POST', '/containers/c1/attach', { query: { stream: true, stdout: true } });
      let got = '';
      socket.on('data', (d: Buffer) => {
        got += d.toString();
        if (got === 'early late') socket.write('input');
      });
      await new Promise<void>((r) => socket.once('end', () => r()));
      socket.destroy();
      assert.equal(got, 'early lateecho:input');
    },
  );
});

test('a hijack the daemon refuses is an ApiError with its message', async () => {
  await withServer(
    async (socket, request) => {
      await request;
      const body = '{"message":"No such container: c1"}';
      socket.write(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    },
    async (client) => {
      await assert.rejects(client.hijack('POST', '/containers/c1/attach'), (err) => err instanceof ApiError && err.status === 404 && err.message === 'No such container: c1' && err.kind === 'not-found');
    },
  );
});

test('errors: a chunked error body, a hang-up before the head, a body cut short', async () => {
  let n = 0;
  await withServer(
    async (socket, request) => {
      await request;
      const i = n++;
      if (i === 0) socket.end('HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n1a\r\n{"message":"name in use"}\n\r\n0\r\n\r\n');
      else if (i === 1) socket.destroy();
      else socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort');
    },
    async (client) => {
      await assert.rejects(client.json('POST', '/containers/create'), (err) => err instanceof ApiError && err.status === 409 && err.message === 'name in use');
      await assert.rejects(client.json('GET', '/info'), (err) => !(err instanceof ConnectError) && (err as NodeJS.ErrnoException).code === 'ECONNRESET');
      await assert.rejects(text(await client.stream('GET', '/containers/x/export')), (err) => (err as NodeJS.ErrnoException).code === 'ECONNRESET');
      assert.equal(client.answered, 2);
    },
  );
});

test('no daemon: a missing socket is ENOENT, a file that is no socket ECONNREFUSED, both ConnectErrors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-http1-'));
  try {
    const missing = new EngineClient(join(dir, 'none.sock'));
    await assert.rejects(missing.ping(), (err) => err instanceof ConnectError && err.code === 'ENOENT' && /Cannot connect to the Berth daemon/.test(err.message));
    await writeFile(join(dir, 'plain'), '');
    const refused = new EngineClient(join(dir, 'plain'));
    await assert.rejects(refused.call('POST', '/containers/x/start'), (err) => err instanceof ConnectError && err.code === 'ECONNREFUSED');
    assert.equal(refused.answered, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('requests node parses as sent: version prefix, headers, JSON and streamed bodies', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-http1-'));
  const path = join(dir, 'sock');
  const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ length: body.length }));
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  try {
    const client = new EngineClient(path);
    assert.equal(await client.ping(), true);
    assert.deepEqual(await client.json('POST', '/containers/create', { query: { name: 'a b', x: undefined, flag: false }, body: { Image: 'busybox' } }), { length: 19 });
    const big = Buffer.alloc(300_000, 'x');
    const source = Readable.from((async function* () {
      yield Buffer.from('tar');
      await pause(5);
      yield big;
    })());
    const res = await client.stream('POST', '/build', { body: source, headers: { 'Content-Type': 'application/x-tar', 'X-Registry-Auth': 'e30=' } });
    assert.deepEqual(JSON.parse(await text(res)), { length: 3 + big.length });
    assert.equal(await client.call('DELETE', '/containers/a'), 200);
    assert.equal(seen[0]!.url, '/_ping');
    assert.equal(seen[1]!.url, `/v${API_VERSION}/containers/create?name=a+b&flag=0`);
    assert.equal(seen[1]!.headers['content-type'], 'application/json');
    assert.equal(seen[1]!.headers['content-length'], '19');
    assert.equal(seen[1]!.body, '{"Image":"busybox"}');
    assert.equal(seen[2]!.headers['transfer-encoding'], 'chunked');
    assert.equal(seen[2]!.headers['x-registry-auth'], 'e30=');
    assert.equal(seen[2]!.headers['content-type'], 'application/x-tar');
    assert.equal(seen[2]!.body, `tar${big.toString()}`);
    assert.equal(seen[3]!.method, 'DELETE');
    assert.equal(seen[3]!.body, '');
  } finally {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  }
});

test('an aborted request rejects with an AbortError', async () => {
  await withServer(
    async () => {},
    async (client) => {
      const controller = new AbortController();
      const pending = client.json('GET', '/events', { signal: controller.signal });
      await pause(10);
      controller.abort();
      await assert.rejects(pending, (err) => (err as Error).name === 'AbortError');
      await assert.rejects(client.json('GET', '/events', { signal: controller.signal }), (err) => (err as Error).name === 'AbortError');
    },
  );
});
