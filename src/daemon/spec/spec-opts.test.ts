import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DOCKER_DEFAULT_CAPABILITIES } from '../../runtime/security/index.ts';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from '../../runtime/spec/default-spec.ts';
import {
  baseSpec,
  buildSpec,
  effectiveCapabilities,
  boundingSetOf,
  parseSecurityOpts,
  withBinds,
  withCgroupsPath,
  withEtcFiles,
  withNetworkNone,
  withPrivileged,
  withProcess,
  withResources,
  withShmSize,
  withTmpfs,
  withUlimits,
} from './spec-opts.ts';

describe('Docker base spec', () => {
  it("has Docker's capabilities, masked and read-only /proc paths, and no no_new_privs", () => {
    const spec = baseSpec();
    assert.deepEqual(spec.process!.capabilities!.bounding, [...DOCKER_DEFAULT_CAPABILITIES]);
    assert.deepEqual(spec.process!.capabilities!.effective, [...DOCKER_DEFAULT_CAPABILITIES]);
    assert.deepEqual(spec.linux!.maskedPaths, DEFAULT_MASKED_PATHS);
    assert.deepEqual(spec.linux!.readonlyPaths, DEFAULT_READONLY_PATHS);
    assert.equal(spec.process!.noNewPrivileges, false);
    assert.equal(spec.process!.terminal, false);
    assert.deepEqual(spec.linux!.namespaces!.map((n) => n.type).sort(), ['cgroup', 'ipc', 'mount', 'network', 'pid', 'uts']);
  });
});

describe('capabilities (--cap-add, --cap-drop, --privileged)', () => {
  it('adds and drops on top of the defaults, accepting names without CAP_', () => {
    const caps = effectiveCapabilities(['sys_admin'], ['CAP_NET_RAW', 'mknod']);
    assert.ok(caps.includes('CAP_SYS_ADMIN'));
    assert.ok(!caps.includes('CAP_NET_RAW'));
    assert.ok(!caps.includes('CAP_MKNOD'));
    assert.ok(caps.includes('CAP_CHOWN'));
  });

  it('drop ALL keeps only what is added', () => {
    assert.deepEqual(effectiveCapabilities(['CHOWN'], ['ALL']), ['CAP_CHOWN']);
  });

  it('add ALL or --privileged gives every capability', () => {
    assert.ok(effectiveCapabilities(['ALL']).includes('CAP_SYS_ADMIN'));
    assert.ok(effectiveCapabilities([], [], true).includes('CAP_SYS_MODULE'));
  });

  it('all is what the daemon holds (its bounding set); a capability named alone is still asked for', () => {
    const held = boundingSetOf('Name:\tberthd\nCapBnd:\t000001fffeffffff\n');
    assert.equal(held.has('CAP_SYS_RESOURCE'), false);
    assert.equal(held.has('CAP_SYS_MODULE'), true);
    assert.equal(effectiveCapabilities([], [], true, held).includes('CAP_SYS_RESOURCE'), false);
    assert.equal(effectiveCapabilities(['ALL'], [], false, held).includes('CAP_SYS_RESOURCE'), false);
    assert.equal(effectiveCapabilities([], [], true, held).length, held.size);
    assert.ok(effectiveCapabilities(['SYS_RESOURCE'], [], false, held).includes('CAP_SYS_RESOURCE'));
  });

  it("refuses unknown names with Docker's message", () => {
    assert.throws(() => effectiveCapabilities(['FOO']), /unknown capability: "CAP_FOO"/);
  });
});

