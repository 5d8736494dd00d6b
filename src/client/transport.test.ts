// Runs under Node (net.Socket) and under Bun (`bun test`: the adapter over Bun.connect): both must behave alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSocket, type EngineSocket } from './transport.ts';

async function withServer(serve: (socket: Socket) => void, body: (path: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-transport-'));
  const path = join(dir, 's.sock');
  const server: Server = createServer({ allowHalfOpen: true }, serve);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    await body(path, dir);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

function collect(socket: EngineSocket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

test('a write larger than the kernel takes arrives whole, then drain; end() half-closes and the answer still comes', async () => {
  const big = Buffer.alloc(6 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
  await withServer(
    (conn) => {
      const got: Buffer[] = [];
      // a slow reader: the writer must queue and wait for its drains
      conn.on('data', (chunk: Buffer) => {
        got.push(chunk);
        conn.pause();
        setTimeout(() => conn.resume(), 1);
      });
      conn.on('end', () => conn.end(`${sha(Buffer.concat(got))}`));
    },
    async (path) => {
      const socket = await openSocket(path);
      const answer = collect(socket);
      let written = false;
      assert.equal(socket.write(big, () => (written = true)), false);
      await new Promise<void>((resolve) => socket.once('drain', () => resolve()));
      assert.equal(written, true);
      socket.end();
      assert.equal(socket.writableEnded, true);
      assert.equal((await answer).toString(), sha(big));
      await new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
    },
  );
});

test('bytes that arrive while paused wait, in order, behind what unshift put back; end comes after them', async () => {
  await withServer(
    (conn) => {
      conn.write('one ');
      setTimeout(() => conn.end('two'), 30);
    },
    async (path) => {
      const socket = await openSocket(path);
      const first = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
      assert.equal(first.toString(), 'one ');
      socket.pause();
      socket.readableFlowing = null;
      await new Promise((r) => setTimeout(r, 80));
      socket.unshift(Buffer.from('zero '));
      assert.equal((await collect(socket)).toString(), 'zero two');
    },
  );
});

test('destroy() closes at once and drops what is queued; the peer sees the connection go', async () => {
  let peerClosed: () => void;
  const closedAtPeer = new Promise<void>((resolve) => (peerClosed = resolve));
  await withServer(
    (conn) => {
      conn.on('data', () => {});
      // reset or EOF: either way the connection went
      conn.on('error', () => peerClosed());
      conn.on('end', () => {
        peerClosed();
        conn.end();
      });
    },
    async (path) => {
      const socket = await openSocket(path);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(Buffer.alloc(4 * 1024 * 1024));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.destroy();
      assert.equal(socket.destroyed, true);
      await closed;
      await closedAtPeer;
    },
  );
});

test('no listener: a missing socket is ENOENT, a file that is no socket ECONNREFUSED, with node’s message', async () => {
  await withServer(
    () => {},
    async (_path, dir) => {
      const missing = join(dir, 'none.sock');
      const plain = join(dir, 'plain');
      await writeFile(plain, '');
      for (const [path, code] of [
        [missing, 'ENOENT'],
        [plain, 'ECONNREFUSED'],
      ] as const) {
        const socket = await openSocket(path);
        const err = await new Promise<NodeJS.ErrnoException>((resolve) => socket.once('error', resolve));
        assert.equal(err.code, code);
        assert.equal(err.message, `connect ${code} ${path}`);
        await new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
        assert.equal(socket.destroyed, true);
      }
    },
  );
});
