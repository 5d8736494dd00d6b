import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileInitPlan, sparePreparationPlan, SPARE_NAMESPACES, type InitPlanOptions } from './compile.ts';
import { defaultSpec } from '../spec/default-spec.ts';
import { encodePlan, step, type Plan } from './plan.ts';
import { CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUSER, CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWUTS } from './constants.ts';
import type { Spec } from '../../oci/runtime-spec.ts';

function options(spec: Spec, extra: Partial<InitPlanOptions> = {}): InitPlanOptions {
  return {
    spec,
    rootfs: '/b/rootfs',
    bundle: '/b',
    fifoPath: '/run/x/exec.fifo',
    mode: 'exit',
    cgroupProcs: ['/sys/fs/cgroup/pids/berth/x/cgroup.procs'],
    cgroupMounts: [{ name: 'pids', hostPath: '/sys/fs/cgroup/pids/berth/x' }],
    host: { selinux: false, apparmor: false },
    syncHooks: false,
    ...extra,
  };
}

function ops(plan: Plan): string[] {
  return plan.map((s) => s.op);
}

function find(plan: Plan, op: string): unknown[][] {
  return plan.filter((s) => s.op === op).map((s) => s.args);
}

test('the default spec compiles to launcher, clone, parent and child sections in order', () => {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  const plan = compileInitPlan(options(spec));
  const names = ops(plan);
  assert.equal(names[0], 'SET_DUMPABLE');
  assert.ok(names.indexOf('OPEN_FIFO') < names.indexOf('CLONE'));
  assert.ok(names.indexOf('CLONE') < names.indexOf('REPORT_PID'));
  assert.ok(names.indexOf('WRITE_PID_TO') < names.indexOf('EXIT'));
  assert.equal(names.indexOf('EXIT') + 1, names.indexOf('CHILD'));
  // Mounts before pivot_root, masked paths after, exec last.
  assert.ok(names.indexOf('MOUNT_IN_ROOT') < names.indexOf('PIVOT_ROOT'));
  assert.ok(names.indexOf('PIVOT_ROOT') < names.indexOf('MASK_PATH'));
  assert.ok(names.indexOf('READY') < names.indexOf('WAIT_START'));
  assert.equal(names.at(-1), 'EXEC');
  const [flags] = find(plan, 'CLONE')[0]!;
  // The cgroup namespace is unshared by the child once it sits in its cgroup, not cloned.
  assert.equal(Number(flags) & CLONE_NEWCGROUP, 0);
  assert.equal(Number(flags) & (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET), CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET);
  assert.deepEqual(find(plan, 'UNSHARE'), [[CLONE_NEWCGROUP]]);
  assert.deepEqual(find(plan, 'EXEC')[0]!.slice(0, 3), ['/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 1, 'sh']);
  assert.ok(encodePlan(plan).subarray(0, 8).equals(Buffer.from('BRTHPLN1')));
});

test('the child sets up its mounts while the parent moves it into its cgroup', () => {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  const names = ops(compileInitPlan(options(spec)));
  assert.ok(names.indexOf('REPORT_PID') < names.indexOf('RELEASE_CHILD'));
  assert.ok(names.indexOf('RELEASE_CHILD') < names.indexOf('WRITE_PID_TO'));
  assert.ok(names.indexOf('MOUNT_IN_ROOT') < names.indexOf('WAIT_PARENT'));
  // the cgroup namespace is rooted where the process sits when it unshares: after the wait
  assert.equal(names.indexOf('WAIT_PARENT') + 1, names.indexOf('UNSHARE'));
  assert.ok(names.indexOf('UNSHARE') < names.indexOf('PIVOT_ROOT'));

  const withoutCgroup = ops(compileInitPlan(options(spec, { cgroupProcs: [] })));
  assert.equal(withoutCgroup.includes('RELEASE_CHILD'), false);
  assert.equal(withoutCgroup.includes('WAIT_PARENT'), false);
  assert.ok(withoutCgroup.indexOf('UNSHARE') < withoutCgroup.indexOf('MOUNT_IN_ROOT'));
});

test('a cgroup v2 directory takes the child at clone time, opened before any namespace is joined', () => {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.linux!.namespaces = [...spec.linux!.namespaces!.filter((n) => n.type !== 'network'), { type: 'network', path: '/run/netns/x' }];
  const plan = compileInitPlan(options(spec, { cgroupProcs: [], cloneIntoCgroup: '/sys/fs/cgroup/berth/x' }));
  const names = ops(plan);
  assert.deepEqual(find(plan, 'CLONE_INTO_CGROUP'), [['/sys/fs/cgroup/berth/x']]);
  assert.ok(names.indexOf('CLONE_INTO_CGROUP') < names.indexOf('SETNS'));
  assert.ok(names.indexOf('SETNS') < names.indexOf('CLONE'));
  // nothing to migrate: no cgroup.procs write, the child runs straight through
  assert.equal(names.includes('WRITE_PID_TO'), false);
  assert.equal(names.includes('RELEASE_CHILD'), false);
  assert.equal(names.includes('WAIT_PARENT'), false);
});

test('a user namespace maps ids from the parent and makes the child its root', () => {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  spec.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 10 }];
  const plan = compileInitPlan(options(spec));
  assert.ok(Number(find(plan, 'CLONE')[0]![0]) & CLONE_NEWUSER);
  assert.deepEqual(find(plan, 'WRITE_CHILD_FILE'), [['uid_map', '0 100000 65536\n'], ['gid_map', '0 200000 10\n']]);
  const child = plan.slice(ops(plan).indexOf('CHILD') + 1);
  assert.deepEqual(child.slice(0, 2).map((s) => [s.op, ...s.args]), [['SETRESGID', 0], ['SETRESUID', 0]]);
  // mknod is refused in a user namespace: devices are bind-mounted from the host.
  assert.equal(find(plan, 'MKNOD_IN_ROOT').length, 0);
  assert.ok(find(plan, 'MOUNT_IN_ROOT').some((args) => args[0] === '/dev/null' && args[1] === '/dev/null'));
});

