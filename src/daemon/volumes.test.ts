import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Spec } from '../oci/runtime-spec.ts';
import { parseApiMount, parseBind, withMountPoints } from './volumes.ts';

describe('parseBind', () => {
  it('reads host binds, named and anonymous volumes', () => {
    assert.deepEqual(parseBind('/host/dir/:/ctr:ro,rshared'), { Type: 'bind', Source: '/host/dir', Destination: '/ctr', RW: false, Mode: 'ro,rshared', Propagation: 'rshared' });
    assert.deepEqual(parseBind('vol:/data'), { Type: 'volume', Name: 'vol', Source: '', Destination: '/data', RW: true, Mode: 'z', Propagation: '', CopyData: true });
    assert.deepEqual(parseBind('/anon'), { Type: 'volume', Source: '', Destination: '/anon', RW: true, Mode: '', Propagation: '', CopyData: true });
    assert.equal(parseBind('vol:/data:nocopy').CopyData, false);
  });

  it("refuses what Docker refuses", () => {
    assert.throws(() => parseBind('a:b:c:d'), /invalid volume specification/);
    assert.throws(() => parseBind('/h:relative'), /must be absolute/);
    assert.throws(() => parseBind('/h:/'), /destination can't be '\/'/);
    assert.throws(() => parseBind('/h:/c:bogus'), /invalid mode: bogus/);
    assert.throws(() => parseBind('vol:/c:rshared'), /propagation not supported for volumes/);
  });
});

describe('parseApiMount', () => {
  it('reads --mount bind, volume and tmpfs', () => {
    assert.deepEqual(parseApiMount({ Type: 'bind', Source: '/h', Target: '/c', ReadOnly: true, BindOptions: { Propagation: 'rslave' } }), { Type: 'bind', Source: '/h', Destination: '/c', RW: false, Mode: '', Propagation: 'rslave' });
    assert.deepEqual(parseApiMount({ Type: 'volume', Source: 'v', Target: '/c', VolumeOptions: { NoCopy: true } }), { Type: 'volume', Name: 'v', Source: '', Destination: '/c', RW: true, Mode: '', Propagation: '', CopyData: false });
    assert.deepEqual(parseApiMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1024, Mode: 0o1777 } }).TmpfsOptions, ['size=1024', 'mode=1777']);
    assert.throws(() => parseApiMount({ Type: 'bind', Target: '/c' }), /Source must not be empty/);
    assert.throws(() => parseApiMount({ Type: 'nfs', Target: '/c' }), /mount type unknown/);
  });
});

describe('withMountPoints', () => {
  it('emits bind and tmpfs mounts, parents before children, replacing mounts at the same place', () => {
    const spec: Spec = { ociVersion: '1.1.0', mounts: [{ destination: '/etc/hosts', type: 'bind', source: '/x/hosts', options: ['rbind'] }, { destination: '/tmp', type: 'tmpfs', source: 'tmpfs' }] };
    withMountPoints([
      { Type: 'volume', Name: 'v', Source: '/var/lib/berth/volumes/v/_data', Destination: '/etc', RW: false, Mode: 'ro', Propagation: '' },
      { Type: 'tmpfs', Source: '', Destination: '/tmp', RW: true, Mode: '', Propagation: '', TmpfsOptions: ['size=1024'] },
    ])(spec);
    assert.deepEqual(spec.mounts, [
      { destination: '/etc', type: 'bind', source: '/var/lib/berth/volumes/v/_data', options: ['rbind', 'rprivate', 'ro'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'size=1024'] },
      { destination: '/etc/hosts', type: 'bind', source: '/x/hosts', options: ['rbind'] },
    ]);
  });
});
