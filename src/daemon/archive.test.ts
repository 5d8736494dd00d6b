import assert from 'node:assert/strict';
import { lstatSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTar } from '../snapshot/index.ts';
import { tarTree } from '../snapshot/tar/tree.ts';
import { goFileMode } from './archive.ts';
import { ContainerView } from './container-view.ts';

let dir: string;
let rootfs: string;
let volume: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-archive-'));
  rootfs = join(dir, 'rootfs');
  volume = join(dir, 'volume');
  await mkdir(join(rootfs, 'etc'), { recursive: true });
  await mkdir(volume);
  await writeFile(join(rootfs, 'etc', 'passwd'), 'root:x:0:0\n');
  await writeFile(join(volume, 'f'), 'in volume\n');
  await symlink('/etc', join(rootfs, 'abs'));
  await symlink('../../../../../../etc', join(rootfs, 'climb'));
  await symlink('/data/f', join(rootfs, 'tovolume'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ContainerView', () => {
  const view = (): ContainerView => new ContainerView(rootfs, [{ destination: '/data', source: volume, rw: false }]);

  it('resolves symlinks inside the container, never above its root', async () => {
    assert.equal(await view().resolve('/abs/passwd', false), '/etc/passwd');
    assert.equal(await view().resolve('/climb/passwd', false), '/etc/passwd');
    assert.equal(view().hostPath(await view().resolve('/climb/passwd', false)), join(rootfs, 'etc', 'passwd'));
    assert.equal(await view().resolve('/abs', false), '/abs', 'the last component is kept unless asked');
    assert.equal(await view().resolve('/abs', true), '/etc');
    assert.equal(await view().resolve('/../../x', false), '/x');
  });

  it('maps paths under a mount to its source', async () => {
    assert.equal(view().hostPath(await view().resolve('/tovolume', true)), join(volume, 'f'));
    assert.equal(view().writable('/data/f'), false);
    assert.equal(view().writable('/etc/passwd'), true);
  });
});

describe('goFileMode', () => {
  it("sets Go's type bits the docker CLI tests", () => {
    assert.equal(goFileMode(lstatSync(join(rootfs, 'etc'))), 2 ** 31 + (lstatSync(join(rootfs, 'etc')).mode & 0o777));
    assert.equal(goFileMode(lstatSync(join(rootfs, 'abs'))) & 2 ** 27, 2 ** 27);
    assert.equal(goFileMode(lstatSync(join(rootfs, 'etc', 'passwd'))), lstatSync(join(rootfs, 'etc', 'passwd')).mode & 0o777);
  });
});

describe('tarTree', () => {
  it('archives a tree under a name, readable by our tar reader', async () => {
    const entries: Array<[string, string, string]> = [];
    for await (const { header, body } of readTar(tarTree(rootfs, 'root'))) {
      let text = '';
      for await (const chunk of body) text += chunk.toString();
      entries.push([header.name, header.type, header.type === 'symlink' ? header.linkname : text]);
    }
    assert.deepEqual(entries, [
      ['root/', 'dir', ''],
      ['root/abs', 'symlink', '/etc'],
      ['root/climb', 'symlink', '../../../../../../etc'],
      ['root/etc/', 'dir', ''],
      ['root/etc/passwd', 'file', 'root:x:0:0\n'],
      ['root/tovolume', 'symlink', '/data/f'],
    ]);
  });
});
