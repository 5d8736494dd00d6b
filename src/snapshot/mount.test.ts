/**
 * Overlay option compaction: the rewrite that lets 120+ layer stacks fit the kernel's one-page
 * limit on mount data, and its refusal when even relative paths cannot fit.
 */

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { compactOverlayOptions } from './mount.ts';

describe('compactOverlayOptions', () => {
  it('leaves options that fit alone', () => {
    const options = ['lowerdir=/s/2/fs:/s/1/fs', 'upperdir=/s/3/fs', 'workdir=/s/3/work'];
    assert.deepEqual(compactOverlayOptions(options), { options });
  });

  it('rewrites long stacks relative to the common directory', () => {
    const root = `/var/lib/berth/${'x'.repeat(40)}/snapshots`;
    const lowers = Array.from({ length: 130 }, (_, i) => `${root}/${130 - i}/fs`);
    const options = [`lowerdir=${lowers.join(':')}`, `upperdir=${root}/131/fs`, `workdir=${root}/131/work`, 'volatile'];
    const compact = compactOverlayOptions(options);
    assert.equal(compact.cwd, root);
    assert.equal(compact.options[0]?.startsWith('lowerdir=130/fs:129/fs:'), true);
    assert.deepEqual(compact.options.slice(1), ['upperdir=131/fs', 'workdir=131/work', 'volatile']);
    assert.ok(compact.options.join(',').length < 4096);
  });

  it('refuses stacks that cannot fit even relative', () => {
    const lowers = Array.from({ length: 600 }, (_, i) => `/s/${'a'.repeat(8)}${i}/fs`);
    assert.throws(() => compactOverlayOptions([`lowerdir=${lowers.join(':')}`]), /do not fit in one page/);
  });
});
