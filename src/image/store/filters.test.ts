import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globToRegExp, matchesLabels, matchesReference, parseListFilters, parsePruneFilters, prunableImage, untilCutoff } from './filters.ts';

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

  it('reads until as a unix time, a date or a Go duration back from now', () => {
    const now = Date.parse('2025-06-01T12:00:00Z');
    assert.equal(untilCutoff('1700000000', now), 1_700_000_000_000);
    assert.equal(untilCutoff('1700000000.5', now), 1_700_000_000_500);
    assert.equal(untilCutoff('2025-01-01T00:00:00Z', now), Date.parse('2025-01-01T00:00:00Z'));
    assert.equal(untilCutoff('1h', now), now - 3_600_000);
    assert.equal(untilCutoff('90m', now), now - 5_400_000);
    assert.throws(() => untilCutoff('soon', now), /failed to parse value as time or duration: "soon"/);
  });

  it("reads image prune filters as moby's ImagesPrune does", () => {
    const now = Date.parse('2025-06-01T12:00:00Z');
    assert.deepEqual(parsePruneFilters({}, now), {});
    assert.deepEqual(parsePruneFilters({ dangling: ['false'] }, now), { all: true });
    assert.deepEqual(parsePruneFilters({ dangling: ['TRUE'] }, now), { all: false });
    assert.deepEqual(parsePruneFilters({ until: ['1h'], label: ['a=1'], 'label!': ['b'] }, now), { until: now - 3_600_000, label: ['a=1'], labelNot: ['b'] });
    assert.throws(() => parsePruneFilters({ dangling: ['maybe'] }, now), /invalid filter 'dangling=maybe'/);
    assert.throws(() => parsePruneFilters({ until: ['1h', '2h'] }, now), /more than one until filter specified/);
    assert.throws(() => parsePruneFilters({ reference: ['x'] }, now), /invalid filter 'reference'/);
  });

  it('lets an image go only when until and the labels allow it', () => {
    const cutoff = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(prunableImage({ until: cutoff }, cutoff - 1, {}), true);
    assert.equal(prunableImage({ until: cutoff }, cutoff, {}), true);
    assert.equal(prunableImage({ until: cutoff }, cutoff + 1, {}), false);
    assert.equal(prunableImage({ until: cutoff }, Infinity, {}), false);
    assert.equal(prunableImage({ label: ['a=1'] }, 0, { a: '1' }), true);
    assert.equal(prunableImage({ label: ['a=1'] }, 0, { a: '2' }), false);
    // label!: kept only when it carries every one of them (moby's MatchKVList)
    assert.equal(prunableImage({ labelNot: ['keep'] }, 0, { keep: 'yes' }), false);
    assert.equal(prunableImage({ labelNot: ['keep', 'also'] }, 0, { keep: 'yes' }), true);
    assert.equal(prunableImage({ labelNot: ['keep'] }, 0, undefined), true);
  });

  it('takes until and label! in a list too', () => {
    const filters = parseListFilters(['until=1700000000', 'label!=x']);
    assert.deepEqual(filters, { until: 1_700_000_000_000, labelNot: ['x'] });
  });
});

