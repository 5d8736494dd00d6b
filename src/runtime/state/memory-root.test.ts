/**
 * keepStateInMemory on this host's filesystems, as root: a tmpfs mounted through the serving
 * shim (mountOnHost) on an empty disk directory, nothing on one that holds state or that is
 * memory-backed already. Whatever is mounted is unmounted, and every directory removed.
 */

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { mountOnHost, releaseStandingShims, unmountOnHost } from '../host-mount.ts';
import { keepStateInMemory } from './memory-root.ts';

const TMPFS_MAGIC = 0x01021994;
const DISK_MAGICS = new Set([0xef53 /* ext2/3/4 */, 0x58465342 /* xfs */, 0x9123683e /* btrfs */]);

const isRoot = process.getuid?.() === 0;
const onDisk = DISK_MAGICS.has(Number(statfsSync(tmpdir()).type));

/** The mountinfo lines whose mount point is `path` (stacked mounts are one line each). */
function mountsOn(path: string): string[][] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((fields) => fields[4] === path);
}

describe('keepStateInMemory', { skip: isRoot ? false : 'needs root' }, () => {
  const dirs: string[] = [];
  const scratch = (where = tmpdir()): string => {
    const dir = mkdtempSync(join(where, 'berth-memory-root-'));
    dirs.push(dir);
    return dir;
  };

  after(async () => {
    for (const dir of dirs) {
      for (let n = mountsOn(join(dir, 'state')).length; n > 0; n--) await unmountOnHost(join(dir, 'state'));
      rmSync(dir, { recursive: true, force: true });
    }
    await releaseStandingShims();
  });

  test('an empty state root on a disk gets a tmpfs of its own, once', { skip: onDisk ? false : `${tmpdir()} is not on a disk filesystem` }, async () => {
    const root = join(scratch(), 'state');
    assert.equal(await keepStateInMemory(root, mountOnHost), 'mounted');
    assert.equal(Number(statfsSync(root).type), TMPFS_MAGIC);
    const mounts = mountsOn(root);
    assert.equal(mounts.length, 1);
    assert.deepEqual(mounts[0]!.slice(-3, -1), ['tmpfs', 'berth-state']);
    for (const option of ['nosuid', 'nodev', 'noexec']) assert.ok(mounts[0]![5]!.split(',').includes(option), `${option} in ${mounts[0]![5]}`);
    assert.equal(statSync(root).mode & 0o777, 0o711);

    // a daemon started again finds it in memory: nothing stacked on it
    writeFileSync(join(root, 'container'), '');
    assert.equal(await keepStateInMemory(root, mountOnHost), 'memory');
    assert.equal(mountsOn(root).length, 1);

    await unmountOnHost(root);
    assert.equal(mountsOn(root).length, 0);
    assert.notEqual(Number(statfsSync(root).type), TMPFS_MAGIC);
  });

  test('a state root on a disk that holds state already stays where it is', { skip: onDisk ? false : `${tmpdir()} is not on a disk filesystem` }, async () => {
    const root = join(scratch(), 'state');
    mkdirSync(root);
    writeFileSync(join(root, 'state.json'), '{}');
    assert.equal(await keepStateInMemory(root, mountOnHost), 'disk');
    assert.equal(mountsOn(root).length, 0, 'a mount would hide the containers recorded there');
    assert.equal(readFileSync(join(root, 'state.json'), 'utf8'), '{}');
  });

  test('a state root on a tmpfs already is left alone', async () => {
    const root = join(scratch('/dev/shm'), 'state');
    assert.equal(await keepStateInMemory(root, mountOnHost), 'memory');
    assert.equal(mountsOn(root).length, 0);
  });
});