test('devices are made in a /dev of the container\'s own, never in one bound from elsewhere', () => {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.linux!.devices = [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }];
  const made = (s: Spec): unknown[] => find(compileInitPlan(options(s)), 'MKNOD_IN_ROOT').map((args) => args[0]);
  assert.ok(made(spec).includes('/dev/fuse'));
  assert.ok(made(spec).includes('/dev/null'));
  // the host's /dev, bound in: its nodes are the host's, not to be unlinked and made again
  spec.mounts = spec.mounts!.map((m) => (m.destination === '/dev' ? { destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] } : m));
  assert.deepEqual(made(spec), []);
  // no /dev mount at all: only the spec's devices, in the rootfs's own /dev
  spec.mounts = spec.mounts!.filter((m) => m.destination !== '/dev');
  assert.deepEqual(made(spec), ['/dev/fuse']);
});

test('namespaces given by path are joined, user first and mount last, and not cloned', () => {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.linux!.namespaces = [{ type: 'mount', path: '/proc/9/ns/mnt' }, { type: 'network', path: '/proc/9/ns/net' }, { type: 'pid' }, { type: 'user', path: '/proc/9/ns/user' }];
  const plan = compileInitPlan(options(spec));
  assert.deepEqual(find(plan, 'SETNS').map((a) => a[0]), ['/proc/9/ns/user', '/proc/9/ns/net', '/proc/9/ns/mnt']);
  assert.equal(Number(find(plan, 'CLONE')[0]![0]), CLONE_NEWPID);
});

test('seccomp goes last with no_new_privs, and before dropping capabilities without it', () => {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  const seccomp = { bpf: new Uint8Array(8), flags: 0 };
  let names = ops(compileInitPlan(options(spec, { seccomp })));
  assert.equal(names.at(-2), 'SECCOMP');
  spec.process!.noNewPrivileges = false;
  names = ops(compileInitPlan(options(spec, { seccomp })));
  assert.ok(names.indexOf('SECCOMP') < names.indexOf('CAP_BOUNDING'));
  assert.ok(names.indexOf('CHDIR') < names.indexOf('SECCOMP'), 'cwd is checked before a profile can deny getcwd');
});

test('a terminal needs a console socket or a relay', () => {
  const spec = defaultSpec();
  assert.throws(() => compileInitPlan(options(spec)), /no --console-socket/);
  assert.deepEqual(find(compileInitPlan(options(spec, { consoleSocket: '/tmp/sock' })), 'CONSOLE_SOCKET'), [['/tmp/sock']]);
  assert.equal(find(compileInitPlan(options(spec, { relayConsole: true, mode: 'wait' })), 'CONSOLE_PAIR').length, 1);
  // the init's terminal is the OCI spec's /dev/console
  assert.deepEqual(find(compileInitPlan(options(spec, { consoleSocket: '/tmp/sock' })), 'CONSOLE'), [[0, 0, '/dev/console']]);
});

