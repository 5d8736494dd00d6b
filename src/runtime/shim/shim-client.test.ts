/**
 * The message grammar of native/PLAN.md ("Transport") as the client reads it, and the
 * errors callers throw from it. The binary itself is driven in tests/integration/native.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { Op, step } from '../plan/plan.ts';
import { SPARE_NAMESPACES } from '../plan/compile.ts';
import { ShimConnection, parseMessage, releaseSpareShims, shimError, spareShims, type ShimMessage } from './shim-client.ts';

test('parses every message the shim sends', () => {
  assert.deepEqual(parseMessage('pid 4242'), { type: 'pid', pid: 4242 });
  assert.deepEqual(parseMessage('sync create hooks'), { type: 'sync', name: 'create hooks' });
  assert.deepEqual(parseMessage('ready'), { type: 'ready' });
  assert.deepEqual(parseMessage('console-ready'), { type: 'console-ready' });
  assert.deepEqual(parseMessage('exit 137'), { type: 'exit', code: 137 });
});

test('an error keeps its errno, step and a detail with spaces and colons', () => {
  assert.deepEqual(parseMessage('error 1 mount: proc on /proc'), { type: 'error', errno: 1, step: 'mount', detail: 'proc on /proc' });
  assert.deepEqual(parseMessage('error 0 hook: /bin/x: exit status 4'), { type: 'error', errno: 0, step: 'hook', detail: '/bin/x: exit status 4' });
  assert.deepEqual(parseMessage('error 0 plan: '), { type: 'error', errno: 0, step: 'plan', detail: '' });
});

test('malformed lines are rejected, not guessed at', () => {
  for (const line of ['', 'pid', 'pid x', 'exit -1', 'ready now', 'error x mount: y', 'error 1 mount', 'hello']) {
    assert.throws(() => parseMessage(line), /parse shim message/, line);
  }
});

test('shimError reads like runc: step, detail, errno name', () => {
  assert.equal(shimError({ type: 'error', errno: 1, step: 'mount', detail: 'proc on /proc' }).message, 'mount proc on /proc: EPERM');
  assert.equal(shimError({ type: 'error', errno: 0, step: 'hook', detail: '/bin/x: exit status 4' }).message, 'hook /bin/x: exit status 4');
});

test('a shim binary that does not exist is an unavailable error', async () => {
  await assert.rejects(
    ShimConnection.start([step('CLONE', 0), step('EXIT'), step('CHILD'), step('EXEC', '', 1, '/bin/true')], { shimPath: '/nonexistent/berth-shim' }),
    (err: Error & { kind?: string }) => err.kind === 'unavailable' && /spawn \/nonexistent\/berth-shim/.test(err.message),
  );
});

// A stand-in for the binary: checks the plan's header and size, then speaks the protocol.
const FAKE_SHIM = `#!/usr/bin/env python3
import os, struct, sys
sock = os.fdopen(3, 'rb+', buffering=0)
head = sock.read(16)
total, count = struct.unpack('<II', head[8:16])
body = b''
while len(body) < total - 16:
    body += sock.read(total - 16 - len(body))
sock.write(('pid %d\\nsync %s\\n' % (count, head[:8].decode())).encode())
line = b''
while not line.endswith(b'\\n'):
    line += sock.read(1)
sock.write(b'ready\\nexit ' + (b'0' if line == b'ok\\n' else b'125') + b'\\n')
sys.exit(3)
`;

test('the client writes the plan, reads messages to EOF and answers a sync', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-shim-client-'));
  try {
    const fake = join(dir, 'fake-shim');
    writeFileSync(fake, FAKE_SHIM);
    chmodSync(fake, 0o755);
    const plan = [step('CLONE', 0), step('EXIT'), step('CHILD'), step('EXEC', '', 1, '/bin/true')];
    const conn = await ShimConnection.start(plan, { shimPath: fake });
    assert.deepEqual(await conn.next(), { type: 'pid', pid: plan.length });
    assert.deepEqual(await conn.next(), { type: 'sync', name: 'BRTHPLN1' });
    conn.send('ok');
    assert.deepEqual(await conn.next(), { type: 'ready' });
    assert.deepEqual(await conn.next(), { type: 'exit', code: 0 });
    assert.equal(await conn.next(), undefined);
    assert.deepEqual(await conn.exited, { code: 3, signal: null });
    conn.close();
    assert.throws(() => conn.send('ok\nabort'), /contains a newline/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a start takes a spare spawned ahead (same configuration only); the rest are released and reaped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-shim-client-'));
  try {
    const fake = join(dir, 'fake-shim');
    writeFileSync(fake, FAKE_SHIM);
    chmodSync(fake, 0o755);
    const stdio: Array<'ignore'> = ['ignore', 'ignore', 'ignore'];
    spareShims(2, { shimPath: fake, stdio });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const spawnedAhead = execFileSync('ps', ['-o', 'pid=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
    const plan = [step('CLONE', 0), step('EXIT'), step('CHILD'), step('EXEC', '', 1, '/bin/true')];

    const taken = await ShimConnection.start(plan, { shimPath: fake, stdio, takeSpare: true });
    assert.ok(spawnedAhead.includes(taken.child.pid!), 'the start took a shim spawned before it');
    assert.deepEqual(await taken.next(), { type: 'pid', pid: plan.length });
    taken.send('ok');
    // a different stdio is a different configuration: spawned for the call, the spare stays
    const other = await ShimConnection.start(plan, { shimPath: fake, stdio: ['ignore', 'ignore', 'inherit'], takeSpare: true });
    assert.ok(!spawnedAhead.includes(other.child.pid!));
    assert.deepEqual(await other.next(), { type: 'pid', pid: plan.length });
    other.send('ok');
    for (const conn of [taken, other]) {
      while ((await conn.next()) !== undefined) {
        // ready, exit, then EOF
      }
      assert.equal((await conn.exited).code, 3);
      conn.close();
    }

    await releaseSpareShims();
    const spawnedAfter = await ShimConnection.start(plan, { shimPath: fake, stdio, takeSpare: true });
    // none left to take: a fresh shim
    assert.deepEqual(await spawnedAfter.next(), { type: 'pid', pid: plan.length });
    spawnedAfter.child.kill('SIGKILL');
    assert.equal((await spawnedAfter.exited).signal, 'SIGKILL');
    spawnedAfter.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// A stand-in that takes a spare's preparation plan (last op PREPARED, 64) and answers it with
// ANSWER, then serves the next plan as a shim that ran it: `pid <records>`, `exit 0`. Each
// process logs its pid and the last op of its first plan beside itself.
const FAKE_SPARE = `#!/usr/bin/env python3
import os, struct, sys
sock = os.fdopen(3, 'rb+', buffering=0)
def read_exact(n):
    data = b''
    while len(data) < n:
        chunk = sock.read(n - len(data))
        if not chunk:
            sys.exit(125)
        data += chunk
    return data
def read_plan():
    head = read_exact(16)
    total, count = struct.unpack('<II', head[8:16])
    body = read_exact(total - 16)
    ops, at = [], 0
    for _ in range(count):
        op, nargs = struct.unpack('<II', body[at:at + 8])
        at += 8
        for _ in range(nargs):
            at += 4 + struct.unpack('<I', body[at:at + 4])[0]
        ops.append(op)
    return ops
ops = read_plan()
with open(os.path.join(os.path.dirname(sys.argv[0]), 'log'), 'a') as log:
    log.write('%d %d\\n' % (os.getpid(), ops[-1]))
if ops[-1] == 64:
    sock.write(b'ANSWER\\n')
    ops = read_plan()
sock.write(('pid %d\\nexit 0\\n' % len(ops)).encode())
`;

function fakeSpare(dir: string, answer: string): string {
  const fake = join(dir, 'fake-shim');
  writeFileSync(fake, FAKE_SPARE.replace('ANSWER', answer));
  chmodSync(fake, 0o755);
  return fake;
}

/** pid and last op of the first plan of every fake started so far. */
function fakeLog(dir: string): Array<[number, number]> {
  return readFileSync(join(dir, 'log'), 'utf8').trim().split('\n').map((line) => line.split(' ').map(Number) as [number, number]);
}

