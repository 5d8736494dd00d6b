import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSpec } from './spec/spec-opts.ts';
import { namespaceModes, parseIpcMode, parsePidMode, parseUtsMode, withNamespacePlan } from './namespace-modes.ts';

test('modes parse as Docker spells them; anything else is Docker\'s error', () => {
  assert.deepEqual(parseIpcMode(''), { kind: 'private' });
  assert.deepEqual(parseIpcMode('shareable'), { kind: 'shareable' });
  assert.deepEqual(parseIpcMode('container:pause'), { kind: 'container', ref: 'pause' });
  assert.throws(() => parseIpcMode('container:'), { message: 'invalid IPC mode: container:' });
  assert.throws(() => parseIpcMode('shared'), /invalid IPC mode: shared/);
  assert.deepEqual(parsePidMode('host'), { kind: 'host' });
  assert.deepEqual(parsePidMode('container:abc'), { kind: 'container', ref: 'abc' });
  assert.throws(() => parsePidMode('private'), /invalid PID mode: private/);
  assert.deepEqual(parseUtsMode('host'), { kind: 'host' });
  assert.throws(() => parseUtsMode('container:x'), /invalid UTS mode: container:x/);
  assert.deepEqual(namespaceModes({}), { IpcMode: 'private', PidMode: '', UTSMode: '' });
  assert.deepEqual(namespaceModes({ IpcMode: 'container:p', PidMode: 'host', UTSMode: 'host' }), { IpcMode: 'container:p', PidMode: 'host', UTSMode: 'host' });
});

test('a plan joins by path, drops host namespaces and the hostname, and binds a shared /dev/shm in place', () => {
  const spec = buildSpec([
    (s) => void (s.hostname = 'abc'),
    withNamespacePlan({
      ipc: { kind: 'join', path: '/proc/42/ns/ipc' },
      pid: { kind: 'join', path: '/proc/42/ns/pid' },
      uts: { kind: 'host' },
      shm: { kind: 'bind', source: '/var/lib/berth/containers/x/mounts/shm' },
    }),
  ]);
  const ns = spec.linux!.namespaces!;
  assert.deepEqual(ns.filter((n) => n.type === 'ipc'), [{ type: 'ipc', path: '/proc/42/ns/ipc' }]);
  assert.deepEqual(ns.filter((n) => n.type === 'pid'), [{ type: 'pid', path: '/proc/42/ns/pid' }]);
  assert.equal(ns.some((n) => n.type === 'uts'), false);
  assert.equal(spec.hostname, undefined);
  const shm = spec.mounts!.filter((m) => m.destination === '/dev/shm');
  assert.deepEqual(shm, [{ destination: '/dev/shm', type: 'bind', source: '/var/lib/berth/containers/x/mounts/shm', options: ['rbind', 'rprivate'] }]);
  // still after /dev, so the bind lands on the container's /dev tmpfs
  const at = (d: string): number => spec.mounts!.findIndex((m) => m.destination === d);
  assert.ok(at('/dev') < at('/dev/shm'));
});

test('private keeps the namespaces, host drops them, ipc none drops /dev/shm', () => {
  const priv = buildSpec([withNamespacePlan({ ipc: { kind: 'private' }, pid: { kind: 'private' }, uts: { kind: 'private' }, shm: { kind: 'none' } })]);
  for (const type of ['ipc', 'pid', 'uts'] as const) assert.deepEqual(priv.linux!.namespaces!.filter((n) => n.type === type), [{ type }]);
  assert.equal(priv.mounts!.some((m) => m.destination === '/dev/shm'), false);
  const host = buildSpec([withNamespacePlan({ ipc: { kind: 'host' }, pid: { kind: 'host' }, uts: { kind: 'private' }, shm: { kind: 'tmpfs' } })]);
  assert.equal(host.linux!.namespaces!.some((n) => n.type === 'ipc' || n.type === 'pid'), false);
  assert.equal(host.mounts!.find((m) => m.destination === '/dev/shm')?.type, 'tmpfs');
});
