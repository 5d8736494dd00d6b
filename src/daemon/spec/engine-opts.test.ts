import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkHealthConfig, probeArgs } from '../health.ts';
import { applyEtcOverrides, checkEtcOverrides, extraHostLines, resolvConfWith } from './etc-overrides.ts';
import { hostDevices, withDevices } from './devices.ts';
import { humanGoDuration } from '../../util/go-duration.ts';
import { baseSpec, buildSpec, withInit, withProcess } from './spec-opts.ts';

describe('--init', () => {
  it('runs the command after `--` under the init, mounted read-only', () => {
    const spec = buildSpec([withProcess({ args: ['sh', '-c', 'true'], env: [], cwd: '/', uid: 0, gid: 0 }), withInit('/opt/berth-init', '/sbin/docker-init')]);
    assert.deepEqual(spec.process!.args, ['/sbin/docker-init', '--', 'sh', '-c', 'true']);
    assert.deepEqual(spec.mounts!.at(-1), { destination: '/sbin/docker-init', type: 'bind', source: '/opt/berth-init', options: ['bind', 'ro'] });
  });
});

describe('--device', () => {
  it('recreates the host node with its numbers and allows it in the device cgroup', () => {
    const devices = hostDevices([{ PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rw' }]);
    assert.deepEqual(devices, [{ device: { type: 'c', path: '/dev/mynull', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 }, rule: { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' } }]);
    const spec = baseSpec();
    withDevices(devices)(spec);
    assert.deepEqual(spec.linux!.devices!.at(-1), devices[0]!.device);
    assert.deepEqual(spec.linux!.resources!.devices!.at(-1), devices[0]!.rule);
    assert.throws(() => hostDevices([{ PathOnHost: '/dev/nosuch-berth', PathInContainer: '/dev/x', CgroupPermissions: 'rwm' }]), /error gathering device information while adding custom device "\/dev\/nosuch-berth": no such file or directory/);
  });
});

describe('--add-host and --dns', () => {
  it('appends extra hosts and replaces the resolv.conf lines given', async () => {
    assert.equal(extraHostLines(['db:10.0.0.5', 'v6:::1']), '10.0.0.5\tdb\n::1\tv6\n');
    assert.throws(() => extraHostLines(['gw:host-gateway']), /unable to derive the IP value for host-gateway/);
    assert.throws(() => checkEtcOverrides({ NetworkMode: 'container:web', Dns: ['1.1.1.1'] }), { message: 'conflicting options: dns and the network mode' });
    assert.throws(() => checkEtcOverrides({ NetworkMode: 'container:web', ExtraHosts: ['a:1.2.3.4'] }), { message: 'conflicting options: custom host-to-IP mapping and the network mode' });
    checkEtcOverrides({ NetworkMode: 'none', Dns: ['1.1.1.1'], ExtraHosts: ['a:1.2.3.4'] });
    const host = 'search lan\nnameserver 10.1.1.1\noptions edns0\n';
    assert.equal(resolvConfWith(host, { Dns: ['9.9.9.9', '1.1.1.1'] }), 'search lan\noptions edns0\nnameserver 9.9.9.9\nnameserver 1.1.1.1\n');
    assert.equal(resolvConfWith(host, { DnsSearch: ['.'], DnsOptions: ['ndots:2'] }), 'nameserver 10.1.1.1\noptions ndots:2\n');
    // on a user network the file keeps the embedded server; --dns becomes its upstream instead
    assert.equal(resolvConfWith(host, { Dns: ['9.9.9.9'], DnsSearch: ['corp'] }, true), 'nameserver 10.1.1.1\noptions edns0\nsearch corp\n');
    const dir = await mkdtemp(join(tmpdir(), 'berth-etc-'));
    try {
      const files = { hostname: join(dir, 'hostname'), hosts: join(dir, 'hosts'), resolvConf: join(dir, 'resolv.conf') };
      await writeFile(files.hosts, '127.0.0.1\tlocalhost\n');
      await writeFile(files.resolvConf, host);
      await applyEtcOverrides(files, { ExtraHosts: ['db:10.0.0.5'], DnsSearch: ['example.org'] });
      assert.equal(await readFile(files.hosts, 'utf8'), '127.0.0.1\tlocalhost\n10.0.0.5\tdb\n');
      assert.equal(await readFile(files.resolvConf, 'utf8'), 'nameserver 10.1.1.1\noptions edns0\nsearch example.org\n');
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('healthcheck config', () => {
  it('probe commands: CMD as is, CMD-SHELL through the shell, NONE none', () => {
    assert.deepEqual(probeArgs(['CMD', 'curl', '-f', 'x'], undefined), ['curl', '-f', 'x']);
    assert.deepEqual(probeArgs(['CMD-SHELL', 'exit 1'], undefined), ['/bin/sh', '-c', 'exit 1']);
    assert.deepEqual(probeArgs(['CMD-SHELL', 'exit 1'], ['/bin/ash', '-eo', 'pipefail', '-c']), ['/bin/ash', '-eo', 'pipefail', '-c', 'exit 1']);
    assert.equal(probeArgs(['NONE'], undefined), undefined);
    assert.equal(probeArgs([], undefined), undefined);
  });

  it("refuses moby's invalid values", () => {
    checkHealthConfig({ Interval: 0, Timeout: 1_000_000, Retries: 0 });
    assert.throws(() => checkHealthConfig({ Interval: 999_999 }), { message: "Interval in Healthcheck cannot be less than 1ms" });
    assert.throws(() => checkHealthConfig({ StartInterval: 1 }), /StartInterval in Healthcheck cannot be less than 1ms/);
    assert.throws(() => checkHealthConfig({ Retries: -1 }), /Retries in Healthcheck cannot be negative/);
  });

  it("prints durations as Go's time.Duration does", () => {
    assert.deepEqual([0, 1_000_000, 1.5e6, 3e10, 9e10, 3.6e12, 1.25e9].map(humanGoDuration), ['0s', '1ms', '1.5ms', '30s', '1m30s', '1h0m0s', '1.25s']);
  });
});
