/**
 * kill -9 during a pull, then pull again: the second pull continues the partial download with a
 * ranged GET and ends with a consistent store (fsck clean, no ingests left, blob intact).
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Digest } from '../../../src/oci/image-spec.ts';
import { LocalContentStore } from '../../../src/content/index.ts';
import { RegistryClient, StaticCredentials } from '../../../src/image/registry/index.ts';
import { fakeRegistry, killMidIngest, makeFakeImage, startFakeServer, waitForExit, type FakeRegistryOptions } from './helpers.ts';

const LAYER_SIZE = 8 << 20;
let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-kill-resume-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('pull interrupted by SIGKILL', () => {
  it('resumes from the partial ingest and leaves a consistent store', async () => {
    const image = makeFakeImage([LAYER_SIZE, 4096]);
    const big = image.layerDigests[0]! as Digest;
    const options: FakeRegistryOptions = { slow: { chunk: 64 << 10, delayMs: 25 } };
    const server = await startFakeServer(fakeRegistry('slow/app', image, options));
    const storeRoot = join(root, 'store');
    const store = new LocalContentStore(storeRoot);
    const ref = `${server.host}/slow/app:latest`;
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./pull-child.ts', import.meta.url)), storeRoot, ref], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      // Wait until a good part (but not all) of the big layer is on disk, then kill -9.
      const offset = await killMidIngest(child, store, big, 1 << 20, () => stderr);

      const left = (await store.ingests()).find((i) => i.expected.digest === big);
      assert.ok(left && left.offset >= offset && left.offset < LAYER_SIZE, `partial ingest survives: ${JSON.stringify(left)}`);
      assert.equal(await store.has(big), false);
      assert.equal(await store.has(image.manifestDigest as Digest), false, 'no manifest without its layers');

      // The registry is fast now; pull again in this process.
      delete options.slow;
      const before = server.requests.length;
      const client = new RegistryClient(store, { credentials: new StaticCredentials() });
      const result = await client.pull(ref);
      assert.equal(result.digest, image.manifestDigest);
      const resumed = server.requests.slice(before).filter((r) => r.url.endsWith(big));
      assert.equal(resumed.length, 1);
      assert.equal(resumed[0]!.headers.range, `bytes=${left.offset}-`);

      const report = await store.fsck();
      assert.deepEqual(report.corrupt, []);
      assert.deepEqual(report.ingests, []);
      assert.equal(report.checked, 4);
      assert.deepEqual(await store.readBytes(big), image.blobs.get(big));
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await waitForExit(child);
      await server.close();
    }
  });
});
