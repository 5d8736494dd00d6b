/**
 * A data root that cannot take a container's writes. An exit record the shim cannot write (the
 * container's directory made immutable) still reaches the daemon from the shim's exit message.
 * A container that fills the disk with its own log still has its exit recorded (the shim reserves
 * the record's room when it starts); `docker wait` and `docker rm -f` return, the daemon keeps
 * answering and refuses new work with the disk's error, and once the log is gone everything works
 * again. The data root is a small tmpfs this test mounts over the daemon's (with the busybox
 * fixture copied in) and unmounts at the end.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { TestDaemon, leftoverCgroups, mountsUnder, until } from './helpers.ts';

const run = promisify(execFile);
const skip = process.getuid?.() !== 0 ? 'needs root (mounts a tmpfs)' : false;
/** busybox, its layer and the daemon's own files take ~5 MB: the rest is for the log */
const SIZE = '24m';
// ~40 MB of log lines, more than there is room for
const FLOOD = 'i=0; while [ $i -lt 400000 ]; do echo "line $i ................................................................"; i=$((i+1)); done';

let d: TestDaemon;
let mounted = false;
const created = new Set<string>();

async function freeBytes(): Promise<number> {
  const s = await statfs(d.root);
  return s.bavail * s.bsize;
}

describe('a data root that cannot take a container\'s writes', { skip }, () => {
  before(async () => {
    d = await TestDaemon.create();
    await run('mv', [d.root, `${d.root}.disk`]);
    await run('mkdir', [d.root]);
    await run('mount', ['-t', 'tmpfs', '-o', `size=${SIZE},mode=0711`, 'berth-full-disk', d.root]);
    mounted = true;
    await run('cp', ['-a', `${d.root}.disk/.`, d.root]);
    await d.start();
  });

  after(async () => {
    try {
      for (const id of await d.containerIds().catch(() => [])) await d.docker('rm', '-f', id);
      await d.stop();
      assert.deepEqual([...created].flatMap(leftoverCgroups), [], 'cgroups left behind');
      const inside = (await mountsUnder(d.root)).filter((m) => m !== d.root);
      assert.deepEqual(inside, [], 'mounts left behind');
    } finally {
      if (mounted) await run('umount', [d.root]);
      await d.cleanup();
    }
  });

  it('an exit whose record the shim cannot write still reaches the daemon, from its exit message', async () => {
    const r = await d.docker('run', '-d', '--name', 'sealed', 'busybox', 'sh', '-c', 'sleep 1; exit 4');
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    created.add(id);
    // nothing can be renamed into the container's directory: not the exit record either
    const dir = join(d.root, 'containers', id);
    await run('chattr', ['+i', dir]);
    try {
      const wait = await d.docker('wait', 'sealed');
      assert.equal(wait.stdout.trim(), '4', wait.stderr);
      assert.equal(existsSync(join(dir, 'exit.json')), false, 'the record really was not written');
      const state = JSON.parse((await d.docker('inspect', '--format', '{{json .State}}', 'sealed')).stdout) as { Status: string; ExitCode: number; Error: string };
      assert.deepEqual([state.Status, state.ExitCode], ['exited', 4]);
      assert.match(state.Error, /rename/);
    } finally {
      await run('chattr', ['-i', dir]);
    }
    assert.equal((await d.docker('rm', 'sealed')).code, 0);
  });

  it('records the exit of the container that filled it, and the daemon goes on', async () => {
    const r = await d.docker('run', '-d', '--name', 'flood', 'busybox', 'sh', '-c', `${FLOOD}; exit 3`);
    assert.equal(r.code, 0, r.stderr);
    created.add(r.stdout.trim());
    const wait = await d.docker('wait', 'flood');
    assert.equal(wait.stdout.trim(), '3', wait.stderr);
    assert.ok((await freeBytes()) < 64 * 1024, 'the log filled the disk');
    const state = JSON.parse((await d.docker('inspect', '--format', '{{json .State}}', 'flood')).stdout) as { Status: string; ExitCode: number };
    assert.deepEqual([state.Status, state.ExitCode], ['exited', 3]);

    // a full disk is an error that names it, and the daemon keeps serving
    const refused = await d.docker('create', 'busybox', 'true');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Error response from daemon: .*no space left on device/);
    assert.equal((await d.docker('ps', '-a', '--format', '{{.Names}}')).stdout.trim(), 'flood');
  });

  it('kills and removes a running container on the full disk, and works again once there is room', async () => {
    assert.equal((await d.docker('rm', 'flood')).code, 0);
    const r = await d.docker('run', '-d', '--name', 'stuck', 'busybox', 'sh', '-c', `${FLOOD}; sleep 600`);
    assert.equal(r.code, 0, r.stderr);
    created.add(r.stdout.trim());
    await until('the disk is full', async () => (await freeBytes()) < 64 * 1024);
    const rm = await d.docker('rm', '-f', 'stuck');
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(await d.containerIds(), []);
    const ok = await d.docker('run', '--rm', 'busybox', 'echo', 'room again');
    assert.equal(ok.stdout, 'room again\n', ok.stderr);
  });
});
