/**
 * Docker profile → OCI seccomp: archMap, includes/excludes on caps, arches and kernel
 * version, and the compiled result of a small Docker-style profile.
 */

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { EngineError } from '../../../util/errors.ts';
import { runSeccompFilter } from './bpf-interpreter.ts';
import { compileSeccomp } from './compile.ts';
import { SECCOMP_RET } from './constants.ts';
import { fromDockerProfile } from './docker-profile.ts';
import type { DockerSeccompProfile } from './docker-profile.ts';
import { X86_64_SYSCALLS, X86_SYSCALLS } from './syscall-tables.ts';

/** A small profile in Docker's format, written for these tests. */
const PROFILE: DockerSeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
  ],
  syscalls: [
    { names: ['read', 'write', 'openat', 'close', 'exit_group', 'clone3'], action: 'SCMP_ACT_ALLOW' },
    {
      names: ['personality'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }],
    },
    { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64', 'x32'] } },
    { names: ['arm_sync_file_range'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm', 'arm64'] } },
    { names: ['mount', 'umount2'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
    {
      names: ['clone'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
    },
    { names: ['clone'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8' } },
    { names: ['syslog'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYSLOG', 'CAP_SYS_ADMIN'] } },
    { names: ['bpf'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '5.8' } },
  ],
};

const names = (profile: ReturnType<typeof fromDockerProfile>): string[][] =>
  (profile.syscalls ?? []).map((s) => s.names);

describe('fromDockerProfile', () => {
  it('takes the native entry of archMap with its sub-architectures', () => {
    const amd = fromDockerProfile(PROFILE, { capabilities: [], arch: 'x86_64', kernelRelease: '6.18.0' });
    assert.deepEqual(amd.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.equal(amd.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(amd.defaultErrnoRet, 1);
    const arm = fromDockerProfile(PROFILE, { capabilities: [], arch: 'aarch64', kernelRelease: '6.18.0' });
    assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  });

  it('resolves includes and excludes on arches, caps and kernel version', () => {
    const plain = fromDockerProfile(PROFILE, { capabilities: ['CAP_CHOWN'], arch: 'x86_64', kernelRelease: '6.18.44-fc' });
    assert.deepEqual(names(plain), [
      ['read', 'write', 'openat', 'close', 'exit_group', 'clone3'],
      ['personality'],
      ['arch_prctl'],
      ['clone'],
      ['clone3'],
      ['ptrace'],
    ]);
    const admin = fromDockerProfile(PROFILE, {
      capabilities: ['CAP_SYS_ADMIN', 'syslog'],
      arch: 'aarch64',
      kernelRelease: '5.4.0',
    });
    assert.deepEqual(names(admin), [
      ['read', 'write', 'openat', 'close', 'exit_group', 'clone3'],
      ['personality'],
      ['arm_sync_file_range'],
      ['mount', 'umount2'],
      ['clone'],
      ['ptrace'],
      ['syslog'],
      ['bpf'],
    ]);
    const old = fromDockerProfile(PROFILE, { capabilities: [], arch: 'x86_64', kernelRelease: '4.4.0' });
    assert.ok(!names(old).some((n) => n.includes('ptrace')));
    assert.ok(names(old).some((n) => n.includes('bpf')));
  });

  it('keeps args, errnoRet and flags, and accepts the old single-name form', () => {
    const out = fromDockerProfile(
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        flags: ['SECCOMP_FILTER_FLAG_LOG'],
        syscalls: [{ name: 'kexec_load', action: 'SCMP_ACT_ERRNO', errnoRet: 38 }],
      },
      { capabilities: [], arch: 'x86_64', kernelRelease: '6.1' },
    );
    assert.deepEqual(out, {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: [],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [{ names: ['kexec_load'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }],
    });
    const clone = fromDockerProfile(PROFILE, { capabilities: [], arch: 'x86_64', kernelRelease: '6.1' }).syscalls?.find(
      (s) => s.names[0] === 'clone',
    );
    assert.deepEqual(clone?.args, [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
  });

  it('refuses contradictory or malformed profiles', () => {
    const bad = (profile: DockerSeccompProfile) => () =>
      fromDockerProfile(profile, { capabilities: [], arch: 'x86_64', kernelRelease: '6.1' });
    const invalid = (pattern: RegExp) => (err: unknown) =>
      err instanceof EngineError && err.kind === 'invalid-argument' && pattern.test(err.message);
    assert.throws(
      bad({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], archMap: PROFILE.archMap ?? [] }),
      invalid(/'architectures' and 'archMap'/),
    );
    assert.throws(
      bad({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ name: 'a', names: ['b'], action: 'SCMP_ACT_ERRNO' }] }),
      invalid(/both 'name' and 'names'/),
    );
    assert.throws(
      bad({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['b'], action: 'SCMP_ACT_ERRNO', includes: { minKernel: '5' } }] }),
      invalid(/minKernel "5" is not major.minor/),
    );
  });

  it('compiles to a filter that behaves like docker’s for an unprivileged container', () => {
    const spec = fromDockerProfile(PROFILE, { capabilities: ['CAP_CHOWN'], arch: 'x86_64', kernelRelease: '6.18.0' });
    const { bpf } = compileSeccomp(spec, { arch: 'x86_64' });
    const run = (table: ReadonlyMap<string, number>, arch: number, name: string, args: number[] = []): number =>
      runSeccompFilter(bpf, { arch, nr: table.get(name)!, args });
    const X86_64 = 0xc000003e;
    const I386 = 0x40000003;
    const EPERM = SECCOMP_RET.ERRNO | 1;
    const ENOSYS = SECCOMP_RET.ERRNO | 38;
    assert.equal(run(X86_64_SYSCALLS, X86_64, 'read'), SECCOMP_RET.ALLOW);
    assert.equal(run(X86_64_SYSCALLS, X86_64, 'arch_prctl'), SECCOMP_RET.ALLOW);
    assert.equal(run(X86_64_SYSCALLS, X86_64, 'mount'), EPERM);
    // clone3 is allowed by the first entry: an unconditional rule wins over the ENOSYS one
    assert.equal(run(X86_64_SYSCALLS, X86_64, 'clone3'), SECCOMP_RET.ALLOW);
    // clone without namespace flags is allowed, with CLONE_NEWUSER (0x10000000) it is not
    assert.equal(run(X86_64_SYSCALLS, X86_64, 'clone', [0x01200011]), SECCOMP_RET.ALLOW);
    assert.equal(run(X86_64_SYSCALLS, X86_64, 'clone', [0x10000000]), EPERM);
    assert.equal(run(X86_64_SYSCALLS, X86_64, 'personality', [8]), SECCOMP_RET.ALLOW);
    assert.equal(run(X86_64_SYSCALLS, X86_64, 'personality', [1]), EPERM);
    assert.equal(run(X86_SYSCALLS, I386, 'read'), SECCOMP_RET.ALLOW);
    assert.equal(run(X86_SYSCALLS, I386, 'mount'), EPERM);
    // newer than anything the profile names
    assert.equal(runSeccompFilter(bpf, { arch: X86_64, nr: 460 }), ENOSYS);
  });
});
