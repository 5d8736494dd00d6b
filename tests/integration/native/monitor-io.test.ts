/**
 * The monitor's stdio for the daemon, end to end with the real shim as root: STDIO_PIPES,
 * the json-file log (escaping, 16 KiB splits, rotation), the attach socket (live output,
 * exit frame, stdin, resize, slow clients dropped), and a monitor that outlives whoever
 * spawned it. Containers run in a busybox rootfs in their own namespaces; the temp dir is
 * removed at the end and every container exits on its own.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS, S_IFCHR, makedev } from '../../../src/runtime/plan/constants.ts';
import { step } from '../../../src/runtime/plan/plan.ts';
import type { Plan, PlanStep } from '../../../src/runtime/plan/plan.ts';
import { AttachClient, encodeFrame } from '../../../src/runtime/shim/attach-client.ts';
import { readLogs } from '../../../src/runtime/shim/log-reader.ts';
import type { LogEntry } from '../../../src/runtime/shim/log-reader.ts';
import { ShimConnection, shimPath } from '../../../src/runtime/shim/shim-client.ts';
import type { ShimMessage } from '../../../src/runtime/shim/shim-client.ts';

const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MS_PRIVATE = 0x40000;
const NS = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
const APPLETS = ['sh', 'cat', 'echo', 'printf', 'sleep', 'head', 'tr', 'seq', 'stty', 'dd', 'yes'];
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/;

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const isRoot = process.getuid?.() === 0;
let tmp = '';
let rootfs = '';
let names = 0;

function fresh(name: string): string {
  return join(tmp, `${name}-${names++}`);
}

interface IoOptions {
  stdin?: boolean;
  log?: { path: string; maxSize?: number; maxFiles?: number };
  attach?: string;
  exitFile?: string;
  tty?: boolean;
  daemonize?: boolean;
}

/** A container whose stdio the monitor owns, as the daemon will start one. */
function ioPlan(argv: string[], o: IoOptions): Plan {
  const launcher: PlanStep[] = [
    ...(o.daemonize ? [step('DAEMONIZE')] : []),
    ...(o.tty ? [step('CONSOLE_PAIR')] : []),
    step('STDIO_PIPES', o.stdin ? 1 : 0),
    ...(o.log ? [step('LOG_FILE', o.log.path, o.log.maxSize ?? 0, o.log.maxFiles ?? 1)] : []),
    ...(o.attach ? [step('ATTACH_SOCKET', o.attach)] : []),
  ];
  const tty: PlanStep[] = o.tty
    ? [
        step('SETSID'),
        step('MKDIR_IN_ROOT', '/dev/pts', 0o755),
        step('MOUNT_IN_ROOT', 'devpts', '/dev/pts', 'devpts', MS_NOSUID | MS_NOEXEC, 'newinstance,ptmxmode=0666,mode=0620'),
        step('SYMLINK_IN_ROOT', 'pts/ptmx', '/dev/ptmx'),
      ]
    : [];
  return [
    ...launcher,
    step('CLONE', NS),
    step('REPORT_PID'),
    step('WAIT', o.exitFile ?? '', 0),
    step('CHILD'),
    step('MOUNT', '', '/', '', MS_REC | MS_PRIVATE, ''),
    step('MOUNT', rootfs, rootfs, '', MS_BIND | MS_REC, ''),
    step('OPEN_ROOT', rootfs),
    step('MOUNT_IN_ROOT', 'proc', '/proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC, ''),
    step('MOUNT_IN_ROOT', 'tmpfs', '/dev', 'tmpfs', MS_NOSUID, 'mode=755'),
    step('MKNOD_IN_ROOT', '/dev/null', S_IFCHR | 0o666, makedev(1, 3), 0, 0),
    step('MKNOD_IN_ROOT', '/dev/zero', S_IFCHR | 0o666, makedev(1, 5), 0, 0),
    ...tty,
    step('PIVOT_ROOT', rootfs),
    ...(o.tty ? [step('CONSOLE', 24, 80, '')] : []),
    step('EXEC', '/bin', argv.length, ...argv, 'PATH=/bin'),
  ];
}

/** Runs a plan to its end; the shim's own stdio is /dev/null, so anything seen came through the monitor. */
async function run(plan: Plan, onMessage?: (m: ShimMessage) => void | Promise<void>): Promise<{ messages: ShimMessage[]; code: number | null }> {
  const conn = await ShimConnection.start(plan, { stdio: ['ignore', 'ignore', 'ignore'] });
  const messages: ShimMessage[] = [];
  try {
    for (let m = await conn.next(); m !== undefined; m = await conn.next()) {
      messages.push(m);
      await onMessage?.(m);
    }
    return { messages, code: (await conn.exited).code };
  } finally {
    conn.close();
  }
}

async function entries(path: string): Promise<LogEntry[]> {
  const all: LogEntry[] = [];
  for await (const entry of readLogs(path)) all.push(entry);
  return all;
}

async function waitFor(predicate: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (const start = Date.now(); Date.now() - start < ms; await new Promise((r) => setTimeout(r, 20))) if (predicate()) return;
  assert.fail(`timed out waiting for ${what}`);
}

function attachClient(path: string): Promise<{ client: AttachClient; out: Buffer[]; err: Buffer[] }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  return AttachClient.connect(path, { stdout: (d) => out.push(d), stderr: (d) => err.push(d) }).then((client) => ({ client, out, err }));
}

