/**
 * Conformance suite for `ContentStore` (containerd's content testsuite): every implementation
 * runs it from its own test file with a factory that makes a fresh, empty store.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { text } from 'node:stream/consumers';
import { EngineError } from '../util/errors.ts';
import type { Descriptor, Digest } from '../oci/image-spec.ts';
import { MediaType } from '../oci/image-spec.ts';
import type { ContentStore } from './content-store.ts';
import { sha256Digest } from './digest.ts';

export interface StoreFixture {
  store: ContentStore;
  /** Simulates a crash: a new store instance on the same backing storage. */
  reopen(): ContentStore;
  cleanup(): Promise<void>;
}

function isKind(kind: string) {
  return (err: unknown): boolean => err instanceof EngineError && err.kind === kind;
}

export function runContentStoreSuite(name: string, makeFixture: () => Promise<StoreFixture>): void {
  async function withStore(fn: (fx: StoreFixture) => Promise<void>): Promise<void> {
    const fx = await makeFixture();
    try {
      await fn(fx);
    } finally {
      await fx.cleanup();
    }
  }

  describe(`${name}: content store conformance`, () => {
    it('put then read returns the same bytes, identical blobs are stored once', () =>
      withStore(async ({ store }) => {
        const bytes = Buffer.from('hello blob');
        const a = await store.put(bytes);
        const b = await store.put(Buffer.from('hello blob'));
        assert.equal(a.digest, sha256Digest(bytes));
        assert.deepEqual(a, b);
        assert.deepEqual(await store.readBytes(a.digest), bytes);
        assert.equal(await text(await store.readStream(a.digest)), 'hello blob');
        assert.deepEqual(await store.list(), [{ digest: a.digest, size: bytes.length }]);
        assert.deepEqual(await store.info(a.digest), { digest: a.digest, size: bytes.length });
      }));

    it('missing blobs are not-found', () =>
      withStore(async ({ store }) => {
        const digest = sha256Digest('absent');
        assert.equal(await store.has(digest), false);
        await assert.rejects(store.info(digest), isKind('not-found'));
        await assert.rejects(store.readBytes(digest), isKind('not-found'));
        await assert.rejects(store.readStream(digest), isKind('not-found'));
        await assert.rejects(store.delete(digest), isKind('not-found'));
      }));

    it('a writer with the wrong bytes fails commit, removes the ingest, stores nothing', () =>
      withStore(async ({ store }) => {
        const expected = { digest: sha256Digest('right bytes'), size: 11 };
        const w = await store.writer('wrong', expected);
        await w.write(Buffer.from('wrong bytes'));
        await assert.rejects(w.commit(), (err: unknown) => {
          assert.ok(err instanceof EngineError);
          assert.equal(err.kind, 'invalid-argument');
          assert.equal(err.message, `digest mismatch for ${expected.digest}: got ${sha256Digest('wrong bytes')}`);
          return true;
        });
        assert.deepEqual(await store.list(), []);
        assert.deepEqual(await store.ingests(), []);
      }));

    it('writing past the expected size fails at once', () =>
      withStore(async ({ store }) => {
        const w = await store.writer('big', { digest: sha256Digest('abc'), size: 3 });
        await assert.rejects(w.write(Buffer.from('abcd')), isKind('invalid-argument'));
        await w.abort();
      }));

    it('a short commit keeps the partial data and a new writer resumes at its offset', () =>
      withStore(async ({ store, reopen }) => {
        const full = Buffer.from('0123456789abcdef');
        const expected = { digest: sha256Digest(full), size: full.length };
        const first = await store.writer('resume-me', expected);
        assert.equal(first.offset, 0);
        await first.write(full.subarray(0, 6));
        await assert.rejects(first.commit(), isKind('failed-precondition'));
        await first.close();
        // A new process (store instance) sees the partial ingest.
        const again = reopen();
        assert.deepEqual(await again.ingests(), [{ ref: 'resume-me', expected, offset: 6 }]);
        const second = await again.writer('resume-me', expected);
        assert.equal(second.offset, 6);
        await second.write(full.subarray(6));
        assert.deepEqual(await second.commit(), expected);
        assert.deepEqual(await again.readBytes(expected.digest), full);
        assert.deepEqual(await again.ingests(), []);
      }));

    it('a follower reads a resumed ingest from byte 0 while it is written and ends once it is verified', () =>
      withStore(async ({ store, reopen }) => {
        const full = Buffer.alloc(700_000);
        for (let i = 0; i < full.length; i++) full[i] = (i * 7) & 0xff;
        const expected = { digest: sha256Digest(full), size: full.length };
        const first = await store.writer('follow-me', expected);
        await first.write(full.subarray(0, 100_000));
        await first.close();
        const writer = await reopen().writer('follow-me', expected);
        const read: Buffer[] = [];
        const following = (async () => {
          for await (const chunk of writer.follow()) read.push(Buffer.from(chunk));
        })();
        for (let off = writer.offset; off < full.length; off += 64_000) {
          await writer.write(full.subarray(off, Math.min(off + 64_000, full.length)));
          await new Promise((r) => setImmediate(r)); // let the follower catch up and wait again
        }
        await writer.commit();
        await following;
        assert.deepEqual(Buffer.concat(read), full);
      }));

    it('a follower fails when the bytes turn out not to be the blob, and when the writer closes early', () =>
      withStore(async ({ store }) => {
        const wrong = await store.writer('follow-wrong', { digest: sha256Digest('right'), size: 5 });
        const followWrong = (async () => {
          for await (const _ of wrong.follow()) void _;
        })();
        followWrong.catch(() => {}); // asserted below, after the commit that makes it fail
        await wrong.write(Buffer.from('wrong'));
        await assert.rejects(wrong.commit(), isKind('invalid-argument'));
        await assert.rejects(followWrong, isKind('unavailable'));

        const short = await store.writer('follow-short', { digest: sha256Digest('longer'), size: 6 });
        const followShort = (async () => {
          for await (const _ of short.follow()) void _;
        })();
        followShort.catch(() => {});
        await short.write(Buffer.from('lon'));
        await short.close();
        await assert.rejects(followShort, isKind('unavailable'));
        assert.equal(await store.has(sha256Digest('right')), false);
      }));

    it('an ingest for a different expected digest is restarted, not resumed', () =>
      withStore(async ({ store }) => {
        const w1 = await store.writer('ref', { digest: sha256Digest('aaaa'), size: 4 });
        await w1.write(Buffer.from('aa'));
        await w1.close();
        const w2 = await store.writer('ref', { digest: sha256Digest('bbbb'), size: 4 });
        assert.equal(w2.offset, 0);
        await w2.write(Buffer.from('bbbb'));
        await w2.commit();
        assert.equal(await store.has(sha256Digest('bbbb')), true);
      }));

    it('truncate restarts the ingest from zero', () =>
      withStore(async ({ store }) => {
        const expected = { digest: sha256Digest('xyz'), size: 3 };
        const w = await store.writer('t', expected);
        await w.write(Buffer.from('q'));
        await w.truncate();
        assert.equal(w.offset, 0);
        await w.write(Buffer.from('xyz'));
        await w.commit();
        assert.equal(await store.has(expected.digest), true);
      }));

    it('opening a writer for an existing blob is already-exists', () =>
      withStore(async ({ store }) => {
        const info = await store.put(Buffer.from('here'));
        await assert.rejects(store.writer('x', info), isKind('already-exists'));
      }));

    it('a second writer of the same ref waits for the first', () =>
      withStore(async ({ store }) => {
        const expected = { digest: sha256Digest('shared'), size: 6 };
        const first = await store.writer('same', expected);
        let secondOpened = false;
        const second = store.writer('same', expected).then((w) => {
          secondOpened = true;
          return w;
        }, (err: unknown) => {
          secondOpened = true;
          throw err;
        });
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(secondOpened, false);
        await first.write(Buffer.from('shared'));
        await first.commit();
        await assert.rejects(second, isKind('already-exists'));
      }));

    it('fsck re-hashes blobs', () =>
      withStore(async ({ store }) => {
        const good = await store.put(Buffer.from('good'));
        const report = await store.fsck();
        assert.equal(report.checked, 1);
        assert.deepEqual(report.corrupt, []);
        assert.equal(good.size, 4);
      }));

    it('gc keeps what roots reach and removes the rest, in-flight ingests and leases included', () =>
      withStore(async ({ store }) => {
        const layer = await store.put(Buffer.from('layer bytes'));
        const config = await store.put(Buffer.from('{"rootfs":{"type":"layers","diff_ids":[]}}'));
        const manifest = {
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { mediaType: MediaType.ociConfig, ...config },
          layers: [{ mediaType: MediaType.ociLayerGzip, ...layer }],
        };
        const m = await store.put(Buffer.from(JSON.stringify(manifest)));
        const index = {
          schemaVersion: 2,
          mediaType: MediaType.ociIndex,
          manifests: [{ mediaType: MediaType.ociManifest, ...m } satisfies Descriptor],
        };
        const idx = await store.put(Buffer.from(JSON.stringify(index)));
        const orphan = await store.put(Buffer.from('nobody wants me'));
        const leased = await store.put(Buffer.from('wanted by a pull in progress'));
        const lease = store.lease();
        lease.add(leased.digest);
        // A download in progress survives gc and can still be resumed.
        const inflight = { digest: sha256Digest('other'), size: 5 };
        const inflightWriter = await store.writer('inflight', inflight);
        await inflightWriter.write(Buffer.from('ot'));
        await inflightWriter.close();
        const report = await store.gc([idx.digest]);
        assert.deepEqual(report.removed, [orphan.digest]);
        assert.equal(report.bytes, 'nobody wants me'.length);
        assert.deepEqual(await store.ingests(), [{ ref: 'inflight', expected: inflight, offset: 2 }]);
        const left = new Set<Digest>((await store.list()).map((b) => b.digest));
        for (const d of [idx.digest, m.digest, config.digest, layer.digest, leased.digest]) assert.ok(left.has(d), d);
        lease.release();
        const second = await store.gc([idx.digest]);
        assert.deepEqual(second.removed, [leased.digest]);
        assert.equal(store.isLeased(leased.digest), false);
      }));
  });
}
