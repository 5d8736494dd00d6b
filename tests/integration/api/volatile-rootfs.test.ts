/**
 * A `--rm` container's writable layer goes with it, so its rootfs overlay is mounted volatile
 * (no sync of the upper layer); any other container's is not. Read from the kernel's own view,
 * /proc/self/mountinfo (the daemon mounts in this mount namespace). Also, on a snapshotter of
 * its own, that a layer once mounted volatile mounts again through volatileOverlay (the kernel
 * refuses any later mount while its marker is there). Runs as root; leaves no containers,
 * mounts or cgroups behind.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OverlaySnapshotter, mountAll, unmount, volatileOverlay, type Mount } from '../../../src/snapshot/index.ts';
import { TestDaemon, mountsUnder, until } from './helpers.ts';

let d: TestDaemon;
const created = new Set<string>();

before(async () => {
  d = await TestDaemon.create();
  await d.start();
});

after(() => d.removeAllAndCheck(created));

async function runDetached(...args: string[]): Promise<string> {
  const r = await d.docker('run', '-d', ...args);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  created.add(id);
  return id;
}

function rootfsOf(id: string): string {
  return join(d.root, 'containers', id, 'rootfs');
}

interface MountEntry {
  fstype: string;
  superOptions: string[];
}

/** The mount on `point` as the kernel reports it, or undefined. */
async function mountAt(point: string): Promise<MountEntry | undefined> {
  for (const line of (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')) {
    const fields = line.split(' ');
    if (fields[4] !== point) continue;
    // after the optional fields: "-", fstype, source, super options
    const dash = fields.indexOf('-', 6);
    return { fstype: fields[dash + 1]!, superOptions: (fields[dash + 3] ?? '').split(',') };
  }
  return undefined;
}

function option(entry: MountEntry, key: string): string | undefined {
  return entry.superOptions.find((o) => o.startsWith(`${key}=`))?.slice(key.length + 1);
}

/** Kernels with the fsync= option (6.12+) show `volatile` as `fsync=volatile`. */
function isVolatile(entry: MountEntry): boolean {
  return entry.superOptions.includes('volatile') || option(entry, 'fsync') === 'volatile';
}


describe('volatile rootfs of --rm containers', () => {
  it('mounts a --rm container volatile, and removes the container, its mount and its layer when it exits', async () => {
    const id = await runDetached('--rm', 'busybox', 'sleep', '300');
    const mount = await mountAt(rootfsOf(id));
    assert.ok(mount, `a mount on ${rootfsOf(id)}`);
    assert.equal(mount.fstype, 'overlay');
    assert.ok(isVolatile(mount), `volatile in ${mount.superOptions.join(',')}`);
    const upper = option(mount, 'upperdir') ?? '';
    const workdir = option(mount, 'workdir') ?? '';
    assert.ok(upper.startsWith(`${d.root}/`) && workdir.startsWith(`${d.root}/`), 'the layer is under the data root');
    // the kernel's marker sits where volatileOverlay clears it before a second mount
    assert.ok(existsSync(join(workdir, 'work', 'incompat', 'volatile')), 'overlayfs marked the work dir volatile');

    // the layer works as usual: a write and a sync inside succeed
    const exec = await d.docker('exec', id, 'sh', '-c', 'echo written > /f && sync && cat /f');
    assert.equal(exec.code, 0, exec.stderr);
    assert.equal(exec.stdout, 'written\n');

    const kill = await d.docker('kill', id);
    assert.equal(kill.code, 0, kill.stderr);
    await until('the --rm container to be removed', async () => !(await d.containerIds()).includes(id));
    // both finish in the background of the removal (the unmount waits for the kernel)
    await until('the rootfs to be unmounted', async () => (await mountAt(rootfsOf(id))) === undefined);
    await until('the container directory to go', async () => !existsSync(join(d.root, 'containers', id)));
    await until('the writable layer to be removed', async () => !existsSync(upper));
  });

  it('mounts a container without --rm with the ordinary, synced overlay', async () => {
    const id = await runDetached('busybox', 'sleep', '300');
    const mount = await mountAt(rootfsOf(id));
    assert.ok(mount, `a mount on ${rootfsOf(id)}`);
    assert.equal(mount.fstype, 'overlay');
    assert.equal(isVolatile(mount), false, mount.superOptions.join(','));
    const workdir = option(mount, 'workdir');
    assert.ok(workdir);
    assert.equal(existsSync(join(workdir, 'work', 'incompat')), false, 'no volatile marker');

    const rm = await d.docker('rm', '-f', id);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(await mountAt(rootfsOf(id)), undefined, 'the rootfs is unmounted');
    assert.equal((await d.containerIds()).includes(id), false);
  });

  it('runs a foreground --rm container on a volatile layer to completion and removes it', async () => {
    const before = new Set(await d.containerIds());
    // the root mount's line: mount point field "/", then its options up to the super options
    const r = await d.docker('run', '--rm', 'busybox', 'sh', '-c', 'awk \'$5 == "/"\' /proc/self/mountinfo | grep -c volatile; echo x > /y && sync && cat /y');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '1\nx\n', 'the container sees its own root overlay as volatile');
    assert.deepEqual(new Set(await d.containerIds()), before, 'nothing left after docker run --rm returns');
  });
});

describe('volatileOverlay on the kernel', () => {
  let dir: string;
  let target: string;
  let layer: Mount[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-volatile-kernel-'));
    target = join(dir, 'mnt');
    await mkdir(target);
    const snapshotter = await OverlaySnapshotter.open(join(dir, 'snapshots'));
    const [base] = await snapshotter.prepare('base-key');
    await writeFile(join(base!.source, 'from-base'), 'base\n');
    await snapshotter.commit('base', 'base-key');
    layer = await snapshotter.prepare('container', 'base');
  });

  after(async () => {
    const leaked = await mountsUnder(dir);
    for (const point of leaked.reverse()) await unmount(point, { lazy: true }).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    assert.deepEqual(leaked, [], 'mounts left behind');
  });

  async function mounted<T>(mounts: Mount[], fn: () => Promise<T>): Promise<T> {
    await mountAll(mounts, target);
    try {
      return await fn();
    } finally {
      await unmount(target);
    }
  }

  it('mounts a layer volatile again after the kernel marked it, keeping its files', async () => {
    const first = volatileOverlay(layer);
    assert.ok(first);
    await mounted(first, async () => {
      const mount = await mountAt(target);
      assert.ok(mount && isVolatile(mount), mount?.superOptions.join(','));
      await writeFile(join(target, 'written'), 'first mount\n');
    });
    const workdir = first[0]!.options.find((o) => o.startsWith('workdir='))!.slice('workdir='.length);
    assert.ok(existsSync(join(workdir, 'work', 'incompat', 'volatile')), 'the kernel left its marker');

    // what volatileOverlay saves us from: with the marker there, the kernel refuses the mount
    await assert.rejects(mountAll([{ ...layer[0]!, options: [...layer[0]!.options, 'volatile'] }], target));
    assert.equal(await mountAt(target), undefined);

    const second = volatileOverlay(layer);
    assert.ok(second);
    assert.equal(existsSync(join(workdir, 'work', 'incompat')), false, 'the marker is gone before the mount');
    await mounted(second, async () => {
      assert.ok(isVolatile((await mountAt(target))!));
      assert.equal(await readFile(join(target, 'written'), 'utf8'), 'first mount\n');
      assert.equal(await readFile(join(target, 'from-base'), 'utf8'), 'base\n');
    });
  });
});
