// Capabilities, seccomp, users and user namespaces, as the kernel reports them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runContainer, cleanupStateRoot, makeBundle, removeBundle, rt, uniqueId, forceDelete, state } from './helpers.ts';

after(cleanupStateRoot);

function statusField(text: string, field: string): string {
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
}

test('capabilities are exactly the configured sets', () => {
  const r = runContainer(['cat', '/proc/self/status']);
  assert.equal(r.code, 0, r.stderr);
  // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
  const mask = ((1n << 5n) | (1n << 10n) | (1n << 29n)).toString(16).padStart(16, '0');
  assert.equal(statusField(r.stdout, 'CapEff'), mask);
  assert.equal(statusField(r.stdout, 'CapPrm'), mask);
  assert.equal(statusField(r.stdout, 'CapBnd'), mask);
  assert.equal(statusField(r.stdout, 'CapInh'), '0000000000000000');
  assert.equal(statusField(r.stdout, 'NoNewPrivs'), '1');
});

test('an empty capability set leaves nothing, and chown fails for root', () => {
  const r = runContainer(['sh', '-c', 'grep CapEff /proc/self/status; chown 1 /tmp 2>&1; echo rc=$?'], (spec) => {
    spec.process!.capabilities = { bounding: [], effective: [], permitted: [] };
    spec.root!.readonly = false;
  });
  assert.match(r.stdout, /CapEff:\s+0000000000000000/);
  assert.match(r.stdout, /Operation not permitted/);
});

test('an unknown capability is refused at create', () => {
  const r = runContainer(['true'], (spec) => {
    spec.process!.capabilities!.bounding!.push('CAP_TEST');
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown capability "CAP_TEST"/);
});

test('a seccomp profile denies mkdir with the errno it names and allows the rest', () => {
  const r = runContainer(['sh', '-c', 'mkdir /tmp/x; echo rc=$?; echo alive'], (spec) => {
    spec.root!.readonly = false;
    spec.linux!.seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
    };
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Permission denied/);
  assert.match(r.stdout, /rc=1\nalive/);
});

test('seccomp without no_new_privs is loaded while CAP_SYS_ADMIN is held', () => {
  const r = runContainer(['sh', '-c', 'mkdir /tmp/x 2>&1; echo done'], (spec) => {
    spec.root!.readonly = false;
    spec.process!.noNewPrivileges = false;
    spec.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] };
  });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Operation not permitted\ndone/);
});

test('the process runs as the configured uid, gid and groups with its umask', () => {
  const r = runContainer(['sh', '-c', 'id -u; id -g; id -G; umask'], (spec) => {
    spec.process!.user = { uid: 1000, gid: 1000, additionalGids: [10, 20], umask: 0o027 };
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ['1000', '1000', '1000 10 20', '0027']);
});

test('user namespace: root inside is the mapped uid outside', async () => {
  const bundle = makeBundle(['sleep', '30'], (spec) => {
    spec.linux!.namespaces!.push({ type: 'user' });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    // sysfs and cgroup mounts need a user-namespace-owned netns and cgroupns; keep it simple.
    spec.mounts = spec.mounts!.filter((m) => m.destination !== '/sys/fs/cgroup');
  });
  const id = uniqueId('userns');
  try {
    const c = rt('create', '--bundle', bundle.dir, id);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(rt('start', id).code, 0);
    const { pid } = state(id);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    assert.equal(statusField(status, 'Uid').split(/\s+/)[0], '100000');
    assert.equal(statusField(status, 'Gid').split(/\s+/)[0], '100000');
    assert.equal(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).join(' '), '0 100000 65536');
    const inside = rt('exec', id, 'id', '-u');
    assert.equal(inside.code, 0, inside.stderr);
    assert.equal(inside.stdout.trim(), '0');
  } finally {
    forceDelete(id);
    removeBundle(bundle);
  }
});

test('rlimits are applied, and a hard limit above the host\'s is refused clearly', () => {
  const ok = runContainer(['sh', '-c', 'ulimit -n; ulimit -Hn'], (spec) => {
    spec.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 300, hard: 400 }];
  });
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(ok.stdout.trim().split('\n'), ['300', '400']);
  const bad = runContainer(['true'], (spec) => {
    spec.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 10_000_000 }];
  });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /RLIMIT_NOFILE hard limit 10000000 is above this host.s \d+, and raising it needs CAP_SYS_RESOURCE/);
});
