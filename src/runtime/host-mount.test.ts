/** Host mount plans: mount(8)'s option handling, as launcher ops for berth-shim. */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostMountPlan, hostUnmountPlan } from './host-mount.ts';
import { MS } from './rootfs/mount-options.ts';

test('an overlay passes its layer options as data, from the directory they are relative to', () => {
  const plan = hostMountPlan({ type: 'overlay', source: 'overlay', options: ['lowerdir=1/fs:2/fs', 'upperdir=3/fs', 'workdir=3/work'] }, '/c/rootfs', '/snapshots');
  assert.deepEqual(plan, [
    { op: 'CHDIR', args: ['/snapshots'] },
    { op: 'MOUNT', args: ['overlay', '/c/rootfs', 'overlay', 0, 'lowerdir=1/fs:2/fs,upperdir=3/fs,workdir=3/work'] },
  ]);
});

test('a read-only bind is a bind, then a read-only remount', () => {
  const plan = hostMountPlan({ type: 'bind', source: '/layers/1/fs', options: ['ro', 'rbind'] }, '/c/rootfs');
  assert.deepEqual(plan, [
    { op: 'MOUNT', args: ['/layers/1/fs', '/c/rootfs', '', MS.BIND | MS.REC, ''] },
    { op: 'MOUNT', args: ['', '/c/rootfs', '', MS.REMOUNT | MS.BIND | MS.RDONLY, ''] },
  ]);
});

test('a read-write bind needs no remount; propagation is its own call', () => {
  const plan = hostMountPlan({ type: 'bind', source: '/layers/1/fs', options: ['rw', 'rbind', 'rprivate'] }, '/c/rootfs');
  assert.deepEqual(plan, [
    { op: 'MOUNT', args: ['/layers/1/fs', '/c/rootfs', '', MS.BIND | MS.REC, ''] },
    { op: 'MOUNT', args: ['', '/c/rootfs', '', MS.PRIVATE | MS.REC, ''] },
  ]);
});

test('an unmount is one UMOUNT, lazy on request', () => {
  assert.deepEqual(hostUnmountPlan('/c/rootfs'), [{ op: 'UMOUNT', args: ['/c/rootfs', 0] }]);
  assert.deepEqual(hostUnmountPlan('/c/rootfs', { lazy: true }), [{ op: 'UMOUNT', args: ['/c/rootfs', 2] }]);
});
