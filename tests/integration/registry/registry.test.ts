/**
 * Pull, push and login against Debian's real docker-registry (distribution 2.8) on random
 * loopback ports: a plain instance and an htpasswd (bcrypt, Basic auth) instance, each with
 * its own temporary storage, and a busybox image built with umoci and pushed with skopeo.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../../../src/util/errors.ts';
import { MediaType, type Digest, type Index, type Manifest } from '../../../src/oci/image-spec.ts';
import { LocalContentStore, sha256Digest } from '../../../src/content/index.ts';
import { defaultPlatform } from '../../../src/image/manifest/index.ts';
import {
  DockerConfigCredentials,
  RegistryClient,
  StaticCredentials,
  login,
  logout,
  type PullProgress,
  type PushProgress,
} from '../../../src/image/registry/index.ts';
import {
  buildBusyboxLayout,
  layoutManifestDigest,
  skopeoPush,
  startRegistry,
  type TestImage,
  type TestRegistry,
} from './helpers.ts';

let work: string;
let image: TestImage;
let plain: TestRegistry;
let secured: TestRegistry;
let busyboxDigest: Digest;
let n = 0;

const USER = { username: 'berth', password: 'berth-pass' };

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-registry-test-'));
  image = await buildBusyboxLayout();
  busyboxDigest = (await layoutManifestDigest(image.layout)) as Digest;
  plain = await startRegistry();
  secured = await startRegistry({ htpasswd: USER });
  await skopeoPush(image.layout, `${plain.host}/busybox:latest`);
  await skopeoPush(image.layout, `${plain.host}/busybox:v2s2`, { format: 'v2s2' });
  await skopeoPush(image.layout, `${secured.host}/private/busybox:latest`, { creds: `${USER.username}:${USER.password}` });
});

after(async () => {
  await plain?.stop();
  await secured?.stop();
  await image?.cleanup();
  await rm(work, { recursive: true, force: true });
});

function freshStore(): LocalContentStore {
  return new LocalContentStore(join(work, `store-${n++}`));
}

function anonymous(store: LocalContentStore): RegistryClient {
  return new RegistryClient(store, { credentials: new StaticCredentials(), backoffMs: 5 });
}

describe('pull from docker-registry', () => {
  it('pulls busybox by tag: manifest, config and layer stored and verified', async () => {
    const store = freshStore();
    const events: PullProgress[] = [];
    const result = await anonymous(store).pull(`${plain.host}/busybox`, { onProgress: (e) => events.push(e) });
    assert.equal(result.digest, busyboxDigest);
    assert.equal(result.mediaType, MediaType.ociManifest);
    assert.equal(result.index, undefined);
    const manifest = await store.readJson<Manifest>(busyboxDigest);
    assert.deepEqual(result.config, manifest.config);
    assert.deepEqual(result.layers, manifest.layers);
    assert.deepEqual((await store.list()).map((b) => b.digest).sort(), [busyboxDigest, manifest.config.digest, manifest.layers[0]!.digest].sort());
    assert.deepEqual((await store.fsck()).corrupt, []);
    assert.equal(events.at(-1)?.status, 'Download complete');
    assert.equal(events.at(-1)?.total, manifest.layers[0]!.size);
  });

  it('pulls by digest, and skips what is already there', async () => {
    const store = freshStore();
    await anonymous(store).pull(`${plain.host}/busybox:latest`);
    const events: PullProgress[] = [];
    const result = await anonymous(store).pull(`${plain.host}/busybox@${busyboxDigest}`, { onProgress: (e) => events.push(e) });
    assert.equal(result.digest, busyboxDigest);
    assert.deepEqual(events.map((e) => e.status), ['Waiting', 'Already exists']);

    const other = freshStore();
    const byDigest = await anonymous(other).pull(`${plain.host}/busybox@${busyboxDigest}`);
    assert.equal(byDigest.manifest.digest, busyboxDigest);
    assert.equal((await other.list()).length, 3);
  });

  it('pulls a Docker schema 2 manifest', async () => {
    const store = freshStore();
    const result = await anonymous(store).pull(`${plain.host}/busybox:v2s2`);
    assert.equal(result.mediaType, MediaType.dockerManifest);
    assert.equal(result.config.mediaType, MediaType.dockerConfig);
    assert.equal(result.layers[0]!.mediaType, MediaType.dockerLayerGzip);
    assert.deepEqual((await store.fsck()).corrupt, []);
  });

  it('reports a missing image as not-found in docker words', async () => {
    await assert.rejects(anonymous(freshStore()).pull(`${plain.host}/busybox:nope`), (err: unknown) =>
      err instanceof EngineError && err.kind === 'not-found' &&
      err.message === `manifest for ${plain.host}/busybox:nope not found: manifest unknown: manifest unknown`);
    await assert.rejects(anonymous(freshStore()).pull(`${plain.host}/no/such/repo`), (err: unknown) =>
      err instanceof EngineError && err.kind === 'not-found' &&
      err.message === `manifest for ${plain.host}/no/such/repo:latest not found: manifest unknown: manifest unknown`);
  });
});

describe('push to docker-registry', () => {
  async function pulled(): Promise<LocalContentStore> {
    const store = freshStore();
    await anonymous(store).pull(`${plain.host}/busybox`);
    return store;
  }

  async function roundTrip(repo: string): Promise<void> {
    const back = freshStore();
    const result = await anonymous(back).pull(`${plain.host}/${repo}`);
    assert.equal(result.digest, busyboxDigest);
    assert.equal((await back.list()).length, 3);
    assert.deepEqual((await back.fsck()).corrupt, []);
  }

  it('uploads monolithically, then pulls back the same image', async () => {
    const store = await pulled();
    const events: PushProgress[] = [];
    // A new client knows nothing about where the blobs came from: no mount, real uploads.
    const result = await anonymous(store).push(`${plain.host}/roundtrip/mono:v1`, busyboxDigest, { onProgress: (e) => events.push(e) });
    assert.equal(result.digest, busyboxDigest);
    assert.equal(result.mediaType, MediaType.ociManifest);
    assert.deepEqual(events.map((e) => e.status).filter((s, i, a) => s !== a[i - 1]), ['Waiting', 'Pushing', 'Pushed']);
    await roundTrip('roundtrip/mono:v1');

    const again: PushProgress[] = [];
    await anonymous(store).push(`${plain.host}/roundtrip/mono:v2`, busyboxDigest, { onProgress: (e) => again.push(e) });
    assert.deepEqual(again.map((e) => e.status), ['Waiting', 'Layer already exists']);
    await roundTrip('roundtrip/mono:v2');
  });

  it('uploads in chunks (PATCH with Content-Range), then pulls back the same image', async () => {
    const store = await pulled();
    const events: PushProgress[] = [];
    const layerSize = (await store.readJson<Manifest>(busyboxDigest)).layers[0]!.size;
    await anonymous(store).push(`${plain.host}/roundtrip/chunked:v1`, busyboxDigest, {
      chunkedThreshold: 1,
      chunkSize: 256 << 10,
      onProgress: (e) => events.push(e),
    });
    const progress = events.filter((e) => e.status === 'Pushing').map((e) => e.current);
    const chunks = Math.ceil(layerSize / (256 << 10));
    assert.deepEqual(progress, [0, ...Array.from({ length: chunks }, (_, i) => Math.min((i + 1) * (256 << 10), layerSize))]);
    await roundTrip('roundtrip/chunked:v1');
  });

  it('mounts blobs from the repository they were pulled from instead of uploading', async () => {
    const store = freshStore();
    const client = anonymous(store);
    await client.pull(`${plain.host}/busybox`);
    const events: PushProgress[] = [];
    await client.push(`${plain.host}/mounted/app:v1`, busyboxDigest, { onProgress: (e) => events.push(e) });
    const layer = events.find((e) => e.status === 'Mounted');
    assert.ok(layer, JSON.stringify(events));
    assert.equal(layer.from, 'busybox');
    assert.equal(events.some((e) => e.status === 'Pushing'), false);
    await roundTrip('mounted/app:v1');

    // A client that did not pull can be told where to mount from.
    const told: PushProgress[] = [];
    await anonymous(store).push(`${plain.host}/mounted/told:v1`, busyboxDigest, { mountFrom: ['busybox'], onProgress: (e) => told.push(e) });
    assert.equal(told.find((e) => e.status === 'Mounted')?.from, 'busybox');
  });

  it('pushes an index and pulls the platform asked for', async () => {
    const store = await pulled();
    const native = await store.readJson<Manifest>(busyboxDigest);
    // A second "platform": same blobs, different manifest (annotation), arm64 in the index.
    const armBytes = Buffer.from(JSON.stringify({ ...native, annotations: { 'org.example.arch': 'arm64' } }));
    const arm = await store.put(armBytes);
    const host = defaultPlatform();
    const other = host.architecture === 'arm64' ? { os: 'linux', architecture: 'amd64' } : { os: 'linux', architecture: 'arm64', variant: 'v8' };
    const index: Index = {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [
        { mediaType: MediaType.ociManifest, digest: busyboxDigest, size: (await store.info(busyboxDigest)).size, platform: { ...host } },
        { mediaType: MediaType.ociManifest, digest: arm.digest, size: arm.size, platform: other },
      ],
    };
    const indexBytes = Buffer.from(JSON.stringify(index));
    const idx = await store.put(indexBytes);
    const pushed = await anonymous(store).push(`${plain.host}/multi/app:v1`, idx.digest);
    assert.equal(pushed.digest, idx.digest);
    assert.equal(pushed.mediaType, MediaType.ociIndex);

    const a = freshStore();
    const native1 = await anonymous(a).pull(`${plain.host}/multi/app:v1`);
    assert.equal(native1.digest, idx.digest);
    assert.equal(native1.index?.digest, idx.digest);
    assert.equal(native1.manifest.digest, busyboxDigest);
    assert.deepEqual((await a.list()).map((b) => b.digest).sort(), [idx.digest, busyboxDigest, native.config.digest, native.layers[0]!.digest].sort());

    const b = freshStore();
    const foreign = await anonymous(b).pull(`${plain.host}/multi/app:v1`, { platform: `${other.os}/${other.architecture}` });
    assert.equal(foreign.manifest.digest, arm.digest);
    assert.equal(sha256Digest(await b.readBytes(arm.digest)), arm.digest);

    await assert.rejects(anonymous(freshStore()).pull(`${plain.host}/multi/app:v1`, { platform: 'linux/s390x' }), (err: unknown) =>
      err instanceof EngineError && err.message === 'no matching manifest for linux/s390x in the manifest list entries');
  });
});

describe('Basic auth (htpasswd, bcrypt)', () => {
  it('pulls with credentials and is refused without', async () => {
    const store = freshStore();
    const creds = new StaticCredentials({ [secured.host]: USER });
    const result = await new RegistryClient(store, { credentials: creds }).pull(`${secured.host}/private/busybox`);
    assert.equal(result.digest, busyboxDigest);
    await assert.rejects(anonymous(freshStore()).pull(`${secured.host}/private/busybox`), (err: unknown) =>
      err instanceof EngineError && err.kind === 'forbidden' &&
      err.message.startsWith(`pull access denied for ${secured.host}/private/busybox, repository does not exist or may require 'docker login'`));
  });

  it('login checks the password, writes docker config.json 0600; logout removes the entry', async () => {
    const configPath = join(work, 'docker-config', 'config.json');
    await assert.rejects(login(secured.host, { ...USER, password: 'wrong' }, { configPath }), (err: unknown) =>
      err instanceof EngineError && err.kind === 'forbidden' && err.message === `login to ${secured.host}: unauthorized: incorrect username or password`);
    await assert.rejects(stat(configPath), { code: 'ENOENT' });

    await login(`http://${secured.host}/`, USER, { configPath });
    assert.equal((await stat(configPath)).mode & 0o777, 0o600);
    const config = JSON.parse(await readFile(configPath, 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.deepEqual(Object.keys(config.auths), [secured.host]);
    assert.equal(Buffer.from(config.auths[secured.host]!.auth, 'base64').toString(), `${USER.username}:${USER.password}`);

    const store = freshStore();
    const client = new RegistryClient(store, { credentials: new DockerConfigCredentials(configPath) });
    const pushed = await client.pull(`${secured.host}/private/busybox`);
    assert.equal(pushed.digest, busyboxDigest);
    const mirrored = await client.push(`${secured.host}/private/copy:v1`, busyboxDigest);
    assert.equal(mirrored.digest, busyboxDigest);

    assert.equal(await logout(secured.host, { configPath }), true);
    assert.equal(await logout(secured.host, { configPath }), false);
    const afterLogout = JSON.parse(await readFile(configPath, 'utf8')) as { auths: Record<string, unknown> };
    assert.deepEqual(afterLogout.auths, {});
  });

  it('login to a registry without auth succeeds', async () => {
    const configPath = join(work, 'docker-config-plain', 'config.json');
    await login(plain.host, USER, { configPath });
    assert.ok(await new DockerConfigCredentials(configPath).get(plain.host));
  });
});

// The fixtures' token registry (scripts/fixtures/registry.sh: :5002 with token server :5003),
// when it runs on this machine; the fake-registry tests cover the Bearer flow otherwise.
const tokenRegistryUp = await fetch('http://127.0.0.1:5002/v2/').then(
  (res) => res.status === 401 && (res.headers.get('www-authenticate') ?? '').startsWith('Bearer'),
  () => false,
);

describe('Bearer token auth (fixture registry on :5002)', { skip: tokenRegistryUp ? false : 'fixture token registry not running' }, () => {
  it('logs in and pulls busybox through the token server', async () => {
    const configPath = join(work, 'docker-config-token', 'config.json');
    await login('127.0.0.1:5002', USER, { configPath });
    const store = freshStore();
    const result = await new RegistryClient(store, { credentials: new DockerConfigCredentials(configPath) }).pull('127.0.0.1:5002/busybox:latest');
    assert.ok(result.layers.length >= 1);
    assert.deepEqual((await store.fsck()).corrupt, []);
    await assert.rejects(login('127.0.0.1:5002', { ...USER, password: 'nope' }, { configPath: join(work, 'x', 'config.json') }), (err: unknown) =>
      err instanceof EngineError && err.kind === 'forbidden');
  });
});

// The fixtures' plain registry, read-only use: its busybox:index is a two-platform OCI index.
const fixtureIndexUp = await fetch('http://127.0.0.1:5000/v2/busybox/manifests/index', { method: 'HEAD', headers: { Accept: MediaType.ociIndex } }).then(
  (res) => res.status === 200 && res.headers.get('content-type') === MediaType.ociIndex,
  () => false,
);

describe('multi-platform index (fixture registry on :5000)', { skip: fixtureIndexUp ? false : 'fixture registry not running' }, () => {
  it('chooses amd64 and arm64 manifests from busybox:index', async () => {
    const amd = freshStore();
    const a = await anonymous(amd).pull('127.0.0.1:5000/busybox:index', { platform: 'linux/amd64' });
    const arm = freshStore();
    const b = await anonymous(arm).pull('127.0.0.1:5000/busybox:index', { platform: 'linux/arm64' });
    assert.equal(a.digest, b.digest);
    assert.equal(a.index?.mediaType, MediaType.ociIndex);
    const index = await amd.readJson<Index>(a.digest);
    assert.equal(a.manifest.digest, index.manifests.find((m) => m.platform?.architecture === 'amd64')?.digest);
    assert.equal(b.manifest.digest, index.manifests.find((m) => m.platform?.architecture === 'arm64')?.digest);
    assert.deepEqual((await arm.fsck()).corrupt, []);
    // Only the chosen platform's blobs are stored, plus the index.
    assert.equal((await arm.list()).length, 3 + (await arm.readJson<Manifest>(b.manifest.digest)).layers.length);
  });
});
