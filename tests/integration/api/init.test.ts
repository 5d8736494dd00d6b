/**
 * `--init` (issue 4): berth-init as the container's PID 1, mounted read-only at
 * /sbin/docker-init; signals reach the command, orphans are reaped, the exit status is the
 * command's. Through the docker CLI and berth against a berthd of our own; runs as root.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO, TestDaemon } from './helpers.ts';

const run = promisify(execFile);
const INIT = join(REPO, 'native/build/berth-init');

let d: TestDaemon;
const created = new Set<string>();

async function idOf(name: string): Promise<string> {
  const r = await d.docker('inspect', '-f', '{{.Id}}', name);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  created.add(id);
  return id;
}

before(async () => {
  // the test daemon finds the init beside the shim it is given (native/build)
  await run('make', ['-C', join(REPO, 'native'), '--no-print-directory']);
  d = await TestDaemon.create();
  await d.start();
});

after(async () => {
  await d.removeAllAndCheck(created);
});

describe('docker run --init', () => {
  it('runs the command under the init as PID 1, on a read-only mount', async () => {
    const before = await readFile(INIT);
    const r = await d.docker('run', '--name', 'init-pid1', '--init', 'busybox', 'sh', '-c', [
      "tr '\\0' ' ' < /proc/1/cmdline; echo",
      "echo \"sh is $$, parent $PPID\"",
      "grep ' /sbin/docker-init ' /proc/self/mountinfo | cut -d' ' -f6 | tr , '\\n' | grep -x ro",
      'cp /bin/busybox /sbin/docker-init 2>/dev/null && echo overwritten',
      'echo x 2>/dev/null >> /proc/1/exe && echo appended',
      'true',
    ].join('; '));
    await idOf('init-pid1');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^\/sbin\/docker-init -- sh -c /);
    assert.match(lines[1]!, /^sh is \d+, parent 1$/);
    assert.equal(lines[2], 'ro');
    assert.doesNotMatch(r.stdout, /^(overwritten|appended)$/m);
    assert.deepEqual(await readFile(INIT), before, 'the host binary is unchanged');
    assert.equal((await d.docker('inspect', '-f', '{{.HostConfig.Init}} {{.Path}}', 'init-pid1')).stdout, 'true sh\n');
  });

  it('forwards a signal sent to PID 1 and exits with the command\'s 128+signal', async () => {
    const r = await d.docker('run', '--name', 'init-term', '--init', 'busybox', 'sh', '-c', 'sleep 100 & sleep 100 & kill -TERM 1; wait');
    await idOf('init-term');
    assert.equal(r.code, 143, r.stderr);
    const trapped = await d.docker('run', '--name', 'init-usr1', '--init', 'busybox', 'sh', '-c', 'trap "echo got USR1; exit 5" USR1; kill -USR1 1; while :; do sleep 1; done');
    await idOf('init-usr1');
    assert.equal(trapped.code, 5, trapped.stderr);
    assert.equal(trapped.stdout, 'got USR1\n');
  });

  it('reaps orphans that end while their parent is gone', async () => {
    // the subshell exits at once; its `sleep 1` is re-parented to PID 1 and ends a second later
    const r = await d.docker('run', '--name', 'init-reap', '--init', 'busybox', 'sh', '-c', [
      '(sleep 1 &)',
      'sleep 0.3',
      'for s in /proc/[0-9]*/stat; do read -r line < $s && echo "$line"; done | grep "(sleep)" | cut -d" " -f3,4',
      'sleep 2',
      'for s in /proc/[0-9]*/stat; do read -r line < $s && echo "$line"; done | cut -d" " -f2,3',
    ].join('; '));
    await idOf('init-reap');
    assert.equal(r.code, 0, r.stderr);
    const [orphan, ...after] = r.stdout.trim().split('\n');
    assert.equal(orphan, 'S 1', 'the orphan was re-parented to the init');
    assert.ok(after.length >= 2, r.stdout);
    assert.deepEqual(after.filter((line) => / Z$/.test(line)), [], `no zombie left: ${r.stdout}`);
  });

  it('docker stop ends the command with the forwarded SIGTERM (143), not the timeout\'s SIGKILL', async () => {
    const started = await d.docker('run', '-d', '--name', 'init-stop', '--init', 'busybox', 'sleep', '1000');
    assert.equal(started.code, 0, started.stderr);
    await idOf('init-stop');
    // a plain `sleep` as PID 1 ignores SIGTERM and would only die at the timeout, with 137
    const stop = await d.docker('stop', '-t', '60', 'init-stop');
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal((await d.docker('inspect', '-f', '{{.State.ExitCode}}', 'init-stop')).stdout, '143\n');
    const bare = await d.docker('run', '-d', '--name', 'noinit-stop', 'busybox', 'sleep', '1000');
    await idOf('noinit-stop');
    assert.equal(bare.code, 0, bare.stderr);
    await d.docker('stop', '-t', '1', 'noinit-stop');
    assert.equal((await d.docker('inspect', '-f', '{{.State.ExitCode}}', 'noinit-stop')).stdout, '137\n');
  });

  it('a command that is not there is the init\'s 127 with its message', async () => {
    // checked by the daemon before the init runs, as without --init
    const r = await d.docker('run', '--name', 'init-missing', '--init', 'busybox', 'no-such-command');
    await idOf('init-missing');
    assert.equal(r.code, 127, r.stderr);
    assert.match(r.stderr, /executable file not found/);
  });
});
