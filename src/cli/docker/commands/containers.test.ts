import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filtersJson, timestampParam } from './containers.ts';

test('--since takes durations back from now, RFC 3339 and epoch seconds', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  assert.equal(timestampParam('90', now), '90');
  assert.equal(timestampParam('10m', now), (now / 1000 - 600).toFixed(9));
  assert.equal(timestampParam('1h30m', now), (now / 1000 - 5400).toFixed(9));
  assert.equal(timestampParam('2026-01-01T11:00:00Z', now), (now / 1000 - 3600).toFixed(9));
  assert.throws(() => timestampParam('yesterday', now), /failed to parse value as time or duration/);
});

test('--filter arguments become the API\'s map of lists', () => {
  assert.equal(filtersJson([]), undefined);
  assert.equal(filtersJson(['name=a', 'name=b', 'status=running']), '{"name":["a","b"],"status":["running"]}');
  assert.throws(() => filtersJson(['name']), /bad format of filter/);
});
