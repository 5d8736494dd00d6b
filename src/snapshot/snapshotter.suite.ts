/**
 * Conformance suite every Snapshotter implementation runs (containerd's snapshots/testsuite):
 * it drives the interface only — prepare, mount what it returns, write, commit, stack, view,
 * diff, remove — and checks what the kernel shows. Needs root, since it performs the mounts.
 */

import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { EngineError } from '../util/errors.ts';
import { mountAll, unmount } from './mount.ts';
import type { Snapshotter } from './snapshotter.ts';
import { readTar } from './tar/tar-reader.ts';

function kind(name: string): (err: unknown) => boolean {
  return (err) => err instanceof EngineError && err.kind === name;
}

function collector(): { out: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, callback) {
      parts.push(chunk);
      callback();
    },
  });
  return { out, bytes: () => Buffer.concat(parts) };
}

/** Registers the suite for the implementation `open` creates in a fresh directory. */
export function snapshotterSuite(name: string, open: (root: string) => Promise<Snapshotter>): void {
  describe(`${name} (Snapshotter conformance)`, { skip: process.getuid?.() !== 0 && 'needs root' }, () => {
    let base: string;
    let target: string;
    let s: Snapshotter;

    async function withMount<T>(key: string, fn: () => Promise<T>): Promise<T> {
      await mountAll(await s.mounts(key), target);
      try {
        return await fn();
      } finally {
        await unmount(target);
      }
    }

    before(async () => {
      base = await mkdtemp(join(tmpdir(), 'berth-snapshotter-suite-'));
      target = join(base, 'mnt');
      await mkdir(target);
      s = await open(join(base, 'root'));
    });
    after(async () => {
      await rm(base, { recursive: true, force: true });
    });

    it('commits an active snapshot that children see and views cannot change', async () => {
      await s.prepare('base-active');
      await withMount('base-active', () => writeFile(join(target, 'base.txt'), 'base'));
      await s.commit('base', 'base-active');
      await assert.rejects(s.stat('base-active'), kind('not-found'));
      assert.equal((await s.stat('base')).kind, 'committed');

      await s.prepare('child-active', 'base');
      await withMount('child-active', async () => {
        assert.equal(await readFile(join(target, 'base.txt'), 'utf8'), 'base');
        await writeFile(join(target, 'child.txt'), 'child');
        await writeFile(join(target, 'base.txt'), 'changed');
      });
      await s.commit('child', 'child-active');
      assert.equal((await s.stat('child')).parent, 'base');

      await s.view('child-view', 'child');
      await withMount('child-view', async () => {
        assert.deepEqual((await readdir(target)).sort(), ['base.txt', 'child.txt']);
        assert.equal(await readFile(join(target, 'base.txt'), 'utf8'), 'changed');
        await assert.rejects(writeFile(join(target, 'new.txt'), 'x'), { code: 'EROFS' });
      });
      await s.view('base-view', 'base');
      await withMount('base-view', async () => assert.equal(await readFile(join(target, 'base.txt'), 'utf8'), 'base'));
    });

    it('refuses invalid transitions with the right error kinds', async () => {
      await assert.rejects(s.prepare('x', 'no-such-parent'), kind('not-found'));
      await assert.rejects(s.prepare('base'), kind('already-exists'));
      await assert.rejects(s.prepare('y', 'child-view'), kind('invalid-argument'));
      await assert.rejects(s.commit('z', 'child-view'), kind('failed-precondition'));
      await assert.rejects(s.commit('base', 'no-such-key'), kind('not-found'));
      await assert.rejects(s.remove('base'), kind('failed-precondition'));
      await assert.rejects(s.remove('no-such-key'), kind('not-found'));
    });

    it('diffs a snapshot against its parent', async () => {
      await s.prepare('d', 'child');
      await withMount('d', async () => {
        await rm(join(target, 'child.txt'));
        await writeFile(join(target, 'd.txt'), 'd');
      });
      const sink = collector();
      const result = await s.diff('d', sink.out);
      const names: string[] = [];
      for await (const { header } of readTar(Readable.from([gunzipSync(sink.bytes())]))) names.push(header.name);
      assert.deepEqual(names, ['.wh.child.txt', 'd.txt']);
      assert.match(result.diffId, /^sha256:[0-9a-f]{64}$/);
    });

    it('walks every snapshot and removes them leaves first', async () => {
      const seen: string[] = [];
      await s.walk((info) => void seen.push(`${info.name}:${info.kind}`));
      assert.deepEqual(seen.sort(), ['base-view:view', 'base:committed', 'child-view:view', 'child:committed', 'd:active']);
      assert.ok((await s.usage('base')).inodes >= 2);
      for (const key of ['d', 'child-view', 'base-view', 'child', 'base']) await s.remove(key);
      const left: string[] = [];
      await s.walk((info) => void left.push(info.name));
      assert.deepEqual(left, []);
    });
  });
}
