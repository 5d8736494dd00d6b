import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMountOptions, MS } from './mount-options.ts';

test('flags, propagation and data are told apart', () => {
  const p = parseMountOptions(['nosuid', 'noexec', 'rbind', 'ro', 'rslave', 'mode=755', 'size=65536k']);
  assert.equal(p.flags, MS.NOSUID | MS.NOEXEC | MS.BIND | MS.REC | MS.RDONLY);
  assert.deepEqual(p.propagation, [MS.SLAVE | MS.REC]);
  assert.equal(p.data, 'mode=755,size=65536k');
});

test('a later option undoes an earlier one', () => {
  assert.equal(parseMountOptions(['ro', 'rw']).flags, 0);
  assert.equal(parseMountOptions(['nodev', 'dev', 'noatime']).flags, MS.NOATIME);
});
