import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDeviceCgroupRule, parseDeviceCgroupRules, privilegedDevices, withDeviceCgroupRules, withDevices } from './devices.ts';
import { buildSpec, withBinds, withPrivileged } from './spec-opts.ts';

describe('--device-cgroup-rule', () => {
  it("reads moby's syntax: type, numbers or *, access", () => {
    assert.deepEqual(parseDeviceCgroupRule('c 1:3 mr'), { allow: true, type: 'c', major: 1, minor: 3, access: 'mr' });
    assert.deepEqual(parseDeviceCgroupRule('b 7:* rmw'), { allow: true, type: 'b', major: 7, minor: -1, access: 'rmw' });
    assert.deepEqual(parseDeviceCgroupRule('c *:1 w'), { allow: true, type: 'c', major: -1, minor: 1, access: 'w' });
    assert.deepEqual(parseDeviceCgroupRule('a *:* rwm'), { allow: true, type: 'a', major: -1, minor: -1, access: 'rwm' });
  });

  it("takes a lone 'a' for every device, and an 'a' rule's numbers as wildcards", () => {
    assert.deepEqual(parseDeviceCgroupRule('a'), { allow: true, type: 'a', major: -1, minor: -1, access: 'rwm' });
    assert.deepEqual(parseDeviceCgroupRule('a 1:1 r'), { allow: true, type: 'a', major: -1, minor: -1, access: 'r' });
  });

  it("refuses what moby refuses, in moby's words", () => {
    for (const rule of ['', 'x', 'c 1:1  rwm', 'c  1:1 rwm', ' c 1:1 rwm', 'c 1:1 rwm ', 'z 1:1 rwm', 'c 11 rwm', 'c a:a rwm', 'c -1:1 rwm', 'c 1:-1 rwm', 'c 1:1', 'c 1:1 x', 'c 1:1 rwmrwm']) {
      assert.throws(() => parseDeviceCgroupRule(rule), { kind: 'invalid-argument', message: `invalid device cgroup rule format: '${rule}'` });
    }
    assert.throws(() => parseDeviceCgroupRule('c 18446744073709551616:1 rwm'), { message: "invalid major value in device cgroup rule format: 'c 18446744073709551616:1 rwm'" });
    assert.throws(() => parseDeviceCgroupRule('c 1:9223372036854775808 rwm'), { message: "invalid minor value in device cgroup rule format: 'c 1:9223372036854775808 rwm'" });
    assert.equal(parseDeviceCgroupRule('c 4095:1048575 rwm').minor, 1048575);
  });

  it('allows the rules after the default deny-all and the --device rules, in order', () => {
    const device = { device: { type: 'c', path: '/dev/x', major: 10, minor: 200, fileMode: 0o600, uid: 0, gid: 0 }, rule: { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' } };
    const spec = buildSpec([withDevices([device]), withDeviceCgroupRules(parseDeviceCgroupRules(['c 1:3 mr', 'b 7:* rmw']))]);
    assert.deepEqual(spec.linux!.resources!.devices, [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'mr' },
      { allow: true, type: 'b', major: 7, minor: -1, access: 'rmw' },
    ]);
  });

  it('gives way to --privileged, which allows every device', () => {
    const spec = buildSpec([withDeviceCgroupRules(parseDeviceCgroupRules(['c 1:3 r'])), withPrivileged()]);
    assert.deepEqual(spec.linux!.resources!.devices, [{ allow: true, access: 'rwm' }]);
  });
});

describe('--privileged: the host /dev walk', { skip: process.getuid?.() !== 0 ? 'mounts a tmpfs and makes device nodes: needs root' : false }, () => {
  let dir = '';
  let dev = '';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-devices-test-'));
    dev = join(dir, 'dev');
    mkdirSync(dev);
    // a tmpfs of its own: the nodes never touch the filesystem the temp dir is on (it may be nodev)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=755', 'tmpfs', dev]);
    const mknod = (path: string, type: 'c' | 'b', major: number, minor: number, mode: string): void => {
      execFileSync('mknod', ['-m', mode, join(dev, path), type, String(major), String(minor)]);
    };
    mknod('null', 'c', 1, 3, '666');
    mknod('loop0', 'b', 7, 0, '660');
    mknod('fuse', 'c', 10, 229, '600');
    mknod('console', 'c', 5, 1, '600');
    mknod('ptmx', 'c', 5, 2, '666');
    mkdirSync(join(dev, 'cpu/0'), { recursive: true });
    mknod('cpu/0/cpuid', 'c', 203, 0, '400');
    // a large major and minor: the dev_t split must keep their high bits
    mknod('big', 'c', 4095, 1048575, '640');
    execFileSync('chown', ['12:34', join(dev, 'big')]);
    for (const skipped of ['pts', 'shm', 'mqueue', '.lxc', '.lxd-mounts', '.udev']) {
      mkdirSync(join(dev, skipped));
      mknod(`${skipped}/node`, 'c', 1, 5, '666');
    }
    mkdirSync(join(dev, 'net'));
    mknod('net/tun', 'c', 10, 200, '666');
    symlinkSync('null', join(dev, 'link-to-null'));
    symlinkSync('/proc/self/fd', join(dev, 'fd'));
    writeFileSync(join(dev, 'plain-file'), '');
    execFileSync('mkfifo', [join(dev, 'fifo')]);
  });

  after(() => {
    if (dev) execFileSync('umount', [dev]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds every char and block node with its numbers, mode and owner, at its /dev path', () => {
    const found = privilegedDevices(dev).sort((a, b) => a.path.localeCompare(b.path));
    assert.deepEqual(found, [
      { type: 'c', path: '/dev/big', major: 4095, minor: 1048575, fileMode: 0o640, uid: 12, gid: 34 },
      { type: 'c', path: '/dev/cpu/0/cpuid', major: 203, minor: 0, fileMode: 0o400, uid: 0, gid: 0 },
      { type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o600, uid: 0, gid: 0 },
      { type: 'b', path: '/dev/loop0', major: 7, minor: 0, fileMode: 0o660, uid: 0, gid: 0 },
      { type: 'c', path: '/dev/net/tun', major: 10, minor: 200, fileMode: 0o666, uid: 0, gid: 0 },
      { type: 'c', path: '/dev/null', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
    ]);
  });

  it('puts them in the spec once, after --device entries, which keep their place', () => {
    const mapped = { device: { type: 'c', path: '/dev/fuse', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 }, rule: { allow: true, type: 'c', major: 1, minor: 7, access: 'rw' } };
    const spec = buildSpec([withDevices([mapped]), withPrivileged(dev)]);
    const devices = spec.linux!.devices!;
    assert.equal(new Set(devices.map((d) => d.path)).size, devices.length);
    assert.deepEqual(devices.find((d) => d.path === '/dev/fuse'), mapped.device);
    assert.deepEqual(devices.map((d) => d.path).sort(), ['/dev/big', '/dev/cpu/0/cpuid', '/dev/fuse', '/dev/loop0', '/dev/net/tun', '/dev/null']);
    assert.deepEqual(spec.linux!.resources!.devices, [{ allow: true, access: 'rwm' }]);
  });

  it("adds none when the host's /dev is bound in whole", () => {
    const spec = buildSpec([withBinds([`${dev}:/dev`]), withPrivileged(dev)]);
    assert.equal(spec.linux!.devices, undefined);
  });

  it('reads a missing /dev as no devices', () => {
    assert.deepEqual(privilegedDevices(join(dir, 'absent')), []);
  });
});
