import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
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
