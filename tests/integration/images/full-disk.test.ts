/**
 * A full disk in the middle of a pull: the data root is a small tmpfs this test mounts, the
 * nginx image does not fit. The pull fails naming the problem (no space left on device); the
 * store stays consistent (fsck finds no corrupt blob, the image is not listed, nothing of it is
 * committed as a snapshot); once there is room, the same pull completes. The tmpfs goes at the end.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ImageStore } from '../../../src/image/store/index.ts';
import { fixtureScript, REGISTRY, registryUp } from './helpers.ts';

const run = promisify(execFile);
const skip = process.getuid?.() !== 0 ? 'needs root (mounts a tmpfs)' : false;

let dir: string;
let mounted = false;
let startedRegistry = false;

describe('a pull that fills the disk', { skip }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-full-disk-'));
    await run('mount', ['-t', 'tmpfs', '-o', 'size=12m,mode=0700', 'berth-full-disk', dir]);
    mounted = true;
    if (!(await registryUp())) {
      await fixtureScript('registry.sh', ['start', 'plain']);
      startedRegistry = true;
    }
    await fixtureScript('registry.sh', ['push', 'plain']);
  });
  after(async () => {
    if (mounted) await run('umount', [dir]);
    await rm(dir, { recursive: true, force: true });
    if (startedRegistry) await fixtureScript('registry.sh', ['stop', 'plain']);
  });

  it('fails with ENOSPC named, keeps the store consistent, and completes once there is room', async () => {
    const ref = `${REGISTRY}/nginx`;
    const store = await ImageStore.open({ root: dir });
    try {
      await assert.rejects(store.pull(ref), (err: Error) => {
        assert.match(err.message, /no space left on device|ENOSPC/i);
        return true;
      });
      const report = await store.content.fsck();
      assert.deepEqual(report.corrupt, [], 'no blob is half-written under its name');
      assert.deepEqual((await store.list()).map((i) => i.RepoTags), [], 'the image is not listed');
      await assert.rejects(store.chainId(ref), /no such image/i);
    } finally {
      await store.close();
    }

    await run('mount', ['-o', 'remount,size=400m', dir]);
    const again = await ImageStore.open({ root: dir });
    try {
      await again.pull(ref);
      assert.deepEqual((await again.list()).flatMap((i) => i.RepoTags), [`${ref}:latest`]);
      assert.deepEqual((await again.content.fsck()).corrupt, []);
    } finally {
      await again.close();
    }
  });
});
