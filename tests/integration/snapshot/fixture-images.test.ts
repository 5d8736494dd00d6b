/**
 * The project's real test images (scripts/fixtures/images.sh, under $BERTH_FIXTURES): the
 * hand-made whiteout image must merge exactly as umoci and podman merged it at build time, and
 * nginx loaded from both archive kinds must unpack once, sharing its debian base. Skipped when
 * the fixtures have not been built.
 */

import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ImageConfig, Manifest } from '../../../src/oci/image-spec.ts';
import { loadArchive } from '../../../src/image/archive/index.ts';
import type { LoadedImage } from '../../../src/image/archive/index.ts';
import { unpackImage } from '../../../src/image/unpack/index.ts';
import { OverlaySnapshotter, mountAll, unmount } from '../../../src/snapshot/index.ts';
import { DirBlobStore, isRoot, mountsUnder, removeTree } from './helpers.ts';

const fixtures = process.env.BERTH_FIXTURES ?? '/var/tmp/berth-fixtures';
const haveFixtures = existsSync(join(fixtures, 'oci/whiteout/index.json')) && existsSync(join(fixtures, 'archives/nginx.oci.tar'));

let base: string;
let store: DirBlobStore;
let snapshotter: OverlaySnapshotter;

/** An OCI layout directory as the tar stream `docker load` would get. */
async function loadLayoutDir(dir: string): Promise<LoadedImage[]> {
  const child = spawn('tar', ['-C', dir, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const closed = new Promise((resolve) => child.on('close', resolve));
  const images = await loadArchive(child.stdout, store);
  const code = await closed;
  assert.equal(code, 0);
  return images;
}

async function withImage<T>(image: LoadedImage, key: string, fn: (root: string) => Promise<T>): Promise<{ top: string; result: T }> {
  const manifest = JSON.parse((await store.read(image.manifest.digest)).toString()) as Manifest;
  const config = JSON.parse((await store.read(manifest.config.digest)).toString()) as ImageConfig;
  const top = await unpackImage(snapshotter, { manifest, config }, store);
  const target = join(base, `mnt-${key}`);
  await mkdir(target);
  await mountAll(await snapshotter.view(key, top), target);
  try {
    return { top, result: await fn(target) };
  } finally {
    await unmount(target);
    await snapshotter.remove(key);
  }
}

/** Checks one line of whiteout.expected.txt against the merged tree. */
async function check(root: string, line: string): Promise<void> {
  const [kind, ...rest] = line.split(' ');
  const path = (p: string): string => join(root, p);
  if (kind === 'absent') return assert.equal(existsSync(path(rest[0]!)), false, `${rest[0]} should be absent`);
  if (kind === 'hardlink') return assert.equal((await lstat(path(rest[0]!))).ino, (await lstat(path(rest[1]!))).ino, line);
  if (kind === 'l') {
    const [owner, name, , target] = rest;
    const st = await lstat(path(name!));
    assert.equal(`${st.uid}:${st.gid}`, owner, line);
    return assert.equal(await readlink(path(name!)), target, line);
  }
  const [mode, owner, name] = rest;
  const st = await lstat(path(name!));
  assert.equal((st.mode & 0o7777).toString(8).padStart(4, '0'), mode, line);
  assert.equal(`${st.uid}:${st.gid}`, owner, line);
  if (kind === 'd') return assert.ok(st.isDirectory(), line);
  assert.ok(st.isFile(), line);
  assert.equal((await readFile(path(name!), 'utf8')).trimEnd(), rest.slice(4).join(' '), line);
}

describe('fixture images', { skip: (!isRoot && 'needs root') || (!haveFixtures && `no fixtures in ${fixtures} (scripts/fixtures/images.sh)`) }, () => {
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-fixture-images-'));
    store = new DirBlobStore(join(base, 'blobs'));
    snapshotter = await OverlaySnapshotter.open(join(base, 'snapshots'));
  });
  after(async () => {
    for (const target of (await mountsUnder(base)).reverse()) await unmount(target, { lazy: true });
    assert.deepEqual(await mountsUnder(base), []);
    await removeTree(base);
  });

  it('merges the whiteout image exactly as expected', async () => {
    const [image] = await loadLayoutDir(join(fixtures, 'oci/whiteout'));
    const expected = (await readFile(join(fixtures, 'oci/whiteout.expected.txt'), 'utf8')).split('\n').filter(Boolean);
    await withImage(image!, 'whiteout', async (root) => {
      for (const line of expected) await check(root, line);
    });
  });

  it('unpacks nginx from both archive kinds once, sharing the debian base', async () => {
    const images = JSON.parse(await readFile(join(fixtures, 'oci/images.json'), 'utf8')) as { name: string; tag: string; digest: string }[];
    const fromOci = await loadArchive(createReadStream(join(fixtures, 'archives/nginx.oci.tar')), store);
    assert.equal(fromOci[0]!.manifest.digest, images.find((i) => i.name === 'nginx' && i.tag === 'latest')?.digest);
    assert.equal(fromOci[0]!.name, 'docker.io/library/nginx:latest');
    const fromDocker = await loadArchive(createReadStream(join(fixtures, 'archives/nginx.docker.tar')), store);
    assert.equal(fromDocker[0]!.name, 'docker.io/library/nginx:latest');

    const first = await withImage(fromOci[0]!, 'nginx-oci', async (root) => {
      assert.ok((await lstat(join(root, 'usr/sbin/nginx'))).isFile());
      assert.equal(existsSync(join(root, 'var/lib/apt/lists/lock')), false);
      assert.ok((await lstat(join(root, 'bin'))).isSymbolicLink()); // merged /usr
    });
    let count = 0;
    await snapshotter.walk(() => void count++);
    const second = await withImage(fromDocker[0]!, 'nginx-docker', async (root) => assert.ok((await lstat(join(root, 'usr/sbin/nginx'))).isFile()));
    assert.equal(second.top, first.top);
    let after = 0;
    await snapshotter.walk(() => void after++);
    assert.equal(after, count);
  });
});