async function until(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return check();
}

/** Every message to EOF, and how the shim exited; then lets it go. */
async function drain(conn: ShimConnection): Promise<{ messages: ShimMessage[]; code: number | null }> {
  const messages: ShimMessage[] = [];
  for (let message = await conn.next(); message !== undefined; message = await conn.next()) messages.push(message);
  // close() unrefs the child: its exit must be awaited before
  const { code } = await conn.exited;
  conn.close();
  return { messages, code };
}

/** What the fake reports for the 4-record plans below, run to the end. */
const RAN = { messages: [{ type: 'pid', pid: 4 }, { type: 'exit', code: 0 }], code: 0 };

test('a prepared spare gets the plan compiled for its namespaces; an unprepared start does not take it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-shim-client-'));
  try {
    const fake = fakeSpare(dir, 'prepared');
    const stdio: Array<'ignore'> = ['ignore', 'ignore', 'ignore'];
    await spareShims(1, { shimPath: fake, stdio, spareNamespaces: SPARE_NAMESPACES });
    // resolved once the spare has answered
    const [[sparePid, lastOp]] = fakeLog(dir) as [[number, number]];
    assert.equal(lastOp, Op.PREPARED);
    const plan = [step('CLONE', 0), step('EXIT'), step('CHILD'), step('EXEC', '', 1, '/bin/true')];

    const other = await ShimConnection.start(plan, { shimPath: fake, stdio, takeSpare: true });
    assert.notEqual(other.child.pid, sparePid, 'spares prepared with namespaces are for starts that expect them');
    assert.deepEqual(await drain(other), RAN);

    const compiledFor: number[] = [];
    const conn = await ShimConnection.start((prepared) => (compiledFor.push(prepared), plan), { shimPath: fake, stdio, takeSpare: true, spareNamespaces: SPARE_NAMESPACES });
    assert.equal(conn.child.pid, sparePid);
    assert.deepEqual(compiledFor, [SPARE_NAMESPACES]);
    assert.deepEqual(await drain(conn), RAN);
  } finally {
    await releaseSpareShims();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a spare whose preparation fails is killed, and the start spawns a fresh shim with the plan for none', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-shim-client-'));
  try {
    const fake = fakeSpare(dir, 'error 1 unshare: flags 0x4c000000');
    const stdio: Array<'ignore'> = ['ignore', 'ignore', 'ignore'];
    await spareShims(1, { shimPath: fake, stdio, spareNamespaces: SPARE_NAMESPACES });
    const [[sparePid, lastOp]] = fakeLog(dir) as [[number, number]];
    assert.equal(lastOp, Op.PREPARED);
    assert.ok(await until(() => !existsSync(`/proc/${sparePid}`)), 'the failed spare is killed and reaped');

    const plan = [step('CLONE', 0), step('EXIT'), step('CHILD'), step('EXEC', '', 1, '/bin/true')];
    const compiledFor: number[] = [];
    const conn = await ShimConnection.start((prepared) => (compiledFor.push(prepared), plan), { shimPath: fake, stdio, takeSpare: true, spareNamespaces: SPARE_NAMESPACES });
    assert.notEqual(conn.child.pid, sparePid);
    assert.deepEqual(compiledFor, [0]);
    assert.deepEqual(await drain(conn), RAN);
    // the fresh shim's first plan is the container's, not a preparation
    assert.deepEqual(fakeLog(dir).at(-1), [conn.child.pid, Op.EXEC]);
  } finally {
    await releaseSpareShims();
    rmSync(dir, { recursive: true, force: true });
  }
});
