/**
 * The attach protocol as the client speaks it, against a stand-in monitor on a unix socket
 * (the real one is driven in tests/integration/native/monitor-io.test.ts).
 */

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { AttachClient, AttachStream, FrameDecoder, encodeFrame } from './attach-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'berth-attach-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let sockets = 0;

/** A monitor stand-in: hands each connection to `serve`. */
async function monitor(serve: (conn: Socket) => void): Promise<{ path: string; server: Server }> {
  const path = join(dir, `attach-${sockets++}.sock`);
  const server = createServer({ allowHalfOpen: true }, serve);
  await new Promise<void>((resolveListen) => server.listen(path, resolveListen));
  return { path, server };
}

test('frames: header is stream then big-endian length', () => {
  assert.deepEqual([...encodeFrame(AttachStream.stdin, Buffer.from('hi'))], [0, 0, 0, 0, 2, 0x68, 0x69]);
  assert.deepEqual([...encodeFrame(AttachStream.stdin)], [0, 0, 0, 0, 0]);
});

test('the decoder reassembles frames split anywhere, byte by byte', () => {
  const bytes = Buffer.concat([encodeFrame(1, Buffer.from('out')), encodeFrame(2, Buffer.alloc(0)), encodeFrame(3, Buffer.from([0, 0, 0, 7]))]);
  const decoder = new FrameDecoder();
  const frames = [];
  for (const byte of bytes) frames.push(...decoder.push(Buffer.from([byte])));
  assert.deepEqual(
    frames.map((f) => [f.stream, [...f.data]]),
    [
      [1, [...Buffer.from('out')]],
      [2, []],
      [3, [0, 0, 0, 7]],
    ],
  );
  assert.equal(decoder.buffered, 0);
  decoder.push(Buffer.from([1, 0, 0]));
  assert.equal(decoder.buffered, 3);
});

test('output and the exit status reach the client; its input, EOF and size reach the monitor', async () => {
  const received: Buffer[] = [];
  const { path, server } = await monitor((conn) => {
    conn.on('data', (chunk: Buffer) => received.push(chunk));
    const out = Buffer.concat([encodeFrame(1, Buffer.from('hello ')), encodeFrame(2, Buffer.from('oops')), encodeFrame(1, Buffer.from('world')), encodeFrame(3, Buffer.from([0, 0, 0, 42]))]);
    // split mid-header and mid-payload, as a socket may deliver them
    conn.write(out.subarray(0, 3));
    const second = new Promise<void>((resolveWrite) => setTimeout(() => conn.write(out.subarray(3, 14), () => resolveWrite()), 10));
    // the rest (exit frame included) once the client has said all it had to say
    conn.on('end', () => void second.then(() => conn.end(out.subarray(14))));
  });
  try {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const client = await AttachClient.connect(path, { stdout: (d) => stdout.push(d.toString()), stderr: (d) => stderr.push(d.toString()) });
    client.write(Buffer.from('input'));
    client.resize(24, 80);
    client.closeStdin();
    client.close();
    const end = await client.ended;
    assert.deepEqual(end, { exitCode: 42 });
    assert.equal(stdout.join(''), 'hello world');
    assert.deepEqual(stderr, ['oops']);
    const frames = new FrameDecoder().push(Buffer.concat(received));
    assert.deepEqual(
      frames.map((f) => [f.stream, f.data.toString('hex')]),
      [
        [AttachStream.stdin, Buffer.from('input').toString('hex')],
        [AttachStream.resize, '00180050'],
        [AttachStream.stdin, ''],
      ],
    );
  } finally {
    server.close();
  }
});

test('a connection closed without an exit frame ends with no status (dropped)', async () => {
  const { path, server } = await monitor((conn) => conn.end(encodeFrame(1, Buffer.from('partial frame')).subarray(0, 8)));
  try {
    const client = await AttachClient.connect(path);
    assert.deepEqual(await client.ended, { exitCode: undefined });
  } finally {
    server.close();
  }
});

test('a missing socket is not-found', async () => {
  await assert.rejects(AttachClient.connect(join(dir, 'nobody.sock')), (err: Error & { kind?: string }) => err.kind === 'not-found' && /connect attach socket/.test(err.message));
});
