/**
 * The overlay snapshotter as root: lifecycle rules and persistence, layer sharing by chainID,
 * a 130-layer stack that only mounts because options are compacted, and diffs of an upper that
 * unpack back into the same tree.
 */

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import type { Digest, ImageConfig, Manifest } from '../../../src/oci/image-spec.ts';
import { MediaType } from '../../../src/oci/image-spec.ts';
import { EngineError } from '../../../src/util/errors.ts';
import { chainIds, removeStaleExtractions, unpackImage, unpackLayer } from '../../../src/image/unpack/index.ts';
import { OverlaySnapshotter, compactOverlayOptions, mountAll, readTar, unmount } from '../../../src/snapshot/index.ts';
import { snapshotterSuite } from '../../../src/snapshot/snapshotter.suite.ts';
import { DirBlobStore, chunks, gzip, isRoot, listTree, mountsUnder, removeTree, sha256, tarOf } from './helpers.ts';

let base: string;

snapshotterSuite('OverlaySnapshotter', (root) => OverlaySnapshotter.open(root));

function kind(kindName: string) {
  return (err: unknown) => err instanceof EngineError && err.kind === kindName;
}

async function imageOf(store: DirBlobStore, layers: Buffer[]): Promise<{ manifest: Manifest; config: ImageConfig }> {
  const descs = [];
  for (const layer of layers) {
    const blob = gzip(layer);
    const { digest, size } = await store.put(blob);
    descs.push({ mediaType: MediaType.ociLayerGzip, digest, size });
  }
  const config: ImageConfig = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) } };
  const configBytes = Buffer.from(JSON.stringify(config));
  const { digest, size } = await store.put(configBytes);
  return { manifest: { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest, size }, layers: descs }, config };
}

