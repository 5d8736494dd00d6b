/**
 * Pull behaviour a real registry will not show on demand, against small fake registries on
 * 127.0.0.1: wrong bytes, lying digests, 5xx, redirects to storage, dropped connections,
 * and the Bearer token flow.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../../../src/util/errors.ts';
import type { Digest } from '../../../src/oci/image-spec.ts';
import { LocalContentStore } from '../../../src/content/index.ts';
import { RegistryClient, StaticCredentials, type PullProgress } from '../../../src/image/registry/index.ts';
import { fakeRegistry, makeFakeImage, startFakeServer, type FakeServer } from './helpers.ts';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'berth-fake-registry-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

let n = 0;
function freshStore(): LocalContentStore {
  return new LocalContentStore(join(root, `store-${n++}`));
}

function client(store: LocalContentStore, creds: StaticCredentials = new StaticCredentials()): RegistryClient {
  return new RegistryClient(store, { credentials: creds, backoffMs: 5, retries: 3 });
}

async function withServer(server: FakeServer, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } finally {
    await server.close();
  }
}

describe('pull from a fake registry', () => {
  it('stores index-less images completely and reports per-layer progress', async () => {
    const image = makeFakeImage([300_000, 5_000, 70_000]);
    const server = await startFakeServer(fakeRegistry('app', image));
    await withServer(server, async () => {
      const store = freshStore();
      const events: PullProgress[] = [];
      const result = await client(store).pull(`${server.host}/app`, { onProgress: (e) => events.push(e) });
      assert.equal(result.digest, image.manifestDigest);
      assert.deepEqual(result.layers.map((l) => l.digest), image.layerDigests);
      const stored = (await store.list()).map((b) => b.digest).sort();
      assert.deepEqual(stored, [image.manifestDigest, image.configDigest, ...image.layerDigests].sort());
      for (const d of image.layerDigests) {
        const id = d.slice(7, 19);
        const statuses = events.filter((e) => e.id === id).map((e) => e.status);
        assert.equal(statuses[0], 'Waiting');
        assert.ok(statuses.includes('Downloading'));
        assert.deepEqual(statuses.slice(-2), ['Verifying Checksum', 'Download complete']);
      }
      // Again: nothing is downloaded, every layer already exists.
      const again: PullProgress[] = [];
      const blobGets = server.requests.filter((r) => r.url.includes('/blobs/')).length;
      await client(store).pull(`${server.host}/app`, { onProgress: (e) => again.push(e) });
      assert.equal(again.filter((e) => e.status === 'Already exists').length, 3);
      assert.equal(server.requests.filter((r) => r.url.includes('/blobs/')).length, blobGets);
    });
  });

  it('a blob with the wrong bytes fails the pull and stores nothing', async () => {
    const image = makeFakeImage([50_000, 40_000]);
    const bad = image.layerDigests[1]!;
    const server = await startFakeServer(fakeRegistry('app', image, {
      corrupt: (digest, bytes) => {
        if (digest !== bad) return bytes;
        const copy = Buffer.from(bytes);
        copy[100] = copy[100]! ^ 0xff;
        return copy;
      },
    }));
    await withServer(server, async () => {
      const store = freshStore();
      await assert.rejects(client(store).pull(`${server.host}/app:latest`), (err: unknown) => {
        assert.ok(err instanceof EngineError);
        assert.equal(err.kind, 'invalid-argument');
        assert.match(err.message, new RegExp(`^digest mismatch for ${bad}: got sha256:[0-9a-f]{64}$`));
        return true;
      });
      assert.deepEqual(await store.list(), []);
      assert.deepEqual(await store.ingests(), []);
    });
  });

  it('a manifest whose bytes do not match Docker-Content-Digest is refused', async () => {
    const image = makeFakeImage([10]);
    const server = await startFakeServer(fakeRegistry('app', image, { manifestDigestHeader: `sha256:${'0'.repeat(64)}` }));
    await withServer(server, async () => {
      const store = freshStore();
      await assert.rejects(client(store).pull(`${server.host}/app`), /digest mismatch: registry says sha256:0{64}, content is /);
      assert.deepEqual(await store.list(), []);
    });
  });

  it('pulling by digest refuses a manifest with other content', async () => {
    const image = makeFakeImage([10]);
    const wanted = `sha256:${'1'.repeat(64)}`;
    const server = await startFakeServer(fakeRegistry('app', image, {
      intercept: (req, res) => {
        if (req.url !== `/v2/app/manifests/${wanted}`) return false;
        res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Docker-Content-Digest': wanted }).end(image.manifest);
        return true;
      },
    }));
    await withServer(server, async () => {
      const store = freshStore();
      await assert.rejects(client(store).pull(`${server.host}/app@${wanted}`), new RegExp(`^EngineError: digest mismatch for ${wanted}: got ${image.manifestDigest}$`));
      assert.deepEqual(await store.list(), []);
    });
  });

  it('a missing tag says so in docker words', async () => {
    const image = makeFakeImage([10]);
    const server = await startFakeServer(fakeRegistry('app', image));
    await withServer(server, async () => {
      await assert.rejects(client(freshStore()).pull(`${server.host}/app:nope`), (err: unknown) =>
        err instanceof EngineError && err.kind === 'not-found' &&
        err.message === `manifest for ${server.host}/app:nope not found: manifest unknown: manifest unknown`);
    });
  });

  it('retries 5xx with backoff and succeeds', async () => {
    const image = makeFakeImage([20_000]);
    let failures = 0;
    const server = await startFakeServer(fakeRegistry('app', image, {
      intercept: (req, res) => {
        if (req.url?.includes('/blobs/') && failures < 2) {
          failures++;
          res.writeHead(503).end('busy');
          return true;
        }
        return false;
      },
    }));
    await withServer(server, async () => {
      const store = freshStore();
      await client(store).pull(`${server.host}/app`);
      assert.equal(failures, 2);
      assert.equal(await store.has(image.layerDigests[0] as Digest), true);
    });
  });

  it('gives up after the configured retries on persistent 5xx', async () => {
    const image = makeFakeImage([20_000]);
    const server = await startFakeServer(fakeRegistry('app', image, {
      intercept: (req, res) => {
        if (!req.url?.includes('/blobs/sha256:' + image.layerDigests[0]!.slice(7))) return false;
        res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'storage on fire' }] }));
        return true;
      },
    }));
    await withServer(server, async () => {
      const store = freshStore();
      await assert.rejects(client(store).pull(`${server.host}/app`), (err: unknown) =>
        err instanceof EngineError && err.kind === 'unavailable' && /unknown: storage on fire/.test(err.message));
      const attempts = server.requests.filter((r) => r.url.includes(image.layerDigests[0]!)).length;
      // 1 + 3 transport retries, times 1 + 3 blob-level retries.
      assert.equal(attempts, 16);
      // Verified blobs stay for the next attempt, but no manifest names an incomplete image.
      assert.deepEqual((await store.list()).map((b) => b.digest), [image.configDigest]);
    });
  });

  it('follows a 307 to storage on another origin without sending the registry token there', async () => {
    const image = makeFakeImage([40_000]);
    const storage = await startFakeServer((req, res) => {
      const digest = req.url!.slice('/storage/'.length);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(image.blobs.get(digest));
    });
    const server = await startFakeServer(fakeRegistry('app', image, {
      intercept: (req, res) => {
        if (req.headers.authorization !== 'Bearer reg-token' && req.url !== '/token?service=fake&scope=repository%3Aapp%3Apull') {
          if (req.url?.startsWith('/v2/')) {
            res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://127.0.0.1:${(server as FakeServer).port}/token",service="fake"` }).end();
            return true;
          }
        }
        if (req.url?.startsWith('/token')) {
          res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: 'reg-token', expires_in: 300 }));
          return true;
        }
        const m = /\/blobs\/(sha256:[0-9a-f]+)$/.exec(req.url ?? '');
        if (m) {
          res.writeHead(307, { Location: `http://${storage.host}/storage/${m[1]}` }).end();
          return true;
        }
        return false;
      },
    }));
    try {
      const store = freshStore();
      await client(store).pull(`${server.host}/app`);
      assert.equal(await store.has(image.layerDigests[0] as Digest), true);
      assert.ok(storage.requests.length >= 2, 'config and layer came from storage');
      for (const r of storage.requests) assert.equal(r.headers.authorization, undefined);
    } finally {
      await server.close();
      await storage.close();
    }
  });

  it('resumes a blob with a Range request when the connection drops mid-transfer', async () => {
    const image = makeFakeImage([200_000]);
    const layer = image.layerDigests[0]!;
    let cut = false;
    const server = await startFakeServer(fakeRegistry('app', image, {
      intercept: (req, res) => {
        if (!req.url?.endsWith(layer) || cut) return false;
        cut = true;
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': 200_000 });
        res.write(image.blobs.get(layer)!.subarray(0, 80_000), () => setTimeout(() => res.destroy(), 20));
        return true;
      },
    }));
    await withServer(server, async () => {
      const store = freshStore();
      await client(store).pull(`${server.host}/app`);
      const ranged = server.requests.filter((r) => r.url.endsWith(layer) && r.headers.range);
      assert.equal(ranged.length, 1);
      assert.match(ranged[0]!.headers.range!, /^bytes=[1-9]\d*-$/);
      assert.deepEqual(await store.readBytes(layer as Digest), image.blobs.get(layer));
      assert.deepEqual((await store.fsck()).corrupt, []);
    });
  });
});

describe('pull concurrency and cancellation', () => {
  it('downloads at most three layers at a time by default', async () => {
    const image = makeFakeImage([30_000, 30_000, 30_000, 30_000, 30_000, 30_000]);
    let active = 0;
    let peak = 0;
    const layers = new Set(image.layerDigests);
    const serve = fakeRegistry('app', image, { slow: { chunk: 10_000, delayMs: 30 } });
    const server = await startFakeServer(async (req, res) => {
      const counted = layers.has(req.url?.split('/').pop() ?? '');
      if (counted) peak = Math.max(peak, ++active);
      try {
        await serve(req, res);
      } finally {
        if (counted) active--;
      }
    });
    await withServer(server, async () => {
      await client(freshStore()).pull(`${server.host}/app`);
      assert.equal(peak, 3);
    });
  });

  it('an aborted pull stops, keeps the partial download, and stores no manifest', async () => {
    const image = makeFakeImage([2 << 20]);
    const server = await startFakeServer(fakeRegistry('app', image, { slow: { chunk: 32 << 10, delayMs: 20 } }));
    await withServer(server, async () => {
      const store = freshStore();
      const controller = new AbortController();
      const pulling = client(store).pull(`${server.host}/app`, {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.status === 'Downloading' && (e.current ?? 0) > 100_000) controller.abort(new Error('user cancelled'));
        },
      });
      await assert.rejects(pulling, /user cancelled/);
      const [ingest] = await store.ingests();
      assert.ok(ingest && ingest.offset > 100_000 && ingest.offset < 2 << 20, JSON.stringify(ingest));
      assert.equal(await store.has(image.manifestDigest as Digest), false);
    });
  });
});

describe('bearer token auth against a fake registry and token server', () => {
  it('answers the challenge with a token for the right scope, with credentials, and caches it', async () => {
    const image = makeFakeImage([1_000, 2_000, 3_000]);
    const tokenRequests: Array<{ url: string; authorization: string | undefined }> = [];
    const tokens = await startFakeServer((req, res) => {
      tokenRequests.push({ url: req.url!, authorization: req.headers.authorization });
      const expected = `Basic ${Buffer.from('berth:berth-pass').toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ access_token: 'tok-123', expires_in: 300 }));
    });
    const registry = await startFakeServer(fakeRegistry('team/app', image, {
      intercept: (req, res) => {
        if (req.headers.authorization === 'Bearer tok-123') return false;
        res.writeHead(401, {
          'Content-Type': 'application/json',
          'WWW-Authenticate': `Bearer realm="http://${tokens.host}/token",service="fake-registry",scope="repository:team/app:pull"`,
        }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
        return true;
      },
    }));
    try {
      const store = freshStore();
      const creds = new StaticCredentials({ [registry.host]: { username: 'berth', password: 'berth-pass' } });
      await client(store, creds).pull(`${registry.host}/team/app`);
      assert.equal((await store.list()).length, 5);
      assert.equal(tokenRequests.length, 1, 'one token for the whole pull');
      const url = new URL(tokenRequests[0]!.url, 'http://x');
      assert.equal(url.pathname, '/token');
      assert.equal(url.searchParams.get('service'), 'fake-registry');
      assert.deepEqual(url.searchParams.getAll('scope'), ['repository:team/app:pull']);
      // Only the first request paid the 401 round trip.
      assert.equal(registry.requests.filter((r) => r.headers.authorization === undefined).length, 1);

      const anonymous = freshStore();
      await assert.rejects(client(anonymous).pull(`${registry.host}/team/app`), (err: unknown) =>
        err instanceof EngineError && err.kind === 'forbidden' && /unauthorized: incorrect username or password/.test(err.message));
      assert.deepEqual(await anonymous.list(), []);
    } finally {
      await registry.close();
      await tokens.close();
    }
  });
});
