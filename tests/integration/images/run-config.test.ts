/**
 * ImageStore.runConfig, what a container create reads: the image's ID, run config and top
 * layer's chain ID, for every way of naming an image, against the fixture layouts (the images
 * are loaded from the fixture archives: no registry needed). It only reads: no snapshot is
 * prepared, committed or touched.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createGunzip } from 'node:zlib';
import { join } from 'node:path';
import { ImageStore } from '../../../src/image/store/index.ts';
import type { SnapshotInfo } from '../../../src/snapshot/index.ts';
import { EngineError } from '../../../src/util/errors.ts';
import { FIXTURES, OCI, layoutImage } from './helpers.ts';

let work: string;
let store: ImageStore;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-run-config-'));
  store = await ImageStore.open({ root: join(work, 'root') });
  for (const archive of ['busybox.docker.tar', 'nginx.oci.tar']) await store.load(createReadStream(join(FIXTURES, 'archives', archive)));
});

after(async () => {
  await store.close();
  await rm(work, { recursive: true, force: true });
});

/** The OCI image spec's ChainID of the top layer, computed here rather than by the store. */
function topChainId(diffIds: string[]): string {
  let chain = diffIds[0]!;
  for (const diffId of diffIds.slice(1)) chain = `sha256:${createHash('sha256').update(`${chain} ${diffId}`).digest('hex')}`;
  return chain;
}

/** Everything the snapshotter knows and keeps on disk: its records, its metadata file and its directories. */
async function snapshotterState(): Promise<{ infos: SnapshotInfo[]; metadata: string; metadataMtimeNs: bigint; dirs: string[] }> {
  const infos: SnapshotInfo[] = [];
  await store.snapshotter.walk((info) => {
    infos.push(info);
  });
  infos.sort((a, b) => a.name.localeCompare(b.name));
  const root = join(work, 'root', 'snapshots');
  return {
    infos,
    metadata: await readFile(join(root, 'metadata.json'), 'utf8'),
    metadataMtimeNs: (await stat(join(root, 'metadata.json'), { bigint: true })).mtimeNs,
    dirs: (await readdir(join(root, 'snapshots'))).sort(),
  };
}

describe('ImageStore.runConfig', () => {
  it('gives the ID, run config and top chain ID of a multi-layer image, without touching a snapshot', async () => {
    const nginx = await layoutImage('nginx');
    assert.equal(nginx.config.rootfs.diff_ids.length, 2, 'the fixture has two layers: the top chain ID is not a diff ID');
    const before = await snapshotterState();
    assert.equal(before.infos.filter((i) => i.kind === 'committed').length, 3, 'busybox one layer, nginx two');

    const result = await store.runConfig('nginx');
    assert.deepEqual(Object.keys(result).sort(), ['ChainId', 'Config', 'Id']);
    assert.equal(result.Id, nginx.manifest.config.digest);
    assert.deepEqual(result.Config, nginx.config.config);
    assert.equal(result.ChainId, topChainId(nginx.config.rootfs.diff_ids));
    assert.notEqual(result.ChainId, nginx.config.rootfs.diff_ids.at(-1));
    assert.equal(result.ChainId, await store.chainId('nginx'));
    const top = await store.snapshotter.stat(result.ChainId);
    assert.equal(top.kind, 'committed', 'the chain ID names the committed snapshot a container is prepared on');
    assert.equal(top.parent, nginx.config.rootfs.diff_ids[0], 'its parent is the base layer (chain ID of one layer = its diff ID)');

    assert.deepEqual(await snapshotterState(), before, 'no snapshot made, changed or removed');
  });

  it('gives the same answer for every name of an image: short, full, ID, ID prefix, name@digest', async () => {
    const busybox = await layoutImage('busybox');
    const id = busybox.manifest.config.digest;
    const expected = { Id: id, Config: busybox.config.config, ChainId: topChainId(busybox.config.rootfs.diff_ids) };
    assert.equal(expected.ChainId, busybox.config.rootfs.diff_ids[0], 'one layer: its chain ID is its diff ID');
    const [byDigest] = (await store.inspect('busybox')).RepoDigests;
    assert.match(byDigest ?? '', /^busybox@sha256:[0-9a-f]{64}$/);
    const names = ['busybox', 'busybox:latest', 'docker.io/library/busybox:latest', byDigest!, id, id.slice('sha256:'.length), id.slice(7, 19)];
    for (const name of names) assert.deepEqual(await store.runConfig(name), expected, name);
  });

  it('agrees with inspect on the ID and the config', async () => {
    for (const name of ['busybox', 'nginx']) {
      const result = await store.runConfig(name);
      const inspect = await store.inspect(name);
      assert.equal(result.Id, inspect.Id);
      const config = inspect.Config as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(result.Config)) assert.deepEqual(config[key], value, `${name} Config.${key}`);
    }
  });

  it('gives the config an import set with its changes', async () => {
    const busybox = await layoutImage('busybox');
    const layer = join(OCI, 'busybox', 'blobs', ...busybox.manifest.layers[0]!.digest.split(':'));
    const imported = await store.import(createReadStream(layer).pipe(createGunzip()), {
      ref: 'imported:1',
      changes: ['ENV MODE=test', 'WORKDIR /srv', 'CMD ["sleep","1"]'],
    });
    const result = await store.runConfig('imported:1');
    assert.equal(result.Id, imported);
    assert.deepEqual(result.Config.Cmd, ['sleep', '1']);
    assert.equal(result.Config.WorkingDir, '/srv');
    assert.ok(result.Config.Env?.includes('MODE=test'));
    assert.equal((await store.snapshotter.stat(result.ChainId)).kind, 'committed');
  });

  it('refuses an unknown image with not-found and changes nothing', async () => {
    const before = await snapshotterState();
    for (const name of ['nope', 'busybox:missing', 'sha256:' + 'f'.repeat(64), 'localhost:5999/busybox']) {
      await assert.rejects(
        store.runConfig(name),
        (err: unknown) => err instanceof EngineError && err.kind === 'not-found' && err.message === `no such image: ${name}`,
        name,
      );
    }
    assert.deepEqual(await snapshotterState(), before);
  });
});
