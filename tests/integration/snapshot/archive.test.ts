/**
 * Image archives against the tools that define them: a busybox OCI layout made with umoci,
 * turned into docker-archive and oci-archive by skopeo, loads with the right names and digests
 * and unpacks; what we save loads back with identical digests and is readable by skopeo;
 * `import` of a rootfs tarball makes a runnable one-layer image.
 */

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import type { Descriptor, ImageConfig, Index, Manifest } from '../../../src/oci/image-spec.ts';
import { MediaType } from '../../../src/oci/image-spec.ts';
import { importRootfs, loadArchive, saveArchive } from '../../../src/image/archive/index.ts';
import type { ArchiveFormat, LoadedImage } from '../../../src/image/archive/index.ts';
import { unpackImage } from '../../../src/image/unpack/index.ts';
import { OverlaySnapshotter, mountAll, unmount } from '../../../src/snapshot/index.ts';
import { DirBlobStore, chunks, gzip, isRoot, mountsUnder, removeTree, sha256, tarOf } from './helpers.ts';

let base: string;
let layout: string;
let ociManifest: Descriptor;

async function json<T>(store: DirBlobStore, desc: { digest: Descriptor['digest'] }): Promise<T> {
  return JSON.parse((await store.read(desc.digest)).toString('utf8')) as T;
}

async function load(path: string, store: DirBlobStore): Promise<LoadedImage[]> {
  return loadArchive(createReadStream(path), store);
}

async function save(images: LoadedImage[], store: DirBlobStore, format: ArchiveFormat, path: string): Promise<void> {
  await pipeline(saveArchive(images, store, { format }), createWriteStream(path));
}

/** Unpacks an image and returns the target of /bin/sh and the content of /etc/motd in it. */
async function unpackAndLook(store: DirBlobStore, manifest: Descriptor, name: string): Promise<{ sh: string; busybox: number }> {
  const m = await json<Manifest>(store, manifest);
  const config = await json<ImageConfig>(store, m.config);
  const snapshotter = await OverlaySnapshotter.open(join(base, `snap-${name}`));
  const top = await unpackImage(snapshotter, { manifest: m, config }, store);
  const target = join(base, `mnt-${name}`);
  await mkdir(target);
  await mountAll(await snapshotter.view('look', top), target);
  try {
    const sh = await readlink(join(target, 'bin/sh'));
    const busybox = (await readFile(join(target, 'bin/busybox'))).length;
    return { sh, busybox };
  } finally {
    await unmount(target);
  }
}

