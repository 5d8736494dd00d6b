import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../../util/errors.ts';
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from '../../snapshot/index.ts';
import { ImageStore } from './image-store.ts';

/** A rootfs tarball with one file per entry. */
function rootfs(files: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const body = Buffer.from(content);
    parts.push(encodeTarHeader({ name, type: 'file', size: body.length, mode: 0o644, mtime: 1700000000 }), body, tarPadding(body.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

async function* once(data: Buffer): AsyncGenerator<Uint8Array> {
  yield data;
}

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

function isKind(kind: string, pattern: RegExp) {
  return (err: unknown): boolean => err instanceof EngineError && err.kind === kind && pattern.test(err.message);
}

let dir: string;
let store: ImageStore;
let a: string;
let b: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-image-store-'));
  store = await ImageStore.open({ root: join(dir, 'root') });
  a = await store.import(once(rootfs({ 'a.txt': 'a' })), { ref: 'alpha:1', changes: ['LABEL team=red'], created: new Date('2026-01-01T00:00:00Z') });
  b = await store.import(once(rootfs({ 'b.txt': 'b' })), { ref: 'beta', message: 'second', created: new Date('2026-02-01T00:00:00Z') });
});

after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('ImageStore names', () => {
  it('finds images by name, full ID and unique ID prefix', async () => {
    assert.equal(await store.resolveId('alpha:1'), a);
    assert.equal(await store.resolveId('docker.io/library/beta:latest'), b);
    assert.equal(await store.resolveId(a), a);
    assert.equal(await store.resolveId(a.slice(7, 14)), a);
    await assert.rejects(store.resolveId('gamma'), isKind('not-found', /^no such image: gamma$/));
  });

  it('filters lists by dangling, reference, label, before and since', async () => {
    const ids = async (filters: Parameters<ImageStore['list']>[0]): Promise<string[]> => (await store.list(filters)).map((i) => i.Id);
    assert.deepEqual(await ids({}), [b, a], 'newest first');
    assert.deepEqual(await ids({ filters: { reference: ['al*'] } }), [a]);
    assert.deepEqual(await ids({ filters: { label: ['team=red'] } }), [a]);
    assert.deepEqual(await ids({ filters: { before: 'beta' } }), [a]);
    assert.deepEqual(await ids({ filters: { since: 'alpha:1' } }), [b]);
    assert.deepEqual(await ids({ filters: { dangling: true } }), []);
  });

  it('moving a tag leaves the old image dangling; naming it again un-dangles it', async () => {
    const solo = await store.import(once(rootfs({ 's.txt': 's' })), { ref: 'moving:1' });
    await store.tag('alpha:1', 'moving:1');
    assert.deepEqual((await store.list({ filters: { reference: ['moving'] } })).map((i) => i.Id), [a]);
    assert.deepEqual((await store.list({ filters: { dangling: true } })).map((i) => i.Id), [solo]);
    await store.tag(solo.slice(7, 19), 'solo:1');
    assert.deepEqual((await store.list({ filters: { dangling: true } })).map((i) => i.Id), []);
    assert.deepEqual(await store.remove('moving:1'), [{ Untagged: 'moving:1' }], 'alpha keeps alpha:1');
    assert.deepEqual(await store.remove('solo:1'), [{ Untagged: 'solo:1' }, { Deleted: solo }]);
    await assert.rejects(store.tag('alpha:1', `x@sha256:${'0'.repeat(64)}`), isKind('invalid-argument', /digest reference/));
  });

  it('history and inspect come from the config', async () => {
    const history = await store.history('beta');
    assert.equal(history.length, 1);
    assert.equal(history[0]!.Id, b);
    assert.deepEqual(history[0]!.Tags, ['beta:latest']);
    assert.equal(history[0]!.Comment, 'second');
    assert.ok(history[0]!.Size > 0);
    const inspect = await store.inspect('alpha:1');
    assert.deepEqual(inspect.Config.Labels, { team: 'red' });
    assert.equal(inspect.Created, '2026-01-01T00:00:00.000Z');
    assert.equal(inspect.RootFS.Layers.length, 1);
  });

  it('saves and loads back into another root with the same IDs', async () => {
    const archive = await collect(await store.save(['alpha:1', 'beta']));
    const other = await ImageStore.open({ root: join(dir, 'other') });
    const loaded = await other.load(once(archive));
    assert.deepEqual(loaded.map((l) => [l.name, l.id]).sort(), [['alpha:1', a], ['beta:latest', b]]);
    assert.deepEqual((await other.list()).map((i) => i.Id), [b, a]);
  });

  it('counts shared layers once in system df', async () => {
    const twin = await store.import(once(rootfs({ 'a.txt': 'a' })), { ref: 'alpha-twin', created: new Date('2026-03-01T00:00:00Z') });
    assert.notEqual(twin, a, 'another config, the same layer');
    const df = await store.systemDf();
    const byId = new Map(df.Images.map((i) => [i.Id, i]));
    assert.equal(byId.get(twin)!.SharedSize, byId.get(a)!.Size);
    assert.equal(byId.get(b)!.SharedSize, 0);
    assert.equal(df.LayersSize, byId.get(a)!.Size + byId.get(b)!.Size);
    assert.equal(df.Reclaimable, df.LayersSize);
    assert.deepEqual(await store.remove('alpha-twin'), [{ Untagged: 'alpha-twin:latest' }, { Deleted: twin }]);
    // the shared layer snapshot stays for alpha
    assert.equal(await store.chainId('alpha:1'), (await store.inspect('alpha:1')).RootFS.Layers[0]);
  });

  it('prunes dangling images only, then everything unused with all', async () => {
    const dangling = await store.import(once(rootfs({ 'c.txt': 'c' })));
    assert.deepEqual((await store.list({ filters: { dangling: true } })).map((i) => i.Id), [dangling]);
    const report = await store.prune();
    assert.deepEqual(report.ImagesDeleted, [{ Deleted: dangling }]);
    assert.ok(report.SpaceReclaimed > 0);
    const all = await store.prune({ all: true });
    assert.equal(all.ImagesDeleted.filter((d) => d.Deleted).length, 2);
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(await store.content.list(), []);
    const db = JSON.parse(await readFile(join(dir, 'root', 'images', 'images.json'), 'utf8')) as { images: unknown[] };
    assert.deepEqual(db.images, []);
  });
});