describe('overlay snapshotter', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-snap-'));
  });
  after(async () => {
    for (const target of (await mountsUnder(base)).reverse()) await unmount(target, { lazy: true });
    assert.deepEqual(await mountsUnder(base), []);
    await removeTree(base);
  });

  it('hands out bind and overlay mounts as data and persists across reopen', async () => {
    const root = join(base, 'lifecycle');
    const s = await OverlaySnapshotter.open(root);
    await assert.rejects(s.prepare('a', 'missing'), kind('not-found'));
    const mounts = await s.prepare('a');
    assert.deepEqual(mounts, [{ type: 'bind', source: join(root, 'snapshots/1/fs'), options: ['rw', 'rbind'] }]);
    await assert.rejects(s.prepare('a'), kind('already-exists'));
    await assert.rejects(s.prepare('b', 'a'), kind('invalid-argument'));
    await s.commit('layer-a', 'a');
    await assert.rejects(s.commit('layer-a', 'a'), kind('not-found'));
    await assert.rejects(s.mounts('layer-a'), kind('failed-precondition'));
    assert.deepEqual(await s.view('v', 'layer-a'), [{ type: 'bind', source: join(root, 'snapshots/1/fs'), options: ['ro', 'rbind'] }]);
    const active = await s.prepare('c', 'layer-a');
    assert.deepEqual(active, [{
      type: 'overlay',
      source: 'overlay',
      options: [`lowerdir=${join(root, 'snapshots/1/fs')}`, `upperdir=${join(root, 'snapshots/3/fs')}`, `workdir=${join(root, 'snapshots/3/work')}`],
    }]);
    await assert.rejects(s.remove('layer-a'), kind('failed-precondition'));
    // a crash between mkdir and the metadata write leaves an orphan: reopen removes it
    await mkdir(join(root, 'snapshots/99/fs'), { recursive: true });
    const reopened = await OverlaySnapshotter.open(root);
    assert.deepEqual((await reopened.stat('c')).parent, 'layer-a');
    assert.equal((await reopened.stat('layer-a')).kind, 'committed');
    assert.deepEqual((await readdir(join(root, 'snapshots'))).sort(), ['1', '2', '3']);
    await reopened.remove('v');
    await reopened.remove('c');
    await reopened.remove('layer-a');
    assert.deepEqual(await readdir(join(root, 'snapshots')), []);
  });

  it('prepares without syncing when asked, and flush() syncs what is there', async () => {
    const root = join(base, 'flush');
    const s = await OverlaySnapshotter.open(root);
    // nothing written yet: there is nothing to sync, and that is no error
    await s.flush();
    await s.prepare('base-active');
    await s.commit('base', 'base-active');
    const [prepared, flushed] = await Promise.all([s.prepare('container', 'base', { labels: { owner: 'x' }, durable: false }), s.flush()]);
    assert.equal(prepared.length, 1);
    assert.equal(flushed, undefined);
    // flush() waited for the prepare: the change is in the file, as a reopen reads it
    const reopened = await OverlaySnapshotter.open(root);
    assert.deepEqual(await reopened.stat('container'), await s.stat('container'));
    assert.equal((await reopened.stat('container')).labels['owner'], 'x');
    await reopened.remove('container');
    await reopened.remove('base');
  });

  it('stores a base layer shared by two images once, under its chainID', async () => {
    const store = new DirBlobStore(join(base, 'blobs-shared'));
    const s = await OverlaySnapshotter.open(join(base, 'shared'));
    const baseLayer = tarOf([{ name: 'etc/', mode: 0o755 }, { name: 'etc/os-release', content: 'berth' }]);
    const one = await imageOf(store, [baseLayer, tarOf([{ name: 'one', content: '1' }])]);
    const two = await imageOf(store, [baseLayer, tarOf([{ name: 'two', content: '2' }])]);
    const top1 = await unpackImage(s, one, store);
    const top2 = await unpackImage(s, two, store);
    const again = await unpackImage(s, one, store);
    assert.equal(again, top1);
    const committed: string[] = [];
    await s.walk((info) => void committed.push(`${info.name} <- ${info.parent ?? ''}`));
    const baseChain = sha256(baseLayer);
    assert.deepEqual(committed.sort(), [`${baseChain} <- `, `${top1} <- ${baseChain}`, `${top2} <- ${baseChain}`].sort());
    assert.equal(top1, chainIds(one.config.rootfs.diff_ids)[1]);
    assert.deepEqual(await readdir(join(base, 'shared/snapshots')), ['1', '2', '3']);
  });

  it('clears extractions a crash interrupted, and nothing else', async () => {
    const s = await OverlaySnapshotter.open(join(base, 'stale'));
    await s.prepare('extract-0123456789abcdef');
    await s.prepare('container-1');
    assert.deepEqual(await removeStaleExtractions(s), ['extract-0123456789abcdef']);
    assert.equal((await s.stat('container-1')).kind, 'active');
    await assert.rejects(s.stat('extract-0123456789abcdef'), kind('not-found'));
  });

  it('refuses a layer whose diffID differs from the config', async () => {
    const store = new DirBlobStore(join(base, 'blobs-bad'));
    const s = await OverlaySnapshotter.open(join(base, 'bad'));
    const image = await imageOf(store, [tarOf([{ name: 'a', content: 'a' }])]);
    image.config.rootfs.diff_ids = [sha256(Buffer.from('other'))];
    await assert.rejects(unpackImage(s, image, store), /does not match the config/);
    assert.deepEqual(await readdir(join(base, 'bad/snapshots')), []);
  });

  it('mounts a stack of 130 layers', async () => {
    const root = join(base, 'deep-root-with-a-rather-long-name-to-make-paths-long');
    const s = await OverlaySnapshotter.open(root);
    let parent: string | undefined;
    for (let i = 1; i <= 130; i++) {
      const layer = tarOf([{ name: `layer-${i}`, content: String(i) }, ...(i === 130 ? [{ name: '.wh.layer-1', mode: 0 }] : [])]);
      parent = (await unpackLayer(s, chunks(layer), parent === undefined ? {} : { parent })).name;
    }
    const mounts = await s.prepare('container', parent);
    const options = mounts[0]!.options;
    assert.ok(options.join(',').length > 4096, 'absolute options exceed one page');
    const compact = compactOverlayOptions(options);
    assert.equal(compact.cwd, join(root, 'snapshots'));
    assert.ok(compact.options.join(',').length < 4096);
    const target = join(base, 'deep-mnt');
    await mkdir(target);
    await mountAll(mounts, target);
    try {
      const names = await readdir(target);
      assert.equal(names.length, 129);
      assert.ok(!names.includes('layer-1'));
      assert.equal(await readFile(join(target, 'layer-2'), 'utf8'), '2');
      assert.equal(await readFile(join(target, 'layer-130'), 'utf8'), '130');
      await writeFile(join(target, 'written'), 'upper');
    } finally {
      await unmount(target);
    }
    assert.equal(await readFile(join(root, 'snapshots/131/fs/written'), 'utf8'), 'upper');
  });

  it('diffs an upper into a layer that unpacks back to the same tree', async () => {
    const s = await OverlaySnapshotter.open(join(base, 'diff'));
    const lower = await unpackLayer(s, chunks(tarOf([
      { name: 'keep', content: 'keep' },
      { name: 'delete-me', content: 'x' },
      { name: 'dir/', mode: 0o755 },
      { name: 'dir/old', content: 'old' },
      { name: 'modify', content: 'v1' },
    ])));
    const target = join(base, 'diff-mnt');
    await mkdir(target);
    await mountAll(await s.prepare('work', lower.name), target);
    let expected: string[];
    try {
      await rm(join(target, 'delete-me'));
      await rm(join(target, 'dir'), { recursive: true });
      await mkdir(join(target, 'dir'), { mode: 0o750 }); // removed and recreated: overlayfs makes it opaque
      await writeFile(join(target, 'dir/new'), 'new');
      await writeFile(join(target, 'modify'), 'v2');
      await writeFile(join(target, 'added'), 'added');
      execFileSync('ln', [join(target, 'added'), join(target, 'added-link')]);
      expected = await listTree(target);
    } finally {
      await unmount(target);
    }
    const out = join(base, 'diff.tar.gz');
    const result = await s.diff('work', createWriteStream(out));
    const gz = await readFile(out);
    assert.equal(result.digest, sha256(gz));
    assert.equal(result.size, gz.length);
    const tar = gunzipSync(gz);
    assert.equal(result.diffId, sha256(tar));
    const names: string[] = [];
    for await (const { header } of readTar(chunks(tar))) names.push(`${header.name} ${header.type}`);
    assert.deepEqual(names, ['added file', 'added-link link', '.wh.delete-me file', 'dir/ dir', 'dir/.wh..wh..opq file', 'dir/new file', 'modify file']);
    const again = await s.diff('work', createWriteStream(join(base, 'diff2.tar.gz')));
    assert.equal(again.diffId, result.diffId);

    const replay = await unpackLayer(s, chunks(gz), { parent: lower.name, expectedDiffId: result.diffId as Digest });
    const target2 = join(base, 'diff-mnt2');
    await mkdir(target2);
    await mountAll(await s.view('check', replay.name), target2);
    try {
      assert.deepEqual(await listTree(target2), expected);
    } finally {
      await unmount(target2);
    }
  });
});