describe('image archives', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-archive-'));
    // a busybox image: one layer with the static binary and an applet symlink, made by umoci
    const rootfs = join(base, 'rootfs');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    execFileSync('cp', ['/usr/bin/busybox', join(rootfs, 'bin/busybox')]);
    await symlink('busybox', join(rootfs, 'bin/sh'));
    execFileSync('tar', ['--sort=name', '--mtime=@1747699200', '--numeric-owner', '--format=posix', '-C', rootfs, '-cf', join(base, 'layer.tar'), 'bin']);
    layout = join(base, 'oci');
    execFileSync('umoci', ['init', '--layout', layout]);
    execFileSync('umoci', ['new', '--image', `${layout}:latest`]);
    execFileSync('umoci', ['raw', 'add-layer', '--image', `${layout}:latest`, '--history.created', '2025-05-20T00:00:00Z', join(base, 'layer.tar')]);
    execFileSync('umoci', ['config', '--image', `${layout}:latest`, '--created', '2025-05-20T00:00:00Z', '--config.cmd', 'sh']);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as Index;
    ociManifest = index.manifests[0]!;
  });
  after(async () => {
    for (const target of (await mountsUnder(base)).reverse()) await unmount(target, { lazy: true });
    assert.deepEqual(await mountsUnder(base), []);
    await removeTree(base);
  });

  it("loads skopeo's docker-archive (top-level <diffid>.tar, symlinked layer.tar) and unpacks it", async () => {
    const archive = join(base, 'busybox.docker.tar');
    execFileSync('skopeo', ['copy', '-q', `oci:${layout}:latest`, `docker-archive:${archive}:busybox:latest`]);
    const listing = execFileSync('tar', ['-tvf', archive], { encoding: 'utf8' });
    assert.match(listing, /layer\.tar -> \.\.\/[0-9a-f]{64}\.tar/);
    const store = new DirBlobStore(join(base, 'blobs-docker'));
    const images = await load(archive, store);
    assert.equal(images.length, 1);
    assert.equal(images[0]!.name, 'docker.io/library/busybox:latest');
    const manifest = await json<Manifest>(store, images[0]!.manifest);
    const original = JSON.parse(await readFile(join(layout, 'blobs', ociManifest.digest.replace(':', '/')), 'utf8')) as Manifest;
    const config = await json<ImageConfig>(store, manifest.config);
    assert.deepEqual(config.config?.Cmd, ['sh']);
    assert.equal(manifest.layers.length, 1);
    assert.equal(manifest.layers[0]!.mediaType, MediaType.ociLayer);
    assert.equal(manifest.layers[0]!.digest, config.rootfs.diff_ids[0]);
    assert.deepEqual(config.rootfs.diff_ids, (JSON.parse(await readFile(join(layout, 'blobs', original.config.digest.replace(':', '/')), 'utf8')) as ImageConfig).rootfs.diff_ids);
    const look = await unpackAndLook(store, images[0]!.manifest, 'docker');
    assert.equal(look.sh, 'busybox');
    assert.equal(look.busybox, (await readFile('/usr/bin/busybox')).length);
  });

  it("loads skopeo's oci-archive with the layout's own manifest digest", async () => {
    const archive = join(base, 'busybox.oci.tar');
    execFileSync('skopeo', ['copy', '-q', `oci:${layout}:latest`, `oci-archive:${archive}:latest`]);
    const store = new DirBlobStore(join(base, 'blobs-oci'));
    const images = await load(archive, store);
    assert.deepEqual(images.map((i) => [i.name, i.manifest.digest]), [['latest', ociManifest.digest]]);
    const look = await unpackAndLook(store, images[0]!.manifest, 'oci');
    assert.equal(look.sh, 'busybox');
  });

  it("unpacks umoci's own whiteouts (repack after deleting files) as overlayfs hides them", async () => {
    const bundle = join(base, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${layout}:latest`, bundle]);
    execFileSync('rm', ['-f', join(bundle, 'rootfs/bin/sh')]);
    await mkdir(join(bundle, 'rootfs/etc'));
    execFileSync('sh', ['-c', `echo repacked > ${join(bundle, 'rootfs/etc/motd')}`]);
    execFileSync('umoci', ['repack', '--image', `${layout}:v2`, bundle]);
    const archive = join(base, 'v2.oci.tar');
    execFileSync('skopeo', ['copy', '-q', `oci:${layout}:v2`, `oci-archive:${archive}:v2`]);
    const store = new DirBlobStore(join(base, 'blobs-v2'));
    const [image] = await load(archive, store);
    const m = await json<Manifest>(store, image!.manifest);
    assert.equal(m.layers.length, 2);
    const config = await json<ImageConfig>(store, m.config);
    const snapshotter = await OverlaySnapshotter.open(join(base, 'snap-v2'));
    const top = await unpackImage(snapshotter, { manifest: m, config }, store);
    const target = join(base, 'mnt-v2');
    await mkdir(target);
    await mountAll(await snapshotter.view('look', top), target);
    try {
      assert.deepEqual((await readdir(join(target, 'bin'))).sort(), ['busybox']);
      assert.equal(await readFile(join(target, 'etc/motd'), 'utf8'), 'repacked\n');
    } finally {
      await unmount(target);
    }
  });

  for (const format of ['docker-archive', 'oci-archive'] as const) {
    it(`save as ${format} then load gives the same digests, for several images sharing a layer`, async () => {
      const store = new DirBlobStore(join(base, `blobs-save-${format}`));
      const [busybox] = await load(join(base, 'busybox.docker.tar'), store);
      const imported = await importRootfs(chunks(tarOf([{ name: 'hello', content: 'world' }])), store, { changes: ['CMD ["cat", "/hello"]'], created: new Date(0) });
      const images: LoadedImage[] = [
        { name: 'docker.io/library/busybox:latest', manifest: busybox!.manifest },
        { name: 'docker.io/library/busybox:1.35', manifest: busybox!.manifest },
        { name: 'localhost/hello:v1', manifest: imported.manifest },
      ];
      const path = join(base, `saved.${format}.tar`);
      await save(images, store, format, path);
      const again = new DirBlobStore(join(base, `blobs-again-${format}`));
      const loaded = await load(path, again);
      assert.deepEqual(loaded.map((i) => [i.name, i.manifest.digest]), images.map((i) => [i.name, i.manifest.digest]));
      assert.deepEqual(await again.list(), await store.list());
      // a second save of what was loaded is byte-identical
      const second = join(base, `saved-again.${format}.tar`);
      await save(loaded, again, format, second);
      assert.ok((await readFile(second)).equals(await readFile(path)));
      // and skopeo reads it
      const transport = format === 'docker-archive' ? `docker-archive:${path}:docker.io/library/busybox:latest` : `oci-archive:${path}:1.35`;
      const inspected = JSON.parse(execFileSync('skopeo', ['inspect', transport], { encoding: 'utf8' })) as { Layers: string[] };
      assert.deepEqual(inspected.Layers, (await json<Manifest>(store, busybox!.manifest)).layers.map((l) => l.digest));
    });
  }

  it('loads a gzip-compressed docker 20.10 archive: <id>/layer.tar files, two images, short RepoTags', async () => {
    const layerA = tarOf([{ name: 'a', content: 'a' }]);
    const layerB = tarOf([{ name: 'b', content: 'b' }]);
    const configOf = (layers: Buffer[], cmd: string): Buffer =>
      Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: [cmd] }, rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) } }));
    const config1 = configOf([layerA], 'one');
    const config2 = configOf([layerA, layerB], 'two');
    const c1 = sha256(config1).slice(7);
    const c2 = sha256(config2).slice(7);
    const id1 = '1'.repeat(64);
    const id2 = '2'.repeat(64);
    const manifestJson = [
      { Config: `${c1}.json`, RepoTags: ['one:latest'], Layers: [`${id1}/layer.tar`] },
      { Config: `${c2}.json`, RepoTags: ['two:latest', 'two:v2'], Layers: [`${id1}/layer.tar`, `${id2}/layer.tar`] },
    ];
    const archive = gzip(tarOf([
      { name: `${id1}/`, type: 'dir' },
      { name: `${id1}/VERSION`, content: '1.0' },
      { name: `${id1}/json`, content: '{}' },
      { name: `${id1}/layer.tar`, content: layerA },
      { name: `${id2}/layer.tar`, content: layerB },
      { name: `${c1}.json`, content: config1 },
      { name: `${c2}.json`, content: config2 },
      { name: 'manifest.json', content: JSON.stringify(manifestJson) },
      { name: 'repositories', content: '{}' },
    ]));
    const store = new DirBlobStore(join(base, 'blobs-docker2010'));
    const images = await loadArchive(chunks(archive), store);
    assert.deepEqual(images.map((i) => i.name), ['one:latest', 'two:latest', 'two:v2']);
    const two = await json<Manifest>(store, images[1]!.manifest);
    assert.deepEqual(two.layers.map((l) => l.digest), [sha256(layerA), sha256(layerB)]);
    assert.equal(two.config.digest, sha256(config2));
    assert.deepEqual((await store.list()).length, 6); // 2 layers, 2 configs, 2 synthesised manifests
    const broken = tarOf([{ name: 'manifest.json', content: JSON.stringify([{ Config: 'missing.json', RepoTags: [], Layers: [] }]) }]);
    await assert.rejects(loadArchive(chunks(broken), store), /"missing.json" is not in the archive/);
  });

  it('imports a rootfs tarball with changes and a message', async () => {
    const store = new DirBlobStore(join(base, 'blobs-import'));
    const rootfs = tarOf([{ name: 'bin/', mode: 0o755 }, { name: 'bin/tool', content: 'x', mode: 0o755 }]);
    const result = await importRootfs(chunks(rootfs), store, {
      changes: ['ENV A=1 B="two words"', 'EXPOSE 80 53/udp', 'CMD /bin/tool --flag', 'WORKDIR /srv', 'LABEL org.example=yes'],
      message: 'from a tarball',
    });
    const manifest = await json<Manifest>(store, result.manifest);
    const config = await json<ImageConfig>(store, manifest.config);
    assert.deepEqual(config.config, {
      Env: ['A=1', 'B=two words'],
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Cmd: ['/bin/sh', '-c', '/bin/tool --flag'],
      WorkingDir: '/srv',
      Labels: { 'org.example': 'yes' },
    });
    assert.equal(config.history?.[0]?.comment, 'from a tarball');
    assert.equal(manifest.layers[0]!.mediaType, MediaType.ociLayerGzip);
    const snapshotter = await OverlaySnapshotter.open(join(base, 'snap-import'));
    const top = await unpackImage(snapshotter, { manifest, config }, store);
    assert.equal(top, result.diffId);
    await assert.rejects(importRootfs(chunks(rootfs), store, { changes: ['RUN rm -rf /'] }), /RUN is not supported/);
  });
});
