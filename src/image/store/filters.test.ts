import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globToRegExp, matchesLabels, matchesReference, parseListFilters } from './filters.ts';

describe('reference filter', () => {
  it('matches like path.Match: * stops at /', () => {
    assert.ok(globToRegExp('busy*').test('busybox'));
    assert.ok(!globToRegExp('*').test('127.0.0.1:5000/busybox'));
    assert.ok(globToRegExp('*/*').test('127.0.0.1:5000/busybox'));
    assert.ok(globToRegExp('b[a-u]sybox').test('busybox'));
    assert.ok(!globToRegExp('b?x').test('b/x'));
  });

  it('matches the repository alone or with its tag', () => {
    const names = [{ repository: 'busybox', tag: 'latest' }];
    assert.ok(matchesReference(['busybox'], names));
    assert.ok(matchesReference(['busybox:lat*'], names));
    assert.ok(!matchesReference(['busybox:1*'], names));
    assert.ok(!matchesReference(['nginx', 'debian*'], names));
  });
});

describe('label filter', () => {
  it('checks presence and value', () => {
    assert.ok(matchesLabels(['a'], { a: '1' }));
    assert.ok(matchesLabels(['a=1', 'b'], { a: '1', b: '' }));
    assert.ok(!matchesLabels(['a=2'], { a: '1' }));
    assert.ok(!matchesLabels(['c'], undefined));
    assert.ok(matchesLabels([], undefined));
  });
});

describe('parseListFilters', () => {
  it('parses docker filter arguments', () => {
    assert.deepEqual(parseListFilters(['dangling=true', 'reference=busy*', 'reference=nginx', 'label=a=b', 'before=x', 'since=y']), {
      dangling: true,
      reference: ['busy*', 'nginx'],
      label: ['a=b'],
      before: 'x',
      since: 'y',
    });
  });

  it('refuses unknown filters and bad values', () => {
    assert.throws(() => parseListFilters(['color=red']), /invalid filter 'color'/);
    assert.throws(() => parseListFilters(['dangling=maybe']), /invalid filter/);
    assert.throws(() => parseListFilters(['dangling']), /bad format/);
  });
});
