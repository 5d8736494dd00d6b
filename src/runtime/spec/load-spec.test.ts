import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpec } from './load-spec.ts';
import { defaultSpec } from './default-spec.ts';

const valid = (): ReturnType<typeof defaultSpec> => defaultSpec();

test('the default spec is valid', () => {
  assert.doesNotThrow(() => parseSpec(JSON.stringify(valid())));
});

test('bad JSON and bad fields are named', () => {
  assert.throws(() => parseSpec('{"a":', 'x/config.json'), /parse x\/config\.json: /);
  assert.throws(() => parseSpec('[]'), /not a JSON object/);
  const cases: Array<[(s: ReturnType<typeof valid>) => void, RegExp]> = [
    [(s) => (s.ociVersion = '2.0.0'), /ociVersion: unsupported version/],
    [(s) => delete (s as { root?: unknown }).root, /root\.path: required/],
    [(s) => (s.process!.args = []), /process\.args: must have at least one element/],
    [(s) => (s.process!.user.uid = -1), /process\.user\.uid: must be an integer >= 0/],
    [(s) => s.mounts!.push({ destination: 'rel' }), /mounts\[7\]\.destination: must be an absolute path/],
    [(s) => s.linux!.namespaces!.push({ type: 'pid' }), /duplicate namespace type pid/],
    [(s) => s.linux!.namespaces!.push({ type: 'bogus' as 'pid' }), /unknown namespace type "bogus"/],
    [(s) => (s.linux!.uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]), /uidMappings: set without a user namespace/],
    [(s) => s.linux!.namespaces!.push({ type: 'user' }), /a new user namespace needs uidMappings/],
    [(s) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'uts')), /hostname: cannot set a hostname without a private UTS namespace/],
    [(s) => (s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 5 }]), /soft limit 10 above hard limit 5/],
    [(s) => (s.linux!.devices = [{ type: 'x', path: '/dev/x' }]), /unknown device type "x"/],
    [(s) => (s.hooks = { prestart: [{ path: 'relative' }] }), /hooks\.prestart\[0\]\.path: must be an absolute path/],
  ];
  for (const [mutate, error] of cases) {
    const spec = valid();
    mutate(spec);
    assert.throws(() => parseSpec(JSON.stringify(spec)), error);
  }
});