test('sysctls are allowed only in namespaces the container owns', () => {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '100' };
  const plan = compileInitPlan(options(spec));
  assert.deepEqual(find(plan, 'WRITE_FILE').filter((a) => String(a[0]).startsWith('/proc/sys')), [
    ['/proc/sys/net/ipv4/ip_forward', '1'],
    ['/proc/sys/kernel/shmmax', '100'],
  ]);
  spec.linux!.sysctl = { 'kernel.panic': '1' };
  assert.throws(() => compileInitPlan(options(spec)), /not in a separate kernel namespace/);
  spec.linux!.sysctl = { 'net.core.somaxconn': '1' };
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'network');
  assert.throws(() => compileInitPlan(options(spec)), /host network namespace/);
});

test('bind mounts resolve against the bundle and remount for their flags', () => {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.mounts!.push({ destination: '/data', type: 'bind', source: '/tmp', options: ['rbind', 'ro', 'rprivate'] });
  const plan = compileInitPlan(options(spec));
  const i = plan.findIndex((s) => s.op === 'MOUNT_IN_ROOT' && s.args[1] === '/data');
  assert.deepEqual(plan.slice(i - 1, i + 3).map((s) => s.op), ['MKDIR_IN_ROOT', 'MOUNT_IN_ROOT', 'REMOUNT', 'MOUNT_IN_ROOT']);
  assert.equal(plan[i]!.args[0], '/tmp');
  assert.throws(() => {
    spec.mounts!.push({ destination: '/x', type: 'bind', source: 'missing-dir', options: ['bind'] });
    compileInitPlan(options(spec));
  }, /source does not exist/);
});

test('monitor stdio: pipes, log and attach socket right after DAEMONIZE, before any SETNS', () => {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.linux!.namespaces!.push({ type: 'network', path: '/proc/1/ns/net' });
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((n, i, all) => n.type !== 'network' || n.path || !all.some((m) => m.type === 'network' && m.path));
  const stdio = { stdin: true, logFile: { path: '/var/lib/x/id-json.log', maxSize: 1024, maxFiles: 3 }, attachSocket: '/run/x/attach.sock' };
  const plan = compileInitPlan(options(spec, { mode: 'wait', detach: true, stdio }));
  const names = ops(plan);
  const at = names.indexOf('DAEMONIZE');
  assert.deepEqual(names.slice(at, at + 5), ['DAEMONIZE', 'STDIO_PIPES', 'LOG_FILE', 'ATTACH_SOCKET', 'SETNS']);
  assert.deepEqual(find(plan, 'STDIO_PIPES'), [[1]]);
  assert.deepEqual(find(plan, 'LOG_FILE'), [['/var/lib/x/id-json.log', 1024, 3]]);
  assert.deepEqual(find(compileInitPlan(options(spec, { mode: 'wait', stdio: { stdin: false } })), 'STDIO_PIPES'), [[0]]);
  assert.throws(() => compileInitPlan(options(spec, { mode: 'exit', stdio })), /mode wait/);
  assert.throws(() => compileInitPlan(options(spec, { mode: 'wait', stdio: { stdin: false, attachSocket: `/${'a'.repeat(107)}` } })), /longer than 107 bytes/);
});

const ORIGIN = '/proc/4242/ns';
const prepared = { flags: SPARE_NAMESPACES, origin: ORIGIN };

/** The plan from CLONE on, as op and arguments, without the steps the preparation makes moot. */
function fromClone(plan: Plan): unknown[][] {
  return plan.slice(ops(plan).indexOf('CLONE') + 1).filter((s) => s.op !== 'LOOPBACK_UP').map((s) => [s.op, ...s.args]);
}

test('a prepared spare\'s network, ipc and uts namespaces become the container\'s: not cloned, lo not brought up again', () => {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.hostname = 'box';
  const fresh = compileInitPlan(options(spec));
  const plan = compileInitPlan(options(spec, { prepared }));
  const freshFlags = Number(find(fresh, 'CLONE')[0]![0]);
  const flags = Number(find(plan, 'CLONE')[0]![0]);
  assert.equal(freshFlags & SPARE_NAMESPACES, SPARE_NAMESPACES);
  assert.equal(flags & (CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), 0);
  assert.equal(flags, freshFlags & ~SPARE_NAMESPACES, 'the other namespaces are cloned as before');
  assert.equal(find(fresh, 'LOOPBACK_UP').length, 1);
  assert.equal(find(plan, 'LOOPBACK_UP').length, 0);
  assert.equal(find(plan, 'SETNS').length, 0, 'nothing to leave');
  // the launcher is as it was; parent and child (mounts, a fresh sysfs, hostname) too
  assert.deepEqual(plan.slice(0, ops(plan).indexOf('CLONE')), fresh.slice(0, ops(fresh).indexOf('CLONE')));
  assert.deepEqual(fromClone(plan), fromClone(fresh));
  assert.ok(find(plan, 'MOUNT_IN_ROOT').some((args) => args[2] === 'sysfs'), 'sysfs is mounted for the container\'s own network namespace');
  assert.deepEqual(find(plan, 'SETHOSTNAME'), [['box']]);
});

