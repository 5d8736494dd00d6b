import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer } from './api-server.ts';
import { Router } from './router.ts';
import { readJson } from './request.ts';
import { systemRouter } from './router/system.ts';
import { notFound } from '../util/errors.ts';
import { frame } from './stdcopy.ts';

let dir: string;
let sock: string;
let server: ApiServer;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-api-server-'));
  sock = join(dir, 'api.sock');
  const router = new Router()
    .mount(
      systemRouter({
        version: () => ({ Version: 'test' }) as never,
        info: async () => ({ ID: 'x' }) as never,
      }),
    )
    .add('POST', '/echo', async ({ req, reply }) => reply.json(200, await readJson(req)))
    .add('GET', '/missing/{id}', ({ params }) => {
      throw notFound(`No such container: ${params['id']}`);
    })
    .add('GET', '/crash', () => {
      throw new TypeError('boom');
    })
    .add('POST', '/stream', ({ reply }) => {
      reply.hijack('application/vnd.docker.multiplexed-stream');
      reply.write(frame(1, Buffer.from('hi\n')));
      reply.end();
    });
  server = new ApiServer(router, { log: () => {} });
  await server.listen(sock);
});

after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ApiServer', () => {
  it('listens on a unix socket with mode 0660', async () => {
    assert.equal((await stat(sock)).mode & 0o777, 0o660);
  });

  it('answers /_ping with the negotiation headers, for HEAD and GET', async () => {
    for (const method of ['HEAD', 'GET']) {
      const res = await call(method, '/_ping');
      assert.equal(res.status, 200);
      assert.equal(res.headers['api-version'], '1.51');
      assert.equal(res.headers['ostype'], 'linux');
      assert.match(String(res.headers['server']), /^Berth\//);
      assert.equal(res.headers['docker-experimental'], 'false');
      assert.equal(res.headers['builder-version'], '1');
      assert.match(String(res.headers['cache-control']), /no-cache/);
      assert.equal(res.headers['pragma'], 'no-cache');
      assert.equal(res.body, method === 'GET' ? 'OK' : '');
    }
  });

  it("answers unknown routes with Docker's 404 body", async () => {
    const res = await call('GET', '/v1.51/nope');
    assert.equal(res.status, 404);
    assert.deepEqual(JSON.parse(res.body), { message: 'page not found' });
  });

  it('answers malformed JSON with 400 and keeps serving', async () => {
    const res = await call('POST', '/v1.51/echo', '{bad', { 'Content-Type': 'application/json' });
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body), { message: "invalid JSON: invalid character 'b' looking for beginning of object key string" });
    const wrongType = await call('POST', '/echo', '{}', { 'Content-Type': 'text/plain' });
    assert.equal(wrongType.status, 400);
    assert.match(JSON.parse(wrongType.body).message, /unsupported Content-Type header \(text\/plain\)/);
    const ok = await call('POST', '/echo', '{"a":1}', { 'Content-Type': 'application/json' });
    assert.deepEqual(JSON.parse(ok.body), { a: 1 });
  });

  it('maps engine errors to their status and unexpected ones to 500, then still answers', async () => {
    const missing = await call('GET', '/missing/x');
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body), { message: 'No such container: x' });
    const crash = await call('GET', '/crash');
    assert.equal(crash.status, 500);
    assert.equal((await call('GET', '/_ping')).status, 200);
  });

  it('refuses a too-new API version with 400', async () => {
    const res = await call('GET', '/v1.60/version');
    assert.equal(res.status, 400);
    assert.match(JSON.parse(res.body).message, /client version 1.60 is too new/);
  });

  it('upgrades a hijack request to 101 and streams raw frames', async () => {
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(sock);
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
      socket.write('POST /v1.51/stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n');
    });
    const split = raw.indexOf('\r\n\r\n');
    const head = raw.subarray(0, split).toString();
    assert.match(head, /^HTTP\/1.1 101 UPGRADED/);
    assert.match(head, /Upgrade: tcp/);
    assert.deepEqual(raw.subarray(split + 4), frame(1, Buffer.from('hi\n')));
  });
});
