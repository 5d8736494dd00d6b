import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { mkdtemp, readdir, readFile, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { EngineError } from '../../util/errors.ts';
import { RecordFile } from './records.ts';
import type { ImageRecord } from './types.ts';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-records-'));
  dirs.push(dir);
  return dir;
}

function record(name: string, n: number): ImageRecord {
  const digest = `sha256:${n.toString(16).padStart(64, '0')}` as const;
  const desc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1 };
  return { name, target: desc, manifest: desc, created: '2026-01-01T00:00:00Z', updated: '2026-01-01T00:00:00Z' };
}

describe('RecordFile', () => {
  it('reads an empty database when there is no file yet', async () => {
    assert.deepEqual(await new RecordFile(join(await tempDir(), 'images')).read(), []);
  });

  it('keeps every update of concurrent writers (two instances, as two processes would)', async () => {
    const dir = join(await tempDir(), 'images');
    const a = new RecordFile(dir);
    const b = new RecordFile(dir);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).update((records) => ({ records: [...records, record(`r${i}`, i)], result: undefined }))),
    );
    const names = (await a.read()).map((r) => r.name).sort();
    assert.equal(names.length, 20);
    assert.deepEqual(await readdir(dir), ['images.json'], 'no temp or lock file left');
  });

  it('leaves the old file untouched when an update throws', async () => {
    const dir = join(await tempDir(), 'images');
    const file = new RecordFile(dir);
    await file.update(() => ({ records: [record('a', 1)], result: undefined }));
    const before = await readFile(join(dir, 'images.json'), 'utf8');
    await assert.rejects(file.update(() => {
      throw new Error('boom');
    }), /boom/);
    assert.equal(await readFile(join(dir, 'images.json'), 'utf8'), before);
    await file.update((records) => ({ records: [...records, record('b', 2)], result: undefined }));
    assert.equal((await file.read()).length, 2, 'the lock was released');
  });

  it('takes over a lock whose holder is dead', async () => {
    const dir = join(await tempDir(), 'images');
    const file = new RecordFile(dir);
    await file.update(() => ({ records: [], result: undefined }));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    await writeFile(join(dir, 'images.lock'), dead);
    await file.update(() => ({ records: [record('c', 3)], result: undefined }));
    assert.equal((await file.read())[0]!.name, 'c');
  });

  it('refuses a database it does not understand', async () => {
    const dir = join(await tempDir(), 'images');
    const file = new RecordFile(dir);
    await file.update(() => ({ records: [], result: undefined }));
    await writeFile(join(dir, 'images.json'), '{"version":2}');
    await assert.rejects(file.read(), /unknown format/);
    await writeFile(join(dir, 'images.json'), '{');
    await assert.rejects(file.read(), /read image database/);
  });
});

/** What another process does: write a whole new file beside the database and rename it over. */
async function replaceAsAnotherWriter(dir: string, text: string): Promise<void> {
  const tmp = join(dir, '.images.json.other-writer.tmp');
  await writeFile(tmp, text);
  await rename(tmp, join(dir, 'images.json'));
}

function database(...images: ImageRecord[]): string {
  return JSON.stringify({ version: 1, images }, null, 1) + '\n';
}

