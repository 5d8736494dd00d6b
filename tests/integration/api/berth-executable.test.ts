/**
 * `berth` as users get it: dist/berth, the Bun executable when the build made one (else the
 * Node bundle). Its engine client runs on Bun's own sockets and Bun's process streams, which
 * the tsx-run tests (berth-cli.test.ts) never touch: output, stdin, exit codes, a slow reader
 * of a tar on stdout, back-to-back short runs, and the error when no daemon answers.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon, REPO, cliEnv as env } from './helpers.ts';

const EXECUTABLE = join(REPO, 'dist', 'berth');

let d: TestDaemon;

interface Result {
  code: number;
  stdout: Buffer;
  stderr: string;
}


/** Runs dist/berth to the end; `pipeTo` is a shell command its stdout goes through first. */
function berth(args: readonly string[], options: { stdin?: Buffer | string; host?: string; pipeTo?: string } = {}): Promise<Result> {
  const argv = [EXECUTABLE, '-H', options.host ?? `unix://${d.socket}`, ...args];
  const [file, fileArgs] = options.pipeTo === undefined ? [argv[0]!, argv.slice(1)] : ['bash', ['-o', 'pipefail', '-c', `${argv.map((a) => `'${a}'`).join(' ')} | ${options.pipeTo}`]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, fileArgs, { env: env(), cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.end(options.stdin);
    const timer = setTimeout(() => child.kill('SIGTERM'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, stdout: Buffer.concat(out), stderr });
    });
  });
}

describe('dist/berth, the executable', { skip: existsSync(EXECUTABLE) ? false : 'dist/berth not built (node scripts/build.mjs)' }, () => {
  before(async () => {
    d = await TestDaemon.create();
    await d.start();
  });

  after(async () => {
    await d.docker('rm', '-f', 'exe-cp').catch(() => undefined);
    await d.cleanup();
  });

  test('run --rm: the output on its streams and the exit code of the container', async () => {
    const r = await berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.stdout.toString(), 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(r.code, 3);
  });

  test('every one of many short runs prints its output', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await berth(['run', '--rm', 'busybox', 'echo', `run ${i}`]);
      assert.equal(r.stdout.toString(), `run ${i}\n`, `run ${i}: ${r.stderr}`);
      assert.equal(r.code, 0);
    }
  });

  test('run -i whose input ends at once still gets the output of every run', async () => {
    // the container answers and ends while its stdin's end is still on the way: the monitor
    // must not close on that unread input (it reset the daemon's connection, output and all)
    for (let i = 0; i < 20; i++) {
      const r = await berth(['run', '--rm', '-i', 'busybox', 'sh', '-c', 'read line; echo "hi $line"'], { stdin: `there ${i}\n` });
      assert.equal(r.stdout.toString(), `hi there ${i}\n`, `run ${i}: ${r.stderr}`);
      assert.equal(r.code, 0);
    }
  });

  test('run -i passes a megabyte of stdin through unchanged', async () => {
    const input = randomBytes(1 << 20);
    const r = await berth(['run', '--rm', '-i', 'busybox', 'sha256sum'], { stdin: input });
    assert.equal(r.stdout.toString().split(' ')[0], createHash('sha256').update(input).digest('hex'));
    assert.equal(r.code, 0);
  });

  test('cp to stdout reaches a slow reader whole', async () => {
    assert.equal((await berth(['run', '-d', '--name', 'exe-cp', 'busybox', 'sh', '-c', 'head -c 3145728 /dev/urandom > /big; sleep 60'])).code, 0);
    let size = '';
    for (let i = 0; i < 50 && size !== '3145728\n'; i++) {
      size = (await berth(['exec', 'exe-cp', 'stat', '-c', '%s', '/big'])).stdout.toString();
      if (size !== '3145728\n') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(size, '3145728\n');
    const r = await berth(['cp', 'exe-cp:/big', '-'], { pipeTo: '(sleep 1; wc -c)' });
    assert.equal(r.code, 0, r.stderr);
    // the file and a tar header, padded to tar's 512-byte records
    assert.ok(Number(r.stdout.toString()) >= 3145728 + 512, `tar of ${r.stdout.toString().trim()} bytes`);
  });

  test('ps and version answer from the daemon', async () => {
    assert.equal((await berth(['ps', '-q'])).code, 0);
    const version = await berth(['version', '--format', '{{.Server.Os}}']);
    assert.equal(version.stdout.toString(), 'linux\n');
  });

  test('no daemon at the socket: docker\'s error and exit code', async () => {
    const r = await berth(['ps'], { host: `unix://${join(d.root, 'no-such.sock')}` });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: Cannot connect to the Berth daemon at unix:\/\/.*no-such\.sock\. Is the berth daemon running\?\n$/);
  });
});
