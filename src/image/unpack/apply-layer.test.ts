/**
 * Entry path normalisation, the first line of defence against layers that climb out of their
 * directory (the kernel-facing behaviour is covered by tests/integration/snapshot).
 */

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { normalizeEntryPath } from './apply-layer.ts';

describe('normalizeEntryPath', () => {
  it('accepts the spellings real layers use', () => {
    assert.equal(normalizeEntryPath('./usr/bin/', 'l'), 'usr/bin');
    assert.equal(normalizeEntryPath('usr//lib/./x', 'l'), 'usr/lib/x');
    assert.equal(normalizeEntryPath('./', 'l'), '');
    assert.equal(normalizeEntryPath('a..b/..c', 'l'), 'a..b/..c');
  });

  for (const name of ['../etc/passwd', 'a/../../b', '/etc/passwd', 'a/..', '..']) {
    it(`refuses ${JSON.stringify(name)}`, () => {
      assert.throws(() => normalizeEntryPath(name, 'sha256:abc'), { message: `layer sha256:abc: entry ${JSON.stringify(name)} escapes the layer root` });
    });
  }
});
