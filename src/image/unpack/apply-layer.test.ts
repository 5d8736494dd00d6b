/**
 * Entry path normalisation, the first line of defence against layers that climb out of their
 * directory, and the parts of the synchronous apply that the integration suite
 * (tests/integration/snapshot) does not reach: the per-layer directory cache, device stand-ins
 * resolved in one batch, and file bodies gathered into big writes.
 */

import { strict as assert } from 'node:assert';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { END_OF_ARCHIVE, encodeTarHeader, lgetxattrs, tarPadding } from '../../snapshot/index.ts';
import type { TarWriteHeader } from '../../snapshot/index.ts';
import { applyLayer, normalizeEntryPath } from './apply-layer.ts';

describe('normalizeEntryPath', () => {
  it('accepts the spellings real layers use', () => {
    assert.equal(normalizeEntryPath('./usr/bin/', 'l'), 'usr/bin');
    assert.equal(normalizeEntryPath('usr//lib/./x', 'l'), 'usr/lib/x');
    assert.equal(normalizeEntryPath('./', 'l'), '');
    assert.equal(normalizeEntryPath('a..b/..c', 'l'), 'a..b/..c');
  });

  for (const name of ['../etc/passwd', 'a/../../b', '/etc/passwd', 'a/..', '..']) {
    it(`refuses ${JSON.stringify(name)}`, () => {
      assert.throws(() => normalizeEntryPath(name, 'sha256:abc'), { message: `layer sha256:abc: entry ${JSON.stringify(name)} escapes the layer root` });
    });
  }
});

type Entry = Omit<TarWriteHeader, 'type' | 'size'> & { type?: TarWriteHeader['type']; content?: Buffer | string };

function tarOf(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const { content, ...entry } of entries) {
    const body = Buffer.from(content ?? '');
    const type = entry.type ?? (entry.name.endsWith('/') ? 'dir' : 'file');
    parts.push(encodeTarHeader({ mtime: 1700000000, ...entry, type, size: type === 'file' ? body.length : 0 }));
    if (type === 'file') parts.push(body, tarPadding(body.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

/** The archive in small uneven pieces, so bodies arrive split as they do from a network. */
async function* pieces(data: Buffer, size = 7001): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

describe('applyLayer', { skip: process.getuid?.() !== 0 && 'needs root' }, () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-apply-'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  it('writes a large body split across many chunks, with owner, setuid mode and time', async () => {
    const dest = await mkdtemp(join(base, 'big-'));
    const content = Buffer.alloc(300_000);
    for (let i = 0; i < content.length; i++) content[i] = (i * 31) % 251;
    await applyLayer(dest, pieces(tarOf([{ name: 'bin/tool', mode: 0o4755, uid: 7, gid: 8, mtime: 1600000000, content }])));
    assert.deepEqual(await readFile(join(dest, 'bin/tool')), content);
    const st = await lstat(join(dest, 'bin/tool'));
    assert.deepEqual([st.mode & 0o7777, st.uid, st.gid, st.mtimeMs], [0o4755, 7, 8, 1600000000 * 1000]);
  });

  it('refuses a file under a directory the same layer replaced with a symlink', async () => {
    const dest = await mkdtemp(join(base, 'swap-'));
    const outside = await mkdtemp(join(base, 'outside-'));
    const layer = tarOf([
      { name: 'd/', mode: 0o755 },
      { name: 'd/e/', mode: 0o755 },
      { name: 'd/e/a', content: 'cached parent' },
      { name: 'd', type: 'symlink', linkname: outside },
      { name: 'd/e/b', content: 'x' },
    ]);
    await assert.rejects(applyLayer(dest, pieces(layer), { label: 'l' }), { message: 'layer l: entry "d/e/b" goes through symlink "d"' });
    assert.deepEqual(await readdir(outside), []);
  });

  it('refuses a hardlink whose target directory the same layer replaced with a symlink', async () => {
    const dest = await mkdtemp(join(base, 'swap-link-'));
    const outside = await mkdtemp(join(base, 'outside-'));
    await mkdir(join(outside, 'e'));
    const layer = tarOf([
      { name: 'd/e/f', content: 'cached parent' },
      { name: 'd', type: 'symlink', linkname: outside },
      { name: 'stolen', type: 'link', linkname: 'd/e/f' },
    ]);
    await assert.rejects(applyLayer(dest, pieces(layer), { label: 'l' }), { message: 'layer l: hardlink "stolen" goes through symlink or file "d"' });
  });

  it('makes devices in one batch: hardlinks share the node, later entries and removed parents win', async () => {
    const dest = await mkdtemp(join(base, 'dev-'));
    await applyLayer(dest, pieces(tarOf([
      { name: 'dev/null', type: 'char', mode: 0o666, uid: 3, gid: 4, devmajor: 1, devminor: 3, xattrs: new Map([['trusted.berth', Buffer.from('v')]]) },
      { name: 'dev/null2', type: 'link', linkname: 'dev/null' },
      { name: 'dev/fifo', type: 'fifo', mode: 0o640 },
      { name: 'dev/fifo', content: 'a file now' },
      { name: 'gone/sda', type: 'block', devmajor: 8, devminor: 0 },
      { name: 'gone', content: 'a file where the dir was' },
      { name: 'swap/tty', type: 'char', devmajor: 5, devminor: 0 },
      { name: 'swap', type: 'symlink', linkname: '/dev' },
    ])));
    const nul = await lstat(join(dest, 'dev/null'));
    assert.ok(nul.isCharacterDevice());
    assert.deepEqual([nul.mode & 0o7777, nul.uid, nul.gid, nul.rdev, nul.nlink, nul.mtimeMs], [0o666, 3, 4, (1 << 8) | 3, 2, 1700000000 * 1000]);
    assert.equal((await lstat(join(dest, 'dev/null2'))).ino, nul.ino);
    assert.equal((await lgetxattrs([join(dest, 'dev/null')]))[0]?.get('trusted.berth')?.toString(), 'v');
    assert.equal(await readFile(join(dest, 'dev/fifo'), 'utf8'), 'a file now');
    assert.equal(await readFile(join(dest, 'gone'), 'utf8'), 'a file where the dir was');
    assert.ok((await lstat(join(dest, 'swap'))).isSymbolicLink());
  });
});
