/**
 * The tar reader and writer against GNU tar, the reference every layer builder is compared to:
 * archives GNU tar writes (gnu and posix formats) read back entry for entry, and archives we
 * write list and extract identically under GNU tar.
 */

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { readTar } from './tar-reader.ts';
import type { TarHeader } from './tar-reader.ts';
import { END_OF_ARCHIVE, encodeTarHeader, tarPadding } from './tar-writer.ts';

let dir: string;
const longDir = 'd'.repeat(120);
const longName = `${longDir}/${'f'.repeat(150)}`;

async function entries(path: string): Promise<{ header: TarHeader; content: string }[]> {
  const out = [];
  for await (const { header, body } of readTar(createReadStream(path))) {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk);
    out.push({ header, content: Buffer.concat(chunks).toString() });
  }
  return out;
}

describe('tar reader', () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-tar-'));
    const src = join(dir, 'src');
    await mkdir(join(src, longDir), { recursive: true });
    await writeFile(join(src, longName), 'long');
    await writeFile(join(src, 'a.txt'), 'hello');
    await link(join(src, 'a.txt'), join(src, 'b.txt'));
    await symlink('x'.repeat(140), join(src, 'sym'));
    execFileSync('python3', ['-c', `import os; os.setxattr(${JSON.stringify(join(src, 'a.txt'))}, 'user.test', b'\\x00bin\\xff')`]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const format of ['gnu', 'posix']) {
    it(`reads GNU tar's ${format} format: long names, long links, hardlinks, xattrs`, async () => {
      const archive = join(dir, `${format}.tar`);
      const xattrFlags = format === 'posix' ? ['--xattrs', '--xattrs-include=user.*'] : [];
      execFileSync('tar', [...xattrFlags, `--format=${format}`, '--sort=name', '-C', join(dir, 'src'), '-cf', archive, '.']);
      const got = await entries(archive);
      const byName = new Map(got.map((e) => [e.header.name.replace(/^\.\//, '').replace(/\/$/, ''), e]));
      assert.equal(byName.get(longName)?.content, 'long');
      assert.equal(byName.get(longName)?.header.type, 'file');
      assert.equal(byName.get(longDir)?.header.type, 'dir');
      assert.equal(byName.get('a.txt')?.content, 'hello');
      assert.equal(byName.get('b.txt')?.header.type, 'link');
      assert.equal(byName.get('b.txt')?.header.linkname, './a.txt');
      assert.equal(byName.get('sym')?.header.type, 'symlink');
      assert.equal(byName.get('sym')?.header.linkname, 'x'.repeat(140));
      if (format === 'posix') assert.deepEqual(byName.get('a.txt')?.header.xattrs.get('user.test'), Buffer.from([0, 0x62, 0x69, 0x6e, 0xff]));
    });
  }

  it('writes archives GNU tar extracts identically', async () => {
    const archive = join(dir, 'ours.tar');
    const body = Buffer.from('content of a file');
    const parts = [
      encodeTarHeader({ name: `${longDir}/`, type: 'dir', mode: 0o750, mtime: 1700000000 }),
      encodeTarHeader({ name: longName, type: 'file', size: body.length, mode: 0o4755, uid: 3000000, gid: 7, mtime: 1700000000 }),
      body,
      tarPadding(body.length),
      encodeTarHeader({ name: 'link', type: 'link', linkname: longName }),
      encodeTarHeader({ name: 'sym', type: 'symlink', linkname: 'y'.repeat(200) }),
      END_OF_ARCHIVE,
    ];
    await writeFile(archive, Buffer.concat(parts));
    const listing = execFileSync('tar', ['--numeric-owner', '-tvf', archive], { encoding: 'utf8' });
    assert.match(listing, /-rwsr-xr-x 3000000\/7\s+17 2023-11-14 \d\d:\d\d d{120}\/f{150}/);
    assert.match(listing, /hrw-r--r-- 0\/0\s+0 .* link link to d{120}\/f{150}/);
    const out = join(dir, 'out');
    await mkdir(out);
    execFileSync('tar', ['-C', out, '-xf', archive]);
    assert.equal(await readFile(join(out, 'link'), 'utf8'), 'content of a file');
    const back = await entries(archive);
    assert.deepEqual(back.map((e) => [e.header.name, e.header.type, e.header.uid]), [
      [`${longDir}/`, 'dir', 0],
      [longName, 'file', 3000000],
      ['link', 'link', 0],
      ['sym', 'symlink', 0],
    ]);
  });

  it('refuses a corrupted header', async () => {
    const block = encodeTarHeader({ name: 'a', type: 'file' });
    block[0] = 0x62;
    await assert.rejects(async () => {
      for await (const _ of readTar(Readable.from([Buffer.concat([block, END_OF_ARCHIVE])]))) void _;
    }, /checksum mismatch/);
  });
});