describe('berth-shim monitor stdio', { skip: isRoot ? false : 'needs root' }, () => {
  before(() => {
    execFileSync('make', ['-s', '-C', join(repo, 'native')], { stdio: 'inherit' });
    tmp = mkdtempSync(join(tmpdir(), 'berth-monitor-io-'));
    chmodSync(tmp, 0o755);
    rootfs = join(tmp, 'rootfs');
    for (const dir of ['bin', 'proc', 'dev', 'tmp']) mkdirSync(join(rootfs, dir), { recursive: true });
    copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
    chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
    for (const applet of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', applet));
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('stdout and stderr become json-file entries, escaped and split as docker does', async () => {
    const log = fresh('log');
    const script = [
      'echo one',
      'echo two >&2',
      // control characters, html characters, quotes, unicode, U+2028, an invalid byte
      String.raw`printf '\001<&>\t"\\ é ✓ \342\200\250 \377\r\n'`,
      'head -c 40000 /dev/zero | tr "\\0" x; echo',
      'printf "no newline at the end"',
    ].join('; ');
    const result = await run(ioPlan(['/bin/sh', '-c', script], { log: { path: log } }));
    assert.equal(result.code, 0);
    const raw = readFileSync(log, 'utf8').split('\n');
    assert.equal(raw.pop(), '', 'the file ends with a newline');
    for (const line of raw) {
      const match = /^\{"log":"(.*)","stream":"(stdout|stderr)","time":"([^"]+)"\}$/.exec(line);
      assert.ok(match, `entry shape: ${line.slice(0, 120)}`);
      assert.match(match[3]!, TIME, "Go's RFC3339Nano: no trailing zeros");
    }
    // the escapes byte for byte, as docker's encoder writes them
    const special = raw.find((l) => l.includes('\\u0001'));
    assert.ok(special, 'the line with control characters');
    assert.equal(special.slice(0, special.indexOf('","stream"')), '{"log":"\\u0001\\u003c\\u0026\\u003e\\u0009\\"\\\\ é ✓ \\u2028 \\ufffd\\r\\n');

    const all = await entries(log);
    const stdout = all.filter((e) => e.stream === 'stdout').map((e) => e.log);
    assert.deepEqual(all.filter((e) => e.stream === 'stderr').map((e) => e.log), ['two\n']);
    assert.deepEqual(stdout, [
      'one\n',
      '\u0001<&>\t"\\ é ✓ \u2028 \ufffd\r\n',
      'x'.repeat(16384),
      'x'.repeat(16384),
      `${'x'.repeat(40000 - 2 * 16384)}\n`,
      'no newline at the end',
    ]);
  });

  test('rotation keeps at most max-file files under max-size and splits no line', async () => {
    const dir = fresh('rotate');
    mkdirSync(dir);
    const log = join(dir, 'container.log');
    const lines = Array.from({ length: 300 }, (_, i) => `line ${String(i).padStart(3, '0')} ${'.'.repeat(i % 40)}\n`);
    const script = 'for i in $(seq 0 299); do printf "line %03d %s\\n" $i "$(head -c $((i % 40)) /dev/zero | tr "\\0" .)"; done';
    assert.equal((await run(ioPlan(['/bin/sh', '-c', script], { log: { path: log, maxSize: 2000, maxFiles: 100 } }))).code, 0);
    const files = readdirSync(dir);
    assert.ok(files.length > 10, `rotated into ${files.length} files`);
    for (const file of files) assert.ok(statSync(join(dir, file)).size <= 2000, `${file} is within max-size`);
    assert.deepEqual((await entries(log)).map((e) => e.log), lines, 'every line, whole, in order, across the files');

    const dir3 = fresh('rotate3');
    mkdirSync(dir3);
    const log3 = join(dir3, 'container.log');
    assert.equal((await run(ioPlan(['/bin/sh', '-c', script], { log: { path: log3, maxSize: 2000, maxFiles: 3 } }))).code, 0);
    assert.deepEqual(readdirSync(dir3).sort(), ['container.log', 'container.log.1', 'container.log.2']);
    const kept = (await entries(log3)).map((e) => e.log);
    assert.ok(kept.length > 10 && kept.length < lines.length, `${kept.length} lines kept`);
    assert.deepEqual(kept, lines.slice(lines.length - kept.length), 'the newest lines, contiguous');

    const log1 = join(fresh('rotate1'), 'container.log');
    mkdirSync(dirname(log1));
    assert.equal((await run(ioPlan(['/bin/sh', '-c', script], { log: { path: log1, maxSize: 2000, maxFiles: 1 } }))).code, 0);
    assert.deepEqual(readdirSync(dirname(log1)), ['container.log'], 'one file: truncated, not rotated');
    assert.ok(statSync(log1).size <= 2000);
  });

  test('attached clients get the live output and the exit frame, after the exit file', async () => {
    const sock = fresh('attach.sock');
    const exitFile = fresh('exit.json');
    const log = fresh('log');
    const clients: Array<Awaited<ReturnType<typeof attachClient>>> = [];
    let exitFileAtExitFrame = false;
    const result = await run(ioPlan(['/bin/sh', '-c', 'sleep 0.5; echo live; echo oops >&2; exit 3'], { log: { path: log }, attach: sock, exitFile }), async (m) => {
      if (m.type !== 'pid') return;
      assert.equal(statSync(sock).mode & 0o777, 0o600);
      clients.push(await attachClient(sock), await attachClient(sock));
      void clients[0]!.client.ended.then(() => (exitFileAtExitFrame = existsSync(exitFile)));
    });
    assert.equal(result.code, 3);
    for (const { client, out, err } of clients) {
      assert.deepEqual(await client.ended, { exitCode: 3 });
      assert.equal(Buffer.concat(out).toString(), 'live\n');
      assert.equal(Buffer.concat(err).toString(), 'oops\n');
    }
    assert.ok(exitFileAtExitFrame, 'the exit file is there when the exit frame arrives');
    assert.equal((JSON.parse(readFileSync(exitFile, 'utf8')) as { exitCode: number }).exitCode, 3);
    assert.ok(!existsSync(sock), 'the socket goes with the monitor');
    assert.deepEqual((await entries(log)).map((e) => e.log), ['live\n', 'oops\n']);
  });

  test('stdin through the attach socket reaches cat, and its EOF ends it', async () => {
    const sock = fresh('attach.sock');
    let attached: Awaited<ReturnType<typeof attachClient>> | undefined;
    const result = await run(ioPlan(['/bin/cat'], { stdin: true, attach: sock }), async (m) => {
      if (m.type !== 'pid') return;
      attached = await attachClient(sock);
      attached.client.write(Buffer.from('hello through the monitor\n'));
      attached.client.write(Buffer.alloc(200_000, 'z')); // more than a pipe holds: the monitor waits for cat
      attached.client.closeStdin();
    });
    assert.equal(result.code, 0);
    assert.deepEqual(await attached!.client.ended, { exitCode: 0 });
    assert.equal(Buffer.concat(attached!.out).toString(), `hello through the monitor\n${'z'.repeat(200_000)}`);
  });

  test('input for a stdin the container closed is dropped without harm to the monitor (EPIPE, no SIGPIPE)', async () => {
    const sock = fresh('attach.sock');
    let attached: Awaited<ReturnType<typeof attachClient>> | undefined;
    const script = 'read first; exec 0<&-; echo "read $first"; sleep 0.5; echo survived';
    const result = await run(ioPlan(['/bin/sh', '-c', script], { stdin: true, attach: sock }), async (m) => {
      if (m.type !== 'pid') return;
      attached = await attachClient(sock);
      attached.client.write(Buffer.from('one\n'));
      await waitFor(() => Buffer.concat(attached!.out).toString().includes('read one'), 'the first line read');
      attached.client.write(Buffer.alloc(300_000, 'x')); // nobody reads: the pipe's reader is gone
    });
    assert.equal(result.code, 0);
    assert.deepEqual(await attached!.client.ended, { exitCode: 0 });
    assert.equal(Buffer.concat(attached!.out).toString(), 'read one\nsurvived\n');
  });

  test('with CONSOLE_PAIR the pty is the stream: input, resize and output through the socket', async () => {
    const sock = fresh('attach.sock');
    const log = fresh('log');
    let attached: Awaited<ReturnType<typeof attachClient>> | undefined;
    const script = 'read line; stty size; echo "got $line"';
    const result = await run(ioPlan(['/bin/sh', '-c', script], { tty: true, attach: sock, log: { path: log } }), async (m) => {
      if (m.type !== 'pid') return;
      attached = await attachClient(sock);
      attached.client.resize(33, 111);
      attached.client.write(Buffer.from('typed\r'));
    });
    assert.equal(result.code, 0);
    assert.ok(result.messages.some((m) => m.type === 'console-ready'));
    assert.deepEqual(await attached!.client.ended, { exitCode: 0 });
    const out = Buffer.concat(attached!.out).toString();
    assert.match(out, /33 111\r\n/);
    assert.match(out, /got typed\r\n/);
    assert.deepEqual(attached!.err, [], 'a tty has one stream');
    const logged = (await entries(log)).map((e) => e.log).join('');
    assert.match(logged, /got typed\r\n/);
  });

  test('a client that does not read is dropped; the container never waits and the log has it all', async () => {
    const sock = fresh('attach.sock');
    const log = fresh('log');
    const bytes = 24_000_000; // well beyond the 4 MiB of socket buffer a client gets
    let stalled: ReturnType<typeof connect> | undefined;
    let fast: Awaited<ReturnType<typeof attachClient>> | undefined;
    const started = Date.now();
    const result = await run(ioPlan(['/bin/sh', '-c', `sleep 0.3; head -c ${bytes} /dev/zero | tr "\\0" a; echo`], { attach: sock, log: { path: log } }), async (m) => {
      if (m.type !== 'pid') return;
      stalled = connect(sock);
      await new Promise((r) => stalled!.once('connect', r));
      stalled.pause();
      fast = await attachClient(sock);
    });
    assert.equal(result.code, 0);
    assert.ok(Date.now() - started < 20_000);
    // the stalled client got a prefix and then EOF, without an exit frame
    const received: Buffer[] = [];
    stalled!.on('data', (d: Buffer) => received.push(d));
    stalled!.resume();
    await new Promise((r) => stalled!.once('close', r));
    const got = Buffer.concat(received);
    assert.ok(got.length < bytes, `stalled client got ${got.length} bytes`);
    assert.ok(!got.includes(encodeFrame(3, Buffer.from([0, 0, 0, 0]))));
    assert.deepEqual(await fast!.client.ended, { exitCode: 0 });
    const logged = (await entries(log)).map((e) => e.log).join('');
    assert.equal(logged.length, bytes + 1);
  });

  test('after a second without output the monitor gives its buffer pages back', async () => {
    const log = fresh('log');
    const anonymous = (pid: number): number => Number(/^Anonymous:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))![1]);
    let busy = 0;
    let idle = 0;
    const script = 'head -c 40000 /dev/zero | tr "\\0" y; echo; sleep 2.5';
    const result = await run(ioPlan(['/bin/sh', '-c', script], { log: { path: log } }), async (m) => {
      if (m.type !== 'pid') return;
      const monitor = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${m.pid}/status`, 'utf8'))![1]);
      await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('\\n"'), 'the logged line');
      busy = anonymous(monitor);
      await new Promise((r) => setTimeout(r, 1600));
      idle = anonymous(monitor);
    });
    assert.equal(result.code, 0);
    assert.ok(busy - idle >= 16, `anonymous memory ${busy} kB busy, ${idle} kB idle`);
  });

  for (const daemonize of [false, true]) {
    test(`the monitor outlives its spawner and the daemon${daemonize ? ' (DAEMONIZE)' : ''}: it logs, writes the exit file, takes a new client`, async () => {
      const intermediate = join(tmp, 'spawn-and-exit.sh');
      writeFileSync(intermediate, '#!/bin/sh\n"$BERTH_TEST_SHIM" &\nexit 0\n', { mode: 0o755 });
      const log = fresh('log');
      const exitFile = fresh('exit.json');
      const sock = fresh('attach.sock');
      const script = 'for i in 1 2 3 4 5 6; do echo tick $i; sleep 0.2; done; exit 4';
      const plan = ioPlan(['/bin/sh', '-c', script], { log: { path: log }, exitFile, attach: sock, daemonize });
      const conn = await ShimConnection.start(plan, {
        shimPath: intermediate,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, BERTH_TEST_SHIM: shimPath() },
      });
      let pid = 0;
      try {
        assert.deepEqual(await conn.exited, { code: 0, signal: null }, 'the intermediate is gone');
        const first = await conn.next();
        assert.ok(first?.type === 'pid');
        pid = first.pid;
      } finally {
        // the daemon dies too: its end of fd 3 and the shim's stdout/stderr pipes close
        conn.child.stdout?.destroy();
        conn.child.stderr?.destroy();
        conn.close();
      }
      const monitor = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      assert.notEqual(monitor, process.pid);
      await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes('tick 2'), 'output logged while no one listens');
      // the daemon is back: it attaches again and gets the rest and the exit status
      const again = await attachClient(sock);
      assert.deepEqual(await again.client.ended, { exitCode: 4 });
      assert.match(Buffer.concat(again.out).toString(), /tick 6\n$/);
      const report = JSON.parse(readFileSync(exitFile, 'utf8')) as { exitCode: number };
      assert.equal(report.exitCode, 4);
      assert.deepEqual(
        (await entries(log)).map((e) => e.log),
        [1, 2, 3, 4, 5, 6].map((i) => `tick ${i}\n`),
      );
      await waitFor(() => !existsSync(`/proc/${monitor}/status`) || /State:\s+Z/.test(readFileSync(`/proc/${monitor}/status`, 'utf8')), 'the monitor to exit');
    });
  }

  test('the plan is refused when the pipes would have no reader or a sink no pipes', async () => {
    const bad: Array<[Plan, RegExp]> = [
      [[step('STDIO_PIPES', 0), step('CLONE', 0), step('EXIT'), step('CHILD'), step('EXEC', '', 1, '/bin/true')], /needs WAIT/],
      [[step('LOG_FILE', fresh('log'), 0, 1), step('STDIO_PIPES', 0), step('CLONE', 0), step('WAIT', '', 0), step('CHILD'), step('EXEC', '', 1, '/bin/true')], /needs STDIO_PIPES before it/],
    ];
    for (const [plan, detail] of bad) {
      const result = await run(plan);
      assert.equal(result.code, 125);
      const error = result.messages[0];
      assert.ok(error?.type === 'error' && error.step === 'plan', JSON.stringify(result.messages));
      assert.match(error.detail, detail);
    }
  });
});