test('only the prepared namespaces are taken', () => {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  const plan = compileInitPlan(options(spec, { prepared: { flags: CLONE_NEWUTS, origin: ORIGIN } }));
  const flags = Number(find(plan, 'CLONE')[0]![0]);
  assert.equal(flags & CLONE_NEWUTS, 0);
  assert.equal(flags & (CLONE_NEWNET | CLONE_NEWIPC), CLONE_NEWNET | CLONE_NEWIPC);
  assert.equal(find(plan, 'LOOPBACK_UP').length, 1, 'a network namespace cloned anew still needs lo up');
  assert.equal(find(plan, 'SETNS').length, 0);
});

test('with a user namespace nothing prepared is taken: the shim goes back to its origin\'s namespaces first', () => {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.linux!.namespaces = [...spec.linux!.namespaces!.filter((n) => n.type !== 'ipc'), { type: 'user' }, { type: 'ipc', path: '/proc/9/ns/ipc' }];
  spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const fresh = compileInitPlan(options(spec, { cloneIntoCgroup: '/sys/fs/cgroup/berth/x', cgroupProcs: [] }));
  const plan = compileInitPlan(options(spec, { prepared, cloneIntoCgroup: '/sys/fs/cgroup/berth/x', cgroupProcs: [] }));
  const names = ops(plan);
  assert.deepEqual(find(plan, 'SETNS'), [
    [`${ORIGIN}/net`, CLONE_NEWNET],
    [`${ORIGIN}/ipc`, CLONE_NEWIPC],
    [`${ORIGIN}/uts`, CLONE_NEWUTS],
    ['/proc/9/ns/ipc', CLONE_NEWIPC],
  ]);
  const firstSetns = names.indexOf('SETNS');
  // before anything that creates files or opens paths for the monitor or the container
  assert.ok(names.slice(0, firstSetns).every((op) => op === 'SET_DUMPABLE' || op === 'DEVICE_FILTER'), names.slice(0, firstSetns).join(' '));
  assert.ok(names.lastIndexOf('SETNS') < names.indexOf('CLONE'));
  assert.equal(Number(find(plan, 'CLONE')[0]![0]), Number(find(fresh, 'CLONE')[0]![0]), 'every namespace is cloned anew');
  assert.ok(Number(find(plan, 'CLONE')[0]![0]) & CLONE_NEWNET);
  assert.deepEqual(find(plan, 'LOOPBACK_UP'), find(fresh, 'LOOPBACK_UP'));
  assert.deepEqual(fromClone(plan), fromClone(fresh));
});

test('a container on the host network leaves the prepared one; a joined one is entered after leaving', () => {
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'network');
  let plan = compileInitPlan(options(spec, { prepared }));
  assert.deepEqual(find(plan, 'SETNS'), [[`${ORIGIN}/net`, CLONE_NEWNET]]);
  assert.equal(Number(find(plan, 'CLONE')[0]![0]) & (CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), 0, 'ipc and uts taken');
  assert.equal(find(plan, 'LOOPBACK_UP').length, 0);

  spec.linux!.namespaces.push({ type: 'network', path: '/run/berth/netns/x' });
  plan = compileInitPlan(options(spec, { prepared, mode: 'wait', detach: true }));
  assert.deepEqual(find(plan, 'SETNS'), [[`${ORIGIN}/net`, CLONE_NEWNET], ['/run/berth/netns/x', CLONE_NEWNET]]);
  const names = ops(plan);
  assert.ok(names.indexOf('SETNS') < names.indexOf('DAEMONIZE'));
  assert.ok(names.lastIndexOf('SETNS') < names.indexOf('CLONE'));
  assert.equal(Number(find(plan, 'CLONE')[0]![0]) & CLONE_NEWNET, 0);
  assert.equal(find(plan, 'LOOPBACK_UP').length, 0);
});

test('a spare prepares only namespaces a container can take as they are, and brings lo up in a network one', () => {
  assert.deepEqual(sparePreparationPlan(SPARE_NAMESPACES), [step('UNSHARE', SPARE_NAMESPACES), step('LOOPBACK_UP'), step('PREPARED')]);
  assert.deepEqual(sparePreparationPlan(CLONE_NEWIPC | CLONE_NEWUTS), [step('UNSHARE', CLONE_NEWIPC | CLONE_NEWUTS), step('PREPARED')]);
  for (const flag of [CLONE_NEWPID, CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUSER]) {
    assert.throws(() => sparePreparationPlan(CLONE_NEWNET | flag), /prepare spare shim: namespaces 0x[0-9a-f]+ cannot be made ahead/);
  }
});
