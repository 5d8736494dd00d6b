// Bad input gets a clear error naming the problem and leaves nothing behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { cleanupStateRoot, makeBundle, removeBundle, rt, uniqueId, forceDelete, testStateRoot, cgroupDir } from './helpers.ts';

after(cleanupStateRoot);

function assertNothingLeft(id: string): void {
  assert.equal(existsSync(join(testStateRoot(), id)), false, 'state dir removed');
  assert.equal(existsSync(cgroupDir('pids', id)), false, 'cgroup removed');
  assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(id), false, 'no mount left');
}

test('malformed config.json is refused with the parse error', () => {
  const bundle = makeBundle(['true']);
  const id = uniqueId('badjson');
  try {
    writeFileSync(join(bundle.dir, 'config.json'), '{"ociVersion": "1.1.0", ');
    const r = rt('create', '--bundle', bundle.dir, id);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /parse .*config\.json: /);
    assertNothingLeft(id);
  } finally {
    forceDelete(id);
    removeBundle(bundle);
  }
});

test('an invalid field is named', () => {
  const bundle = makeBundle(['true'], (spec) => {
    spec.process!.cwd = 'relative';
  });
  const id = uniqueId('badfield');
  try {
    const r = rt('create', '--bundle', bundle.dir, id);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /process\.cwd: must be an absolute path/);
    assertNothingLeft(id);
  } finally {
    removeBundle(bundle);
  }
});

test('a failing mount names the step, the target and the errno, and cleans up', () => {
  const bundle = makeBundle(['true'], (spec) => {
    spec.mounts!.push({ destination: '/mnt', type: 'nosuchfs', source: 'none' });
  });
  const id = uniqueId('badmount');
  try {
    const r = rt('create', '--bundle', bundle.dir, id);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /mount.*\/mnt.*ENODEV/);
    assertNothingLeft(id);
  } finally {
    forceDelete(id);
    removeBundle(bundle);
  }
});

test('a duplicate id is refused without touching the existing container', () => {
  const bundle = makeBundle(['sleep', '30']);
  const id = uniqueId('dup');
  try {
    assert.equal(rt('create', '--bundle', bundle.dir, id).code, 0);
    const r = rt('create', '--bundle', bundle.dir, id);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already exists/);
    assert.equal(JSON.parse(rt('state', id).stdout).status, 'created');
  } finally {
    forceDelete(id);
    removeBundle(bundle);
  }
});

test('unknown flags, commands and ids are errors', () => {
  assert.match(rt('create', '--no-such-flag', 'x').stderr, /Unknown option '--no-such-flag'/);
  assert.match(rt('frobnicate').stderr, /unknown command "frobnicate"/);
  assert.match(rt('state', 'nope').stderr, /container nope does not exist/);
  assert.match(rt('create', '--bundle', '/tmp', '../evil').stderr, /invalid container id/);
  assert.match(rt('--systemd-cgroup', 'list').stderr, /systemd cgroup driver is not supported/);
});

test('a symlink in the rootfs cannot send a mount onto the host', () => {
  const bundle = makeBundle(['sh', '-c', 'ls /escape'], (spec) => {
    spec.mounts!.push({ destination: '/escape', type: 'tmpfs', source: 'tmpfs' });
  });
  const id = uniqueId('symlink');
  try {
    // /escape → /etc on the host, if the runtime followed it outside the rootfs.
    const marker = readdirSync('/etc').length;
    symlinkSync('/etc', join(bundle.rootfs, 'escape'));
    const r = rt('run', '--bundle', bundle.dir, id);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readdirSync('/etc').length, marker, 'host /etc untouched');
  } finally {
    forceDelete(id);
    removeBundle(bundle);
  }
});
