/**
 * LocalContentStore: the shared conformance suite on a tmpdir, plus what only a directory
 * store has (on-disk layout, corruption found by fsck and by verified reads).
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { EngineError } from '../util/errors.ts';
import { LocalContentStore } from './local-content-store.ts';
import { encodedOf, sha256Digest } from './digest.ts';
import { runContentStoreSuite } from './store.suite.ts';

async function tmpStore(): Promise<{ root: string; store: LocalContentStore; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'berth-content-'));
  return { root, store: new LocalContentStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
}

runContentStoreSuite('LocalContentStore', async () => {
  const { root, store, cleanup } = await tmpStore();
  return { store, reopen: () => new LocalContentStore(root), cleanup };
});

describe('LocalContentStore on disk', () => {
  it('stores blobs as blobs/sha256/<hex> and ingests under ingest/<sha256(ref)>', async () => {
    const { root, store, cleanup } = await tmpStore();
    try {
      const info = await store.put(Buffer.from('layout'));
      assert.equal(await readFile(join(root, 'blobs', 'sha256', encodedOf(info.digest)), 'utf8'), 'layout');
      const expected = { digest: sha256Digest('partial!'), size: 8 };
      const w = await store.writer('my-ref', expected);
      await w.write(Buffer.from('part'));
      await w.close();
      const dir = join(root, 'ingest', encodedOf(sha256Digest('my-ref')));
      assert.equal(await readFile(join(dir, 'ref'), 'utf8'), 'my-ref');
      assert.deepEqual(JSON.parse(await readFile(join(dir, 'expected'), 'utf8')), expected);
      assert.equal((await stat(join(dir, 'data'))).size, 4);
    } finally {
      await cleanup();
    }
  });

  it('fsck reports a blob whose bytes changed, and verified reads refuse it', async () => {
    const { root, store, cleanup } = await tmpStore();
    try {
      const ok = await store.put(Buffer.from('fine'));
      const bad = await store.put(Buffer.from('will rot'));
      await writeFile(join(root, 'blobs', 'sha256', encodedOf(bad.digest)), 'has rot!');
      const report = await store.fsck();
      assert.equal(report.checked, 2);
      assert.deepEqual(report.corrupt, [bad.digest]);
      await assert.rejects(store.readBytes(bad.digest), (err: unknown) => err instanceof EngineError && /corrupt blob/.test(err.message));
      await assert.rejects(text(await store.readStream(bad.digest)), /corrupt blob/);
      assert.equal(await text(await store.readStream(bad.digest, { verify: false })), 'has rot!');
      assert.equal(await text(await store.readStream(ok.digest)), 'fine');
    } finally {
      await cleanup();
    }
  });

  it('a torn expected file (crash while writing it) restarts the ingest', async () => {
    const { root, store, cleanup } = await tmpStore();
    try {
      const expected = { digest: sha256Digest('abcdef'), size: 6 };
      const w = await store.writer('torn', expected);
      await w.write(Buffer.from('abc'));
      await w.close();
      await writeFile(join(root, 'ingest', encodedOf(sha256Digest('torn')), 'expected'), '{"dig');
      const again = await store.writer('torn', expected);
      assert.equal(again.offset, 0);
      await again.write(Buffer.from('abcdef'));
      await again.commit();
      assert.equal(await store.has(expected.digest), true);
    } finally {
      await cleanup();
    }
  });

  it('rejects malformed digests instead of touching paths outside the store', async () => {
    const { store, cleanup } = await tmpStore();
    try {
      await assert.rejects(store.has('sha256:../../etc/passwd' as never), (err: unknown) => err instanceof EngineError && err.kind === 'invalid-argument');
    } finally {
      await cleanup();
    }
  });
});
