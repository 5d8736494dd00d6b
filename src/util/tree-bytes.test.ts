import assert from 'node:assert/strict';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { treeBytes } from './tree-bytes.ts';

test("measures a tree as moby's directory.Size does: apparent bytes, links once, directories not", () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tree-bytes-'));
  try {
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc', 'x'), 'hi');
    writeFileSync(join(dir, 'big'), Buffer.alloc(5000));
    linkSync(join(dir, 'big'), join(dir, 'big-again'));
    symlinkSync('/nowhere/at/all', join(dir, 'link'));
    assert.equal(treeBytes(dir), 2 + 5000 + '/nowhere/at/all'.length);
    assert.equal(treeBytes(join(dir, 'gone')), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
