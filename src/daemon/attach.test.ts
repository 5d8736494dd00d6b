import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixedNanoTime, logRotation, parseApiTime, parseByteSize } from './attach.ts';

test('sizes as docker units.RAMInBytes reads them', () => {
  assert.equal(parseByteSize('100'), 100);
  assert.equal(parseByteSize('1k'), 1024);
  assert.equal(parseByteSize('10m'), 10 * 1024 * 1024);
  assert.equal(parseByteSize('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(parseByteSize('2MB'), 2 * 1024 * 1024);
  assert.throws(() => parseByteSize('lots'), /invalid size: 'lots'/);
});

test('log rotation options: defaults, limits and docker checks', () => {
  assert.deepEqual(logRotation({}), { maxSize: 0, maxFiles: 1 });
  assert.deepEqual(logRotation({ LogConfig: { Type: 'json-file', Config: { 'max-size': '1k', 'max-file': '3' } } }), { maxSize: 1024, maxFiles: 3 });
  assert.throws(() => logRotation({ LogConfig: { Config: { 'max-file': '0', 'max-size': '1k' } } }), /max-file cannot be less than 1/);
  assert.throws(() => logRotation({ LogConfig: { Config: { 'max-file': '2' } } }), /only be used with max-size/);
  assert.throws(() => logRotation({ LogConfig: { Type: 'syslog' } }), /logging driver syslog is not supported/);
  assert.deepEqual(logRotation({ LogConfig: { Type: 'none' } }), { maxSize: 0, maxFiles: 1 });
});

test('timestamps get nine fraction digits, as docker prints them', () => {
  assert.equal(fixedNanoTime('2026-01-02T03:04:05.5Z'), '2026-01-02T03:04:05.500000000Z');
  assert.equal(fixedNanoTime('2026-01-02T03:04:05Z'), '2026-01-02T03:04:05.000000000Z');
  assert.equal(fixedNanoTime('2026-01-02T03:04:05.123456789Z'), '2026-01-02T03:04:05.123456789Z');
});

test('since/until as the API sends them: seconds with an optional fraction', () => {
  assert.equal(parseApiTime('1700000000'), 1_700_000_000_000_000_000n);
  assert.equal(parseApiTime('1700000000.5'), 1_700_000_000_500_000_000n);
  assert.equal(parseApiTime('1700000000.000000001'), 1_700_000_000_000_000_001n);
  assert.throws(() => parseApiTime('yesterday'), /invalid value/);
});
