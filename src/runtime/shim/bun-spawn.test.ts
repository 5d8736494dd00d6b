/**
 * The fd socket the shim client uses under Bun: in-order reads that end at EOF, and writes that
 * outlast a full buffer. Under Node it runs on a fifo and a stand-in for Bun.file's stream; the
 * whole client under Bun runs the client's own tests with `bun test`, when Bun is installed.
 */

import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { constants, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { FdSocket } from './bun-spawn.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BUN = process.env['BERTH_BUN'] ?? join(REPO, 'node_modules', 'bun', 'bin', 'bun.exe');

function chunkedFile(chunks: Uint8Array[]): { stream(): ReadableStream<Uint8Array> } {
  return {
    stream: () =>
      new ReadableStream<Uint8Array>({
        pull(controller) {
          const next = chunks.shift();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      }),
  };
}

test('reads arrive in order as utf-8 text, a character split across chunks included, then end and close', async () => {
  const bytes = Buffer.from('pid 7\nerror 2 open: /wörk\nready\n', 'utf8');
  const split = bytes.indexOf(0xc3) + 1;
  const dir = mkdtempSync(join(tmpdir(), 'berth-fd-socket-'));
  try {
    const fd = openSync(join(dir, 'placeholder'), 'w');
    const socket = new FdSocket(fd, chunkedFile([bytes.subarray(0, split), bytes.subarray(split)]));
    socket.setEncoding('utf8');
    const events: string[] = [];
    let text = '';
    await new Promise<void>((done) => {
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => events.push('end'));
      socket.on('close', () => (events.push('close'), done()));
    });
    assert.equal(text, bytes.toString('utf8'));
    assert.deepEqual(events, ['end', 'close']);
    assert.equal(socket.destroyed, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a write larger than the pipe buffer reaches the reader whole, after EAGAIN', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-fd-socket-'));
  try {
    const fifo = join(dir, 'fifo');
    const out = join(dir, 'out');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('/bin/sh', ['-c', 'sleep 0.2; cat "$0" > "$1"', fifo, out], { stdio: 'ignore' });
    // O_RDWR: the open does not wait for the reader; O_NONBLOCK as Bun.spawn's socket has it
    const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
    const socket = new FdSocket(fd, chunkedFile([]));
    const plan = Buffer.alloc(600 * 1024, 'plan ');
    assert.equal(socket.write(plan), false, 'a 600 kB write fits no pipe buffer at once');
    socket.write('ok\n');
    // the writer's end closes once everything is out: cat then sees EOF
    await new Promise<void>((done) => {
      const poll = setInterval(() => {
        if (socket.write(Buffer.alloc(0))) {
          clearInterval(poll);
          socket.destroy();
          done();
        }
      }, 5);
    });
    await new Promise((done) => reader.once('exit', done));
    assert.deepEqual(readFileSync(out), Buffer.concat([plan, Buffer.from('ok\n')]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('under Bun, the shim client passes its own tests through Bun.spawn', { skip: !existsSync(BUN) && 'no Bun binary' }, () => {
  const result = spawnSync(BUN, ['test', './src/runtime/shim/shim-client.test.ts'], { cwd: REPO, encoding: 'utf8' });
  const report = `${result.stdout}${result.stderr}`;
  assert.equal(result.status, 0, report);
  assert.match(report, / 0 fail/);
});