describe('RecordFile.read cache', () => {
  it('returns the same list while the file is unchanged', async () => {
    const dir = join(await tempDir(), 'images');
    const file = new RecordFile(dir);
    await file.update(() => ({ records: [record('a', 1), record('b', 2)], result: undefined }));
    const first = await file.read();
    const second = await file.read();
    assert.equal(second, first, 'the cached list itself, not a fresh parse');
    assert.deepEqual(second.map((r) => r.name), ['a', 'b']);
  });

  it('sees the records of its own update after a cached read', async () => {
    const dir = join(await tempDir(), 'images');
    const file = new RecordFile(dir);
    await file.update(() => ({ records: [record('a', 1)], result: undefined }));
    const before = await file.read();
    await file.update((records) => ({ records: [...records, record('b', 2)], result: undefined }));
    const after = await file.read();
    assert.deepEqual(after.map((r) => r.name), ['a', 'b']);
    assert.deepEqual(before.map((r) => r.name), ['a'], 'the earlier list is not changed under its reader');
  });

  it('does not let an update that changes its records in place alter a cached list', async () => {
    const dir = join(await tempDir(), 'images');
    const file = new RecordFile(dir);
    await file.update(() => ({ records: [record('a', 1)], result: undefined }));
    const cached = await file.read();
    await file.update((records) => {
      records.push(record('b', 2));
      records[0]!.name = 'renamed';
      return { records, result: undefined };
    });
    assert.deepEqual(cached.map((r) => r.name), ['a']);
    assert.deepEqual((await file.read()).map((r) => r.name), ['renamed', 'b']);
  });

  it('sees an update made through another instance (another process)', async () => {
    const dir = join(await tempDir(), 'images');
    const mine = new RecordFile(dir);
    const theirs = new RecordFile(dir);
    await mine.update(() => ({ records: [record('a', 1)], result: undefined }));
    assert.equal((await mine.read()).length, 1);
    await theirs.update((records) => ({ records: [...records, record('b', 2)], result: undefined }));
    assert.deepEqual((await mine.read()).map((r) => r.name), ['a', 'b']);
  });

  it('sees a file renamed over it by another writer, even with the same size and mtime', async () => {
    const dir = join(await tempDir(), 'images');
    const file = new RecordFile(dir);
    await file.update(() => ({ records: [record('a', 1)], result: undefined }));
    assert.equal((await file.read())[0]!.name, 'a');

    await replaceAsAnotherWriter(dir, database(record('x', 7)));
    assert.deepEqual((await file.read()).map((r) => r.name), ['x']);

    // only the inode tells this one apart: same length, and the old file's timestamps copied
    const path = join(dir, 'images.json');
    const old = await stat(path, { bigint: true });
    const text = database(record('y', 8));
    assert.equal(Buffer.byteLength(text), Number(old.size), 'the replacement has the same size');
    const tmp = join(dir, '.images.json.same-size.tmp');
    await writeFile(tmp, text);
    spawnSync('touch', ['-r', path, tmp]);
    const replacement = await stat(tmp, { bigint: true });
    assert.equal(replacement.mtimeNs, old.mtimeNs, 'the replacement has the same mtime');
    await rename(tmp, path);
    assert.deepEqual((await file.read()).map((r) => r.name), ['y']);
  });

  it('sees an in-place rewrite of the same length with a new mtime', async () => {
    const dir = join(await tempDir(), 'images');
    const file = new RecordFile(dir);
    await file.update(() => ({ records: [record('a', 1)], result: undefined }));
    assert.equal((await file.read())[0]!.name, 'a');
    const path = join(dir, 'images.json');
    await writeFile(path, database(record('z', 1)));
    await utimes(path, new Date('2030-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'));
    assert.equal((await file.read())[0]!.name, 'z');
  });

  it('gives [] once the file is removed, and the records again once it is back', async () => {
    const dir = join(await tempDir(), 'images');
    const file = new RecordFile(dir);
    await file.update(() => ({ records: [record('a', 1)], result: undefined }));
    assert.equal((await file.read()).length, 1);
    await unlink(join(dir, 'images.json'));
    assert.deepEqual(await file.read(), []);
    await replaceAsAnotherWriter(dir, database(record('b', 2)));
    assert.deepEqual((await file.read()).map((r) => r.name), ['b']);
  });

  it('gives [] for a data root without an images directory', async () => {
    const root = await tempDir();
    assert.deepEqual(await new RecordFile(join(root, 'missing', 'images')).read(), []);
    assert.deepEqual(await readdir(root), [], 'a read creates nothing');
  });

  it('reports a malformed replacement of a cached file, every time, and recovers after a good one', async () => {
    const dir = join(await tempDir(), 'images');
    const file = new RecordFile(dir);
    await file.update(() => ({ records: [record('a', 1)], result: undefined }));
    assert.equal((await file.read()).length, 1);
    await replaceAsAnotherWriter(dir, '{"version":1,"images":[');
    const malformed = (err: unknown): boolean =>
      err instanceof EngineError && err.kind === 'internal' && err.message.startsWith(`read image database ${join(dir, 'images.json')}: `);
    await assert.rejects(file.read(), malformed);
    await assert.rejects(file.read(), malformed, 'a failed parse is not cached as an empty list');
    await replaceAsAnotherWriter(dir, '{"version":1,"images":{}}');
    await assert.rejects(file.read(), (err: unknown) => err instanceof EngineError && /: unknown format$/.test(err.message));
    await replaceAsAnotherWriter(dir, database(record('c', 3)));
    assert.deepEqual((await file.read()).map((r) => r.name), ['c']);
  });
});
