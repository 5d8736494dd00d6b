/**
 * A pull through the image store unpacks each layer while it downloads (the unpack follows the
 * ingest file) and unpacks the layers side by side, committing them in chain order. These tests
 * pin what that must not change: implied directories still take the lower layer's attributes
 * and whiteouts still apply; a blob whose bytes do not match its digest fails the pull and
 * leaves no blob, ingest, snapshot or image; a hostile layer leaves nothing of itself; and a
 * kill -9 in the middle of a layer, then a second pull, resumes with a ranged GET and ends with
 * the right tree and a clean store.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Digest } from '../../../src/oci/image-spec.ts';
import { ImageStore } from '../../../src/image/store/index.ts';
import { StaticCredentials } from '../../../src/image/registry/index.ts';
import { chainIds, removeStaleExtractions } from '../../../src/image/unpack/index.ts';
import { EngineError } from '../../../src/util/errors.ts';
import { fakeImageOf, fakeRegistry, killMidIngest, startFakeServer, waitForExit, type FakeImage, type FakeRegistryOptions } from '../registry/helpers.ts';
import { gzip, sha256, tarOf, type FixtureEntry } from '../snapshot/helpers.ts';

let work: string;
let roots = 0;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-streaming-pull-'));
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** An image of real gzip layers (the fake registry's own images have random bytes). */
function imageOf(layerEntries: FixtureEntry[][]): FakeImage & { diffIds: Digest[] } {
  const tars = layerEntries.map((entries) => tarOf(entries));
  const diffIds = tars.map((t) => sha256(t));
  return { ...fakeImageOf(tars.map((t) => gzip(t)), { diffIds, runConfig: { Cmd: ['sh'] } }), diffIds };
}

function twoLayerImage(bigSize = 64 * 1024): FakeImage & { diffIds: Digest[] } {
  return imageOf([
    [
      { name: 'etc/', mode: 0o755 },
      { name: 'etc/os-release', mode: 0o644, content: 'ID=base\n' },
      { name: 'opt/', mode: 0o750, uid: 7, gid: 8, mtime: 1600000000 },
      { name: 'opt/base.txt', mode: 0o644, content: 'base\n' },
      { name: 'usr/', mode: 0o755 },
      { name: 'usr/big.bin', mode: 0o644, content: randomBytes(bigSize) },
    ],
    [
      // no entries for opt/ or opt/app/: both implied; etc/ implied by the whiteout
      { name: 'opt/app/run.sh', mode: 0o755, content: '#!/bin/sh\necho app\n' },
      { name: 'etc/.wh.os-release', mode: 0o644 },
    ],
  ]);
}

async function openStore(): Promise<{ store: ImageStore; root: string }> {
  const root = join(work, `root-${++roots}`);
  return { store: await ImageStore.open({ root, credentials: new StaticCredentials() }), root };
}

/** The layer directories of the committed snapshot `name` and below, nearest first, through a view. */
async function layerDirs(store: ImageStore, name: string): Promise<string[]> {
  const key = `test-view-${randomBytes(4).toString('hex')}`;
  const mounts = await store.snapshotter.view(key, name);
  await store.snapshotter.remove(key);
  const mount = mounts[0]!;
  if (mount.type === 'bind') return [mount.source];
  return mount.options.find((o) => o.startsWith('lowerdir='))!.slice('lowerdir='.length).split(':');
}

async function snapshots(store: ImageStore): Promise<Array<{ name: string; kind: string; parent?: string }>> {
  const out: Array<{ name: string; kind: string; parent?: string }> = [];
  await store.snapshotter.walk((info) => {
    out.push({ name: info.name, kind: info.kind, ...(info.parent !== undefined ? { parent: info.parent } : {}) });
  });
  return out;
}

