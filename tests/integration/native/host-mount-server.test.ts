/**
 * The daemon's host mounts go to one shim that stays (SERVE): a mount and an unmount are
 * messages to it; a failed plan reports its error and ends that shim, and the next mount
 * starts another; releasing the standing shims reaps it.
 */

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { mountOnHost, releaseStandingShims, unmountOnHost } from '../../../src/runtime/index.ts';
import { isMountPoint } from '../../../src/util/mountinfo.ts';

/** Our children: the test spawns nothing but shims. */
async function childShims(): Promise<number[]> {
  const text = await readFile(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8');
  return text.split(' ').filter(Boolean).map(Number);
}

test('one serving shim mounts and unmounts, is replaced after a failure, and is reaped on release', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-host-mount-'));
  const target = join(dir, 'a');
  const other = join(dir, 'b');
  await mkdir(target);
  await mkdir(other);
  try {
    await mountOnHost({ type: 'tmpfs', source: 'berth-test', options: ['size=1m'] }, target);
    assert.ok(await isMountPoint(target));
    const [server] = await childShims();
    assert.ok(server, 'a serving shim runs');
    await mountOnHost({ type: 'tmpfs', source: 'berth-test', options: ['size=1m'] }, other);
    assert.deepEqual(await childShims(), [server], 'the second mount went to the same shim');
    await unmountOnHost(other);
    await unmountOnHost(target);
    assert.equal(await isMountPoint(target), false);
    assert.equal(await isMountPoint(other), false);

    // killed from outside: the next mount gets another shim
    process.kill(server, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await mountOnHost({ type: 'tmpfs', source: 'berth-test', options: ['size=1m'] }, target);
    assert.ok(await isMountPoint(target), 'a mount after the shim was killed');
    await unmountOnHost(target);

    await assert.rejects(unmountOnHost(target), /umount .*: EINVAL|umount/);
    await mountOnHost({ type: 'tmpfs', source: 'berth-test', options: ['size=1m'] }, target);
    assert.ok(await isMountPoint(target), 'a mount after a failure starts another shim');
    await unmountOnHost(target);
  } finally {
    await releaseStandingShims();
    for (const t of [target, other]) if (await isMountPoint(t)) await unmountOnHost(t, { lazy: true }).catch(() => {});
    await releaseStandingShims();
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(await childShims(), [], 'no shim is left, running or unreaped');
});