describe('spec options', () => {
  it('sets the process, hostname-independent cgroups path and /etc bind mounts', () => {
    const spec = buildSpec([
      withProcess({ args: ['sh', '-c', 'exit 3'], env: ['PATH=/bin', 'A=1'], cwd: '', uid: 1000, gid: 100, additionalGids: [5] }),
      withCgroupsPath('/berth/abc'),
      withEtcFiles({ hostname: '/c/hostname', hosts: '/c/hosts', resolvConf: '/c/resolv.conf' }),
    ]);
    assert.deepEqual(spec.process!.args, ['sh', '-c', 'exit 3']);
    assert.equal(spec.process!.cwd, '/');
    assert.deepEqual(spec.process!.user, { uid: 1000, gid: 100, additionalGids: [5] });
    assert.equal(spec.linux!.cgroupsPath, '/berth/abc');
    const etc = spec.mounts!.filter((m) => m.destination.startsWith('/etc/'));
    assert.deepEqual(etc.map((m) => [m.destination, m.source, m.type]), [
      ['/etc/resolv.conf', '/c/resolv.conf', 'bind'],
      ['/etc/hostname', '/c/hostname', 'bind'],
      ['/etc/hosts', '/c/hosts', 'bind'],
    ]);
  });

  it('--network none keeps exactly one network namespace of its own', () => {
    const spec = buildSpec([withNetworkNone(), withNetworkNone()]);
    assert.deepEqual(spec.linux!.namespaces!.filter((n) => n.type === 'network'), [{ type: 'network' }]);
  });

  it('translates memory, cpus, shares, pids and blkio limits', () => {
    const spec = buildSpec([withResources({ Memory: 64 << 20, NanoCpus: 1_500_000_000, CpuShares: 512, PidsLimit: 10, BlkioWeight: 300, CpusetCpus: '0' })]);
    const r = spec.linux!.resources!;
    assert.equal(r.memory!.limit, 64 << 20);
    assert.equal(r.memory!.swap, 128 << 20);
    assert.deepEqual(r.cpu, { shares: 512, period: 100_000, quota: 150_000, cpus: '0' });
    assert.deepEqual(r.pids, { limit: 10 });
    assert.deepEqual(r.blockIO, { weight: 300 });
    // the default device rules stay
    assert.ok(r.devices!.length > 0);
  });

  it('leaves unset limits out', () => {
    const r = buildSpec([withResources({ PidsLimit: 0, Memory: 0 })]).linux!.resources!;
    assert.equal(r.memory, undefined);
    assert.equal(r.pids, undefined);
    assert.equal(r.cpu, undefined);
  });

  it('--privileged lifts masks, device rules and read-only sysfs', () => {
    const spec = buildSpec([withPrivileged()]);
    assert.equal(spec.linux!.maskedPaths, undefined);
    assert.equal(spec.linux!.readonlyPaths, undefined);
    assert.deepEqual(spec.linux!.resources!.devices, [{ allow: true, access: 'rwm' }]);
    const sys = spec.mounts!.find((m) => m.destination === '/sys')!;
    assert.ok(!sys.options!.includes('ro'));
  });

  it('-v binds with ro and propagation, refusing relative or named sources', () => {
    const spec = buildSpec([withBinds(['/srv/data:/data:ro', '/tmp:/t:rshared'])]);
    const binds = spec.mounts!.filter((m) => m.type === 'bind');
    assert.deepEqual(binds.map((m) => [m.source, m.destination, m.options]), [
      ['/srv/data', '/data', ['rbind', 'rprivate', 'ro']],
      ['/tmp', '/t', ['rbind', 'rshared']],
    ]);
    assert.throws(() => buildSpec([withBinds(['vol:/data'])]), /named volumes are not supported/);
    assert.throws(() => buildSpec([withBinds(['/a:rel'])]), /destination must be an absolute path/);
    assert.throws(() => buildSpec([withBinds(['/a:/b:bogus'])]), /invalid mode: bogus/);
  });

  it('--tmpfs, --shm-size and --ulimit', () => {
    const spec = buildSpec([withTmpfs({ '/run': 'size=1m' }), withShmSize(1 << 20), withUlimits([{ Name: 'nofile', Soft: 10, Hard: 20 }])]);
    assert.deepEqual(spec.mounts!.find((m) => m.destination === '/run')!.options, ['noexec', 'nosuid', 'nodev', 'size=1m']);
    assert.ok(spec.mounts!.find((m) => m.destination === '/dev/shm')!.options!.includes(`size=${1 << 20}`));
    assert.deepEqual(spec.process!.rlimits!.find((r) => r.type === 'RLIMIT_NOFILE'), { type: 'RLIMIT_NOFILE', soft: 10, hard: 20 });
  });

  it('parses --security-opt', () => {
    assert.deepEqual(parseSecurityOpts(['seccomp=unconfined', 'no-new-privileges']), { seccomp: 'unconfined', noNewPrivileges: true });
    assert.deepEqual(parseSecurityOpts(['no-new-privileges:true']), { seccomp: 'default', noNewPrivileges: true });
    assert.throws(() => parseSecurityOpts(['bogus=1']), /invalid --security-opt/);
  });
});
