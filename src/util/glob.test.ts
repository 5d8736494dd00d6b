import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IgnoreMatcher, matchGlob } from './glob.ts';

describe('matchGlob (Go filepath.Match)', () => {
  it('matches within one path element', () => {
    assert.equal(matchGlob('*.txt', 'a.txt'), true);
    assert.equal(matchGlob('*.txt', 'd/a.txt'), false);
    assert.equal(matchGlob('d/?.txt', 'd/a.txt'), true);
    assert.equal(matchGlob('[a-c].txt', 'b.txt'), true);
    assert.equal(matchGlob('[^a-c].txt', 'b.txt'), false);
    assert.equal(matchGlob('a.txt', 'a.txt'), true);
    assert.equal(matchGlob('a.txt', 'aXtxt'), false);
  });
});

describe('IgnoreMatcher (.dockerignore)', () => {
  it('excludes directories with everything below, and re-includes with !', () => {
    const m = new IgnoreMatcher('# comment\nnode_modules\n*.log\n!keep.log\n**/tmp\n/abs/\n');
    assert.equal(m.ignores('node_modules'), true);
    assert.equal(m.ignores('node_modules/x/y.js'), true);
    assert.equal(m.ignores('a.log'), true);
    assert.equal(m.ignores('keep.log'), false);
    assert.equal(m.ignores('sub/a.log'), false);
    assert.equal(m.ignores('deep/er/tmp/file'), true);
    assert.equal(m.ignores('tmp'), true);
    assert.equal(m.ignores('abs/f'), true);
    assert.equal(m.ignores('src/main.ts'), false);
    assert.equal(m.hasExclusions, true);
  });
  it('lets the last matching line win', () => {
    const m = new IgnoreMatcher('*\n!src\nsrc/*.bak\n');
    assert.equal(m.ignores('README'), true);
    assert.equal(m.ignores('src/a.ts'), false);
    assert.equal(m.ignores('src/a.bak'), true);
  });
});
