/**
 * Background removal: the name is free as soon as removeInBackground returns, the contents are
 * gone when `done` settles, and a start-up sweep takes only what a crash left mid-removal.
 */

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTrash, removeInBackground, sweepTrash } from './trash.ts';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-trash-'));
  dirs.push(dir);
  return dir;
}

/** A directory with nested files, a symlink out of it and a read-only subdirectory. */
async function fillTree(path: string): Promise<void> {
  await mkdir(join(path, 'a', 'b', 'c'), { recursive: true });
  for (let i = 0; i < 50; i++) await writeFile(join(path, 'a', `f${i}`), `file ${i}`);
  await writeFile(join(path, 'a', 'b', 'c', 'deep'), 'deep');
  await symlink('/etc', join(path, 'link-out'));
  await mkdir(join(path, 'ro'));
  await writeFile(join(path, 'ro', 'inside'), 'x');
  await chmod(join(path, 'ro'), 0o555);
}

describe('removeInBackground', () => {
  it('frees the name at once and removes the contents by the time done resolves', async () => {
    const parent = await tempDir();
    const target = join(parent, 'layer');
    await fillTree(target);
    const { done } = removeInBackground(target);
    // still synchronous: no callback of the background rm has run, so its top directory is there
    assert.equal(existsSync(target), false, 'the name is free before done resolves');
    const during = readdirSync(parent);
    assert.equal(during.length, 1, during.join(', '));
    assert.ok(isTrash(during[0]!), `${during[0]} is a trash entry`);
    assert.ok(during[0]!.includes('layer'), 'the trash entry names what it held');
    assert.ok(existsSync(join(parent, during[0]!, 'a', 'b', 'c', 'deep')), 'the contents moved with it');
    await done;
    assert.deepEqual(await readdir(parent), []);
    assert.ok(existsSync('/etc'), 'a symlink inside is removed, not followed');
  });

  it('waits in the trash directory it is given, leaving its parent listing only live entries', async () => {
    const root = await tempDir();
    const parent = join(root, 'snapshots');
    const target = join(parent, '7');
    await fillTree(target);
    await mkdir(join(parent, '8'));
    const { done } = removeInBackground(target, { trashDir: join(root, 'trash') });
    assert.deepEqual(readdirSync(parent), ['8']);
    const waiting = readdirSync(join(root, 'trash'));
    assert.equal(waiting.length, 1);
    assert.ok(isTrash(waiting[0]!));
    await done;
    assert.deepEqual(await readdir(join(root, 'trash')), []);
    await sweepTrash(join(root, 'trash'));
  });

  it('lets the name be used again while the old contents are still going', async () => {
    const parent = await tempDir();
    const target = join(parent, 'layer');
    await fillTree(target);
    const { done } = removeInBackground(target);
    await mkdir(target);
    await writeFile(join(target, 'new'), 'new');
    await done;
    assert.deepEqual(await readdir(parent), ['layer']);
    assert.deepEqual(await readdir(target), ['new']);
  });

  it('gives distinct trash names to two removals of the same name', async () => {
    const parent = await tempDir();
    const target = join(parent, 'layer');
    await mkdir(target);
    await writeFile(join(target, 'one'), '1');
    const first = removeInBackground(target);
    await mkdir(target);
    await writeFile(join(target, 'two'), '2');
    const second = removeInBackground(target);
    await Promise.all([first.done, second.done]);
    assert.deepEqual(await readdir(parent), []);
  });

  it('removes a plain file too', async () => {
    const parent = await tempDir();
    await writeFile(join(parent, 'file'), 'x');
    await removeInBackground(join(parent, 'file')).done;
    assert.deepEqual(await readdir(parent), []);
  });

  it('takes a missing path as already removed', async () => {
    const parent = await tempDir();
    await removeInBackground(join(parent, 'never-there')).done;
    assert.deepEqual(await readdir(parent), []);
  });

  it('throws (synchronously) what the rename meets besides ENOENT', async () => {
    const parent = await tempDir();
    await writeFile(join(parent, 'file'), 'x');
    // a path through a regular file: ENOTDIR, not a missing path
    assert.throws(() => removeInBackground(join(parent, 'file', 'below')), (err: NodeJS.ErrnoException) => err.code === 'ENOTDIR');
    assert.deepEqual(await readdir(parent), ['file']);
  });
});

describe('isTrash', () => {
  it('knows trash entries by their prefix only', () => {
    assert.equal(isTrash('.trash-layer.123.4'), true);
    assert.equal(isTrash('.trash-'), true);
    assert.equal(isTrash('layer'), false);
    assert.equal(isTrash('.trash'), false);
    assert.equal(isTrash('x.trash-layer'), false);
    assert.equal(isTrash('trash-layer'), false);
  });
});

describe('sweepTrash', () => {
  it('removes only the trash entries and leaves everything else', async () => {
    const dir = await tempDir();
    await fillTree(join(dir, '.trash-layer.1.1'));
    await writeFile(join(dir, '.trash-file.1.2'), 'x');
    await mkdir(join(dir, 'keep'));
    await writeFile(join(dir, 'keep', 'inside'), 'kept');
    await writeFile(join(dir, 'keep.txt'), 'kept');
    await writeFile(join(dir, '.trash'), 'not a trash entry');
    await mkdir(join(dir, 'keep', '.trash-nested.1.3'));
    await sweepTrash(dir);
    assert.deepEqual((await readdir(dir)).sort(), ['.trash', 'keep', 'keep.txt']);
    assert.deepEqual((await readdir(join(dir, 'keep'))).sort(), ['.trash-nested.1.3', 'inside'], 'only the top level is swept');
  });

  it('sweeps what an interrupted removeInBackground would leave', async () => {
    const dir = await tempDir();
    await fillTree(join(dir, 'layer'));
    const { done } = removeInBackground(join(dir, 'layer'));
    await sweepTrash(dir);
    await done;
    assert.deepEqual(await readdir(dir), []);
  });

  it('is fine with an empty directory and with a missing one', async () => {
    const dir = await tempDir();
    await sweepTrash(dir);
    assert.deepEqual(await readdir(dir), []);
    await sweepTrash(join(dir, 'missing'));
    assert.equal(existsSync(join(dir, 'missing')), false);
  });

  it('fails on a path that is not a directory', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'file'), 'x');
    await assert.rejects(sweepTrash(join(dir, 'file')), (err: NodeJS.ErrnoException) => err.code === 'ENOTDIR');
  });
});
