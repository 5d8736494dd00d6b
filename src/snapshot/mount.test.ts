/**
 * Overlay option compaction: the rewrite that lets 120+ layer stacks fit the kernel's one-page
 * limit on mount data, and its refusal when even relative paths cannot fit. The volatile form
 * of a container's writable overlay, and the marker it clears so the layer mounts again.
 */

import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactOverlayOptions, volatileOverlay } from './mount.ts';
import type { Mount } from './snapshotter.ts';

describe('compactOverlayOptions', () => {
  it('leaves options that fit alone', () => {
    const options = ['lowerdir=/s/2/fs:/s/1/fs', 'upperdir=/s/3/fs', 'workdir=/s/3/work'];
    assert.deepEqual(compactOverlayOptions(options), { options });
  });

  it('rewrites long stacks relative to the common directory', () => {
    const root = `/var/lib/berth/${'x'.repeat(40)}/snapshots`;
    const lowers = Array.from({ length: 130 }, (_, i) => `${root}/${130 - i}/fs`);
    const options = [`lowerdir=${lowers.join(':')}`, `upperdir=${root}/131/fs`, `workdir=${root}/131/work`, 'volatile'];
    const compact = compactOverlayOptions(options);
    assert.equal(compact.cwd, root);
    assert.equal(compact.options[0]?.startsWith('lowerdir=130/fs:129/fs:'), true);
    assert.deepEqual(compact.options.slice(1), ['upperdir=131/fs', 'workdir=131/work', 'volatile']);
    assert.ok(compact.options.join(',').length < 4096);
  });

  it('refuses stacks that cannot fit even relative', () => {
    const lowers = Array.from({ length: 600 }, (_, i) => `/s/${'a'.repeat(8)}${i}/fs`);
    assert.throws(() => compactOverlayOptions([`lowerdir=${lowers.join(':')}`]), /do not fit in one page/);
  });
});

describe('volatileOverlay', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function snapshotDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'berth-volatile-'));
    dirs.push(dir);
    await mkdir(join(dir, 'fs'));
    await mkdir(join(dir, 'work'));
    return dir;
  }

  function writable(dir: string): Mount {
    return { type: 'overlay', source: 'overlay', options: ['index=off', 'lowerdir=/s/2/fs:/s/1/fs', `upperdir=${dir}/fs`, `workdir=${dir}/work`] };
  }

  it('adds volatile to a single writable overlay and leaves the input alone', async () => {
    const dir = await snapshotDir();
    const mount = writable(dir);
    const original = structuredClone(mount);
    const result = volatileOverlay([mount]);
    assert.deepEqual(result, [{ ...original, options: [...original.options, 'volatile'] }]);
    assert.deepEqual(mount, original, 'the given mount is not changed');
  });

  it('removes the work/incompat marker a volatile mount left in the work dir, and only it', async () => {
    const dir = await snapshotDir();
    // what overlayfs leaves after a volatile mount: <workdir>/work/incompat/volatile
    await mkdir(join(dir, 'work', 'work', 'incompat', 'volatile'), { recursive: true });
    await writeFile(join(dir, 'work', 'work', 'other'), 'kept');
    await writeFile(join(dir, 'fs', 'upper-file'), 'kept');
    assert.ok(volatileOverlay([writable(dir)]));
    assert.equal(existsSync(join(dir, 'work', 'work', 'incompat')), false);
    assert.deepEqual(await readdir(join(dir, 'work', 'work')), ['other']);
    assert.deepEqual(await readdir(join(dir, 'fs')), ['upper-file']);
  });

  it('is fine when there is no marker, no work/work and even no work dir', async () => {
    const dir = await snapshotDir();
    assert.ok(volatileOverlay([writable(dir)]));
    assert.deepEqual(await readdir(join(dir, 'work')), []);
    await rm(join(dir, 'work'), { recursive: true });
    assert.deepEqual(volatileOverlay([writable(dir)])?.[0]?.options.at(-1), 'volatile');
    assert.equal(existsSync(join(dir, 'work')), false, 'nothing is created');
  });

  it('gives undefined for a bind mount (a single-layer snapshot)', async () => {
    const dir = await snapshotDir();
    await mkdir(join(dir, 'work', 'work', 'incompat'), { recursive: true });
    assert.equal(volatileOverlay([{ type: 'bind', source: `${dir}/fs`, options: ['rbind', 'rw'] }]), undefined);
    assert.ok(existsSync(join(dir, 'work', 'work', 'incompat')), 'nothing is removed');
  });

  it('gives undefined for a read-only overlay (no upper or work dir)', () => {
    assert.equal(volatileOverlay([{ type: 'overlay', source: 'overlay', options: ['lowerdir=/s/2/fs:/s/1/fs'] }]), undefined);
  });

  it('gives undefined for no mounts and for several', async () => {
    const dir = await snapshotDir();
    await mkdir(join(dir, 'work', 'work', 'incompat'), { recursive: true });
    assert.equal(volatileOverlay([]), undefined);
    assert.equal(volatileOverlay([writable(dir), { type: 'bind', source: '/tmp', options: ['rbind'] }]), undefined);
    assert.equal(volatileOverlay([writable(dir), writable(dir)]), undefined);
    assert.ok(existsSync(join(dir, 'work', 'work', 'incompat')), 'nothing is removed');
  });
});
