/** Tests for linux.cgroupsPath resolution (cgroupfs driver semantics). */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hierarchyDir, isSystemdCgroupsPath, parseCgroupsPath } from './cgroups-path.ts';

describe('parseCgroupsPath', () => {
  it('an absent path defaults to /berth/<id>', () => {
    assert.deepEqual(parseCgroupsPath(undefined, 'abc'), { path: '/berth/abc', relative: false });
    assert.deepEqual(parseCgroupsPath('', 'abc'), { path: '/berth/abc', relative: false });
  });

  it('an absolute path is taken from each hierarchy root, whatever cgroup the caller is in', () => {
    const spec = parseCgroupsPath('/foo/bar', 'abc');
    assert.deepEqual(spec, { path: '/foo/bar', relative: false });
    assert.equal(hierarchyDir('/sys/fs/cgroup/memory', spec, '/process_api/x'), '/sys/fs/cgroup/memory/foo/bar');
  });

  it('a relative path is taken from the caller’s own cgroup in that hierarchy', () => {
    const spec = parseCgroupsPath('foo/bar', 'abc');
    assert.deepEqual(spec, { path: 'foo/bar', relative: true });
    assert.equal(hierarchyDir('/sys/fs/cgroup/memory', spec, '/process_api/x'), '/sys/fs/cgroup/memory/process_api/x/foo/bar');
  });

  it('.. cannot climb out of the hierarchy or the caller’s cgroup', () => {
    assert.equal(parseCgroupsPath('/../../etc', 'abc').path, '/etc');
    const relative = parseCgroupsPath('../../x', 'abc');
    assert.equal(hierarchyDir('/cg', relative, '/own'), '/cg/own/x');
    assert.throws(() => parseCgroupsPath('/..', 'abc'), { kind: 'invalid-argument' });
  });

  it('the systemd slice:prefix:name form is refused as not implemented', () => {
    assert.equal(isSystemdCgroupsPath('system.slice:berth:abc'), true);
    assert.equal(isSystemdCgroupsPath('/a:b:c'), false);
    assert.throws(() => parseCgroupsPath('system.slice:berth:abc', 'abc'), {
      kind: 'not-implemented',
      message: /systemd cgroup driver/,
    });
  });

  it('a container id that would escape the default parent is refused', () => {
    assert.throws(() => parseCgroupsPath(undefined, '../x'), { kind: 'invalid-argument' });
  });
});
