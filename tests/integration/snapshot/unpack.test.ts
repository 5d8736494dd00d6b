/**
 * Layer unpacking as root on real file systems: every entry kind lands with its owner, mode,
 * times and xattrs; whiteouts and opaque dirs mean what they should once overlayfs mounts the
 * layers; hostile layers are refused with nothing written outside and no snapshot left behind.
 */

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, link, lstat, mkdir, mkdtemp, readdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EngineError } from '../../../src/util/errors.ts';
import { applyLayer, unpackLayer } from '../../../src/image/unpack/index.ts';
import { OverlaySnapshotter, lgetxattrs, mountAll, unmount } from '../../../src/snapshot/index.ts';
import { chunks, gzip, isRoot, listTree, mountsUnder, removeTree, sha256, tarOf } from './helpers.ts';

let base: string;

/** pids of this process's children running `comm`. */
async function childrenNamed(comm: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const match = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
    if (match && match[1] === comm && Number(match[2]) === process.pid) pids.push(Number(entry));
  }
  return pids;
}

describe('unpack layers', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'berth-unpack-'));
  });
  after(async () => {
    for (const target of (await mountsUnder(base)).reverse()) await unmount(target, { lazy: true });
    assert.deepEqual(await mountsUnder(base), []);
    await removeTree(base);
  });

  it('applies a GNU tar layer with owners, setuid modes, times, hardlinks, devices and xattrs', async () => {
    const src = join(base, 'src');
    await mkdir(join(src, 'etc/sub'), { recursive: true });
    await writeFile(join(src, 'etc/owned'), 'secret');
    await chown(join(src, 'etc/owned'), 1000, 1000);
    await chmod(join(src, 'etc/owned'), 0o640);
    await writeFile(join(src, 'su'), 'binary');
    await chown(join(src, 'su'), 0, 0);
    await chmod(join(src, 'su'), 0o4755);
    await link(join(src, 'su'), join(src, 'su-hardlink'));
    await symlink('../su', join(src, 'etc/sub/link'));
    execFileSync('mknod', [join(src, 'null'), 'c', '1', '3']);
    execFileSync('mkfifo', [join(src, 'fifo')]);
    execFileSync('python3', ['-c', `import os; os.setxattr(${JSON.stringify(join(src, 'etc/owned'))}, 'user.berth', b'v1')`]);
    await utimes(join(src, 'etc'), 1600000000, 1600000000);
    const layerPath = join(base, 'layer.tar');
    execFileSync('tar', ['--format=posix', '--xattrs', '--xattrs-include=user.*', '--numeric-owner', '-C', src, '-cf', layerPath, '.']);
    const layer = await readFile(layerPath);

    const dest = join(base, 'dest');
    await mkdir(dest);
    const result = await applyLayer(dest, chunks(gzip(layer)), { hasParent: false });
    assert.equal(result.diffId, sha256(layer));
    assert.equal(result.size, layer.length);
    assert.equal(result.compression, 'gzip');
    assert.deepEqual(await listTree(dest), await listTree(src));
    assert.equal((await stat(join(dest, 'su'))).ino, (await stat(join(dest, 'su-hardlink'))).ino);
    assert.equal((await stat(join(dest, 'etc'))).mtimeMs, 1600000000 * 1000);
    const [attrs] = await lgetxattrs([join(dest, 'etc/owned')]);
    assert.equal(attrs?.get('user.berth')?.toString(), 'v1');
  });

  it('reads zstd and plain layers and reports the uncompressed diffID', async () => {
    const layer = tarOf([{ name: 'a/', mode: 0o755 }, { name: 'a/b.txt', content: 'zstd' }]);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: layer });
    for (const [data, compression] of [[zst, 'zstd'], [layer, 'none']] as const) {
      const dest = await mkdtemp(join(base, 'z-'));
      const result = await applyLayer(dest, chunks(data));
      assert.equal(result.compression, compression);
      assert.equal(result.diffId, sha256(layer));
      assert.equal(await readFile(join(dest, 'a/b.txt'), 'utf8'), 'zstd');
    }
  });

  it('a refused zstd layer leaves no zstd process behind', async () => {
    const layer = tarOf([{ name: '../evil', content: 'x' }, { name: 'big', content: randomBytes(8 << 20) }]);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: layer, maxBuffer: 64 << 20 });
    const dest = await mkdtemp(join(base, 'zr-'));
    await assert.rejects(applyLayer(dest, chunks(zst)), /escapes the layer root/);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(await childrenNamed('zstd'), []);
  });

  it('lets later entries replace earlier ones of another kind, as tar -x does', async () => {
    const dest = await mkdtemp(join(base, 'r-'));
    await applyLayer(dest, chunks(tarOf([
      { name: 'a/', mode: 0o700 },
      { name: 'a/x', content: 'x' },
      { name: 'a', content: 'now a file' },
      { name: 'f', content: 'file' },
      { name: 'f/', mode: 0o755 },
      { name: 'l', type: 'symlink', linkname: '/etc' },
      { name: 'l', content: 'not through the link' },
    ])));
    assert.deepEqual(await listTree(dest), ['a file 644 0:0 now a file', 'f/ dir 755 0:0', 'l file 644 0:0 not through the link']);
  });

  it('gives parents a layer only implies the attributes the lower layers show', async () => {
    const snapshotter = await OverlaySnapshotter.open(join(base, 'implied-snapshots'));
    const lower = await unpackLayer(snapshotter, chunks(tarOf([{ name: 'home/', mode: 0o755 }, { name: 'home/user/', mode: 0o700, uid: 1000, gid: 1000, mtime: 1500000000 }])));
    const upper = await unpackLayer(snapshotter, chunks(tarOf([{ name: 'home/user/.profile', uid: 1000, gid: 1000, content: 'x' }, { name: 'new/dir/file', content: 'y' }])), { parent: lower.name });
    const target = join(base, 'implied-mnt');
    await mkdir(target);
    await mountAll(await snapshotter.view('v', upper.name), target);
    try {
      const home = await lstat(join(target, 'home/user'));
      assert.deepEqual([home.mode & 0o7777, home.uid, home.gid, home.mtimeMs], [0o700, 1000, 1000, 1500000000 * 1000]);
      const implied = await lstat(join(target, 'new/dir'));
      assert.deepEqual([implied.mode & 0o7777, implied.uid], [0o755, 0]);
    } finally {
      await unmount(target);
    }
  });

  it('makes whiteouts last: same-layer entries win, and a parent swapped for a symlink is not followed', async () => {
    const dest = await mkdtemp(join(base, 'w-'));
    const outside = await mkdtemp(join(base, 'outside-w-'));
    await applyLayer(dest, chunks(tarOf([
      { name: '.wh.f', mode: 0 },
      { name: 'f', content: 'kept' },
      { name: 'a/.wh.x', mode: 0 },
      { name: 'a/.wh..wh..opq', mode: 0 },
      { name: 'a', type: 'symlink', linkname: outside },
      { name: 'gone/.wh.y', mode: 0 },
    ])), { hasParent: true });
    assert.deepEqual(await readdir(outside), []);
    assert.deepEqual(await lgetxattrs([outside]).then(([m]) => [...(m?.keys() ?? [])]), []);
    assert.deepEqual(await listTree(dest), [`a symlink 0:0 -> ${outside}`, 'f file 644 0:0 kept', 'gone/ dir 755 0:0', 'gone/y char 600 0:0 0']);
  });

  it('drops overlayfs xattrs a layer carries, keeping the others', async () => {
    const dest = await mkdtemp(join(base, 'x-'));
    const xattrs = new Map([['trusted.overlay.opaque', Buffer.from('y')], ['trusted.overlay.redirect', Buffer.from('/etc')], ['user.kept', Buffer.from('1')]]);
    await applyLayer(dest, chunks(tarOf([{ name: 'd/', xattrs }, { name: 'd/f', xattrs, content: 'f' }])));
    const found = await lgetxattrs([join(dest, 'd'), join(dest, 'd/f')]);
    assert.deepEqual(found.map((m) => [...m.keys()]), [['user.kept'], ['user.kept']]);
  });

  it('stacks whiteouts and opaque dirs so overlayfs shows the layers merged', async () => {
    const snapshotter = await OverlaySnapshotter.open(join(base, 'wh-snapshots'));
    const l1 = await unpackLayer(snapshotter, chunks(tarOf([
      { name: 'data/', mode: 0o755 },
      { name: 'data/keep.txt', content: 'keep-v1' },
      { name: 'data/remove-me.txt', content: 'x' },
      { name: 'opaque-dir/', mode: 0o755 },
      { name: 'opaque-dir/old1', content: 'old' },
      { name: 'opaque-dir/sub/old3', content: 'old' },
      { name: 'gone-dir/a', content: 'a' },
      { name: 'gone-dir/b', content: 'b' },
      { name: '.wh.ignored-in-base', content: '' },
    ])));
    // umoci's order: the opaque marker before its directory's own entry, `./` prefixes
    const l2 = await unpackLayer(snapshotter, chunks(tarOf([
      { name: './data/.wh.remove-me.txt', mode: 0 },
      { name: './.wh.gone-dir', mode: 0 },
      { name: './opaque-dir/.wh..wh..opq', mode: 0 },
      { name: './opaque-dir/', mode: 0o711 },
      { name: './opaque-dir/new.txt', content: 'new' },
      { name: './data/keep.txt', content: 'keep-v2' },
    ])), { parent: l1.name });
    const l3 = await unpackLayer(snapshotter, chunks(tarOf([{ name: './' }, { name: 'gone-dir/a', content: 'recreated' }])), { parent: l2.name });
    const mounts = await snapshotter.view('merged', l3.name);
    const target = join(base, 'wh-mnt');
    await mkdir(target);
    await mountAll(mounts, target);
    try {
      assert.deepEqual(await listTree(target), [
        'data/ dir 755 0:0',
        'data/keep.txt file 644 0:0 keep-v2',
        'gone-dir/ dir 755 0:0',
        'gone-dir/a file 644 0:0 recreated',
        'opaque-dir/ dir 711 0:0',
        'opaque-dir/new.txt file 644 0:0 new',
      ]);
    } finally {
      await unmount(target);
    }
    await snapshotter.remove('merged');
  });

  describe('hostile layers', () => {
    let snapshotter: OverlaySnapshotter;
    let outside: string;
    let fsDepth: string;
    before(async () => {
      snapshotter = await OverlaySnapshotter.open(join(base, 'evil-snapshots'));
      outside = join(base, 'outside');
      await mkdir(outside);
      // an active snapshot's fs dir is <root>/snapshots/<id>/fs: climb from there to `outside`
      fsDepth = relative(join(base, 'evil-snapshots/snapshots/1/fs'), outside);
    });

    const passwdBefore = { nlink: 0 };
    const cases: [string, () => Buffer, RegExp][] = [
      ['a ../ traversal', () => tarOf([{ name: `${fsDepth}/pwned`, content: 'x' }]), /entry ".*pwned" escapes the layer root/],
      ['an absolute path', () => tarOf([{ name: `${outside}/pwned`, content: 'x' }]), /escapes the layer root/],
      ['a file written through a symlink it planted', () => tarOf([{ name: 'evil', type: 'symlink', linkname: outside }, { name: 'evil/pwned', content: 'x' }]), /goes through symlink "evil"/],
      ['a symlinked parent climbing out', () => tarOf([{ name: 'up', type: 'symlink', linkname: '../../../..' }, { name: 'up/outside/pwned', content: 'x' }]), /goes through symlink "up"/],
      ['a hardlink to /etc/passwd', () => tarOf([{ name: 'passwd', type: 'link', linkname: '/etc/passwd' }]), /escapes the layer root/],
      ['a hardlink climbing to /etc/passwd', () => tarOf([{ name: 'passwd', type: 'link', linkname: '../../../../../../../../etc/passwd' }]), /escapes the layer root/],
      ['a hardlink through a symlink', () => tarOf([{ name: 'etc', type: 'symlink', linkname: '/etc' }, { name: 'passwd', type: 'link', linkname: 'etc/passwd' }]), /goes through symlink or file "etc"/],
    ];
    for (const [what, layer, message] of cases) {
      it(`refuses ${what} and leaves nothing behind`, async () => {
        passwdBefore.nlink = (await lstat('/etc/passwd')).nlink;
        await assert.rejects(unpackLayer(snapshotter, chunks(layer()), { label: 'sha256:evil' }), (err: unknown) => {
          assert.ok(err instanceof EngineError);
          assert.equal(err.kind, 'invalid-argument');
          assert.match(err.message, /^layer sha256:evil: /);
          assert.match(err.message, message);
          return true;
        });
        assert.deepEqual(await readdir(outside), []);
        assert.equal((await lstat('/etc/passwd')).nlink, passwdBefore.nlink);
        const left: string[] = [];
        await snapshotter.walk((info) => void left.push(info.name));
        assert.deepEqual(left, []);
        assert.deepEqual(await readdir(join(base, 'evil-snapshots/snapshots')), []);
      });
    }
  });
});