describe('streaming pull through the image store', () => {
  it('unpacks both layers side by side: chain order, implied dirs from the lower layer, whiteouts', async () => {
    // the base is served slowly, so the small top layer is applied before its parent is committed
    const image = twoLayerImage(512 * 1024);
    const server = await startFakeServer(fakeRegistry('app', image, { slow: { chunk: 64 << 10, delayMs: 20 } }));
    try {
      const { store } = await openStore();
      const events: Array<{ id: string; status: string }> = [];
      const result = await store.pull(`${server.host}/app:latest`, { onProgress: (e) => events.push({ id: e.id, status: e.status }) });
      assert.equal(result.digest, image.manifestDigest);
      assert.equal(result.updated, true);
      const chain = chainIds(image.diffIds);
      assert.deepEqual((await snapshots(store)).sort((a, b) => a.name.localeCompare(b.name)), [
        { name: chain[0]!, kind: 'committed' },
        { name: chain[1]!, kind: 'committed', parent: chain[0]! },
      ].sort((a, b) => a.name.localeCompare(b.name)));
      for (const digest of image.layerDigests) {
        const statuses = events.filter((e) => e.id === digest.slice(7, 19)).map((e) => e.status);
        assert.equal(statuses.at(-1), 'Pull complete', `${digest}: ${statuses.join(', ')}`);
        assert.ok(statuses.indexOf('Download complete') < statuses.indexOf('Pull complete'));
      }

      const [upper, lower] = await layerDirs(store, chain[1]!);
      assert.ok(upper && lower);
      const opt = await stat(join(upper, 'opt'));
      assert.equal(opt.mode & 0o7777, 0o750, 'implied opt/ takes the lower layer mode');
      assert.equal(opt.uid, 7);
      assert.equal(opt.gid, 8);
      assert.equal(opt.mtimeMs, 1600000000 * 1000, 'and its mtime');
      const app = await stat(join(upper, 'opt', 'app'));
      assert.equal(app.mode & 0o7777, 0o755, 'implied opt/app/ with no lower is 0755');
      assert.equal(app.uid, 0);
      const whiteout = await lstat(join(upper, 'etc', 'os-release'));
      assert.ok(whiteout.isCharacterDevice() && whiteout.rdev === 0, 'whiteout is a 0/0 char device');
      assert.equal(await readFile(join(upper, 'opt', 'app', 'run.sh'), 'utf8'), '#!/bin/sh\necho app\n');
      assert.equal(await readFile(join(lower, 'etc', 'os-release'), 'utf8'), 'ID=base\n');

      const report = await store.content.fsck();
      assert.deepEqual(report.corrupt, []);
      assert.deepEqual(report.ingests, []);
      assert.equal(report.checked, 4);

      // Up to date: nothing downloaded, nothing rewritten.
      const gets = server.requests.filter((r) => r.url.includes('/blobs/')).length;
      const again = await store.pull(`${server.host}/app:latest`);
      assert.equal(again.updated, false);
      assert.equal(server.requests.filter((r) => r.url.includes('/blobs/')).length, gets);
      await store.close();
    } finally {
      await server.close();
    }
  });

  it('a base layer whose bytes do not match its digest fails the pull and stores nothing', async () => {
    const image = twoLayerImage(256 * 1024);
    const bad = image.layerDigests[0]!;
    const server = await startFakeServer(fakeRegistry('app', image, {
      corrupt: (digest, bytes) => {
        if (digest !== bad) return bytes;
        const copy = Buffer.from(bytes);
        copy[copy.length >> 1] = copy[copy.length >> 1]! ^ 0xff;
        return copy;
      },
    }));
    try {
      const { store } = await openStore();
      await assert.rejects(store.pull(`${server.host}/app:latest`), (err: unknown) => {
        assert.ok(err instanceof EngineError, String(err));
        assert.equal(err.kind, 'invalid-argument');
        assert.match(err.message, new RegExp(`^digest mismatch for ${bad}: got sha256:[0-9a-f]{64}$`));
        return true;
      });
      assert.deepEqual(await store.content.list(), []);
      assert.deepEqual(await store.content.ingests(), []);
      assert.deepEqual(await snapshots(store), []);
      assert.deepEqual(await store.list(), []);
      await store.close();
    } finally {
      await server.close();
    }
  });

  it('a hostile layer with a valid digest is refused: no blob, no snapshot of it, nothing outside', async () => {
    const marker = `escaped-${randomBytes(4).toString('hex')}`;
    const image = imageOf([
      [{ name: 'etc/', mode: 0o755 }, { name: 'etc/hostname', mode: 0o644, content: 'base\n' }],
      [{ name: 'etc/ok', mode: 0o644, content: 'ok\n' }, { name: `../../../../../../../tmp/${marker}`, mode: 0o644, content: 'x' }],
    ]);
    const server = await startFakeServer(fakeRegistry('app', image));
    try {
      const { store } = await openStore();
      await assert.rejects(store.pull(`${server.host}/app:latest`), (err: unknown) =>
        err instanceof EngineError && err.kind === 'invalid-argument' && /escapes the layer root/.test(err.message));
      await assert.rejects(stat(join('/tmp', marker)), { code: 'ENOENT' });
      assert.deepEqual(await store.content.list(), []);
      assert.deepEqual(await store.content.ingests(), []);
      const left = await snapshots(store);
      assert.ok(left.every((s) => s.kind === 'committed' && s.name !== chainIds(image.diffIds)[1]), JSON.stringify(left));
      assert.deepEqual(await store.list(), []);
      await store.close();
    } finally {
      await server.close();
    }
  });

  it('kill -9 in the middle of a layer, then pull again: ranged resume, right tree, clean store', async () => {
    const size = 6 << 20;
    const image = twoLayerImage(size);
    const big = image.layerDigests[0]! as Digest;
    const options: FakeRegistryOptions = { slow: { chunk: 64 << 10, delayMs: 25 } };
    const server = await startFakeServer(fakeRegistry('slow/app', image, options));
    const root = join(work, `root-${++roots}`);
    const ref = `${server.host}/slow/app:latest`;
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./pull-image-child.ts', import.meta.url)), root, ref], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const { LocalContentStore } = await import('../../../src/content/index.ts');
      const content = new LocalContentStore(join(root, 'content'));
      const offset = await killMidIngest(child, content, big, 1 << 20, () => stderr);

      const left = (await content.ingests()).find((i) => i.expected.digest === big);
      assert.ok(left && left.offset >= offset && left.offset < image.blobs.get(big)!.length, `partial ingest survives: ${JSON.stringify(left)}`);

      delete options.slow;
      const before = server.requests.length;
      const store = await ImageStore.open({ root, credentials: new StaticCredentials() });
      // what the killed unpack left: an active extraction, removed as the daemon does at start
      assert.equal((await removeStaleExtractions(store.snapshotter)).length >= 1, true);
      const result = await store.pull(ref);
      assert.equal(result.digest, image.manifestDigest);
      const resumed = server.requests.slice(before).filter((r) => r.url.endsWith(big));
      assert.equal(resumed.length, 1);
      assert.equal(resumed[0]!.headers.range, `bytes=${left.offset}-`);

      const chain = chainIds(image.diffIds);
      const [upper, lower] = await layerDirs(store, chain[1]!);
      assert.ok(upper && lower);
      assert.ok((await readFile(join(lower, 'usr', 'big.bin'))).length === size);
      assert.equal((await stat(join(upper, 'opt'))).uid, 7);
      assert.deepEqual((await snapshots(store)).map((s) => s.kind), ['committed', 'committed']);
      const report = await store.content.fsck();
      assert.deepEqual(report.corrupt, []);
      assert.deepEqual(report.ingests, []);
      assert.equal(report.checked, 4);
      await store.close();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await waitForExit(child);
      await server.close();
    }
  });
});
