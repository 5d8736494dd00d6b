/**
 * compileSeccomp, judged by running its programs: every test asks the interpreter for the
 * kernel's verdict on concrete (arch, nr, args) inputs, after the kernel's load checks.
 */

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { Seccomp } from '../../../oci/runtime-spec.ts';
import { EngineError } from '../../../util/errors.ts';
import { BPF_MAXINSNS, decodeFilter } from './assembler.ts';
import { checkSeccompFilter, runSeccompFilter } from './bpf-interpreter.ts';
import { compileSeccomp } from './compile.ts';
import type { CompileSeccompOptions, SeccompArgInput, SeccompInput } from './compile.ts';
import { SECCOMP_RET, X32_SYSCALL_BIT } from './constants.ts';
import type { NativeArch } from './constants.ts';
import { AARCH64_SYSCALLS, X32_SYSCALLS, X86_64_SYSCALLS, X86_SYSCALLS } from './syscall-tables.ts';

const AUDIT_X86_64 = 0xc000003e;
const AUDIT_I386 = 0x40000003;
const AUDIT_AARCH64 = 0xc00000b7;

const ALLOW = SECCOMP_RET.ALLOW;
const KILL_PROCESS = SECCOMP_RET.KILL_PROCESS;
const errno = (n: number): number => (SECCOMP_RET.ERRNO | n) >>> 0;
const EPERM = errno(1);
const ENOSYS = errno(38);

type Abi = 'x86_64' | 'x86' | 'x32' | 'aarch64';
const TABLES = { x86_64: X86_64_SYSCALLS, x86: X86_SYSCALLS, x32: X32_SYSCALLS, aarch64: AARCH64_SYSCALLS };
const AUDIT = { x86_64: AUDIT_X86_64, x86: AUDIT_I386, x32: AUDIT_X86_64, aarch64: AUDIT_AARCH64 };

function nr(abi: Abi, name: string): number {
  const value = TABLES[abi].get(name);
  assert.ok(value !== undefined, `${name} on ${abi}`);
  return value;
}

/** Compiles once and answers verdicts by syscall name or number. */
function filter(spec: SeccompInput, options: CompileSeccompOptions = {}) {
  const compiled = compileSeccomp(spec, { arch: 'x86_64', ...options });
  const program = decodeFilter(compiled.bpf);
  assert.equal(checkSeccompFilter(program), undefined);
  const verdict = (abi: Abi, syscall: string | number, args: (bigint | number)[] = []): number =>
    runSeccompFilter(program, {
      arch: AUDIT[abi],
      nr: typeof syscall === 'number' ? syscall : nr(abi, syscall),
      args,
    });
  return { ...compiled, program, verdict };
}

function engineError(kind: string, pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof EngineError, String(err));
    assert.equal(err.kind, kind);
    assert.match(err.message, pattern);
    return true;
  };
}

const U64 = (1n << 64n) - 1n;
/** Values around every boundary of the two 32-bit halves. */
const EDGES = [
  0n,
  1n,
  2n,
  0x7fffffffn,
  0x80000000n,
  0xfffffffen,
  0xffffffffn,
  0x1_0000_0000n,
  0x1_0000_0001n,
  0x1_ffff_ffffn,
  0x2_0000_0000n,
  0x7fff_ffff_ffff_ffffn,
  0x8000_0000_0000_0000n,
  0x8000_0000_0000_0001n,
  0xffff_ffff_0000_0000n,
  U64 - 1n,
  U64,
];

function reference(op: string, arg: bigint, value: bigint, valueTwo: bigint): boolean {
  switch (op) {
    case 'SCMP_CMP_EQ':
      return arg === value;
    case 'SCMP_CMP_NE':
      return arg !== value;
    case 'SCMP_CMP_LT':
      return arg < value;
    case 'SCMP_CMP_LE':
      return arg <= value;
    case 'SCMP_CMP_GT':
      return arg > value;
    case 'SCMP_CMP_GE':
      return arg >= value;
    case 'SCMP_CMP_MASKED_EQ':
      return (arg & value) === valueTwo;
  }
  throw new Error(op);
}

describe('compileSeccomp: actions and defaults', () => {
  it('allows the listed syscalls and returns EPERM for the others (allowlist)', () => {
    const f = filter({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' }] });
    assert.equal(f.verdict('x86_64', 'read'), ALLOW);
    assert.equal(f.verdict('x86_64', 'write'), ALLOW);
    assert.equal(f.verdict('x86_64', 'exit_group'), ALLOW);
    assert.equal(f.verdict('x86_64', 'open'), EPERM);
    assert.equal(f.verdict('x86_64', 'mount'), EPERM);
    assert.equal(f.flags, 0);
  });

  it('returns defaultErrnoRet for unlisted syscalls', () => {
    const f = filter({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 13, syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW' }] });
    assert.equal(f.verdict('x86_64', 'getpid'), ALLOW);
    assert.equal(f.verdict('x86_64', 'read'), errno(13));
  });

  it('denies only the listed syscalls with a default of allow (denylist)', () => {
    const f = filter({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['mount', 'umount2'], action: 'SCMP_ACT_ERRNO' },
        { names: ['kexec_load'], action: 'SCMP_ACT_KILL_PROCESS' },
        { names: ['reboot'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
      ],
    });
    assert.equal(f.verdict('x86_64', 'mount'), EPERM);
    assert.equal(f.verdict('x86_64', 'umount2'), EPERM);
    assert.equal(f.verdict('x86_64', 'kexec_load'), KILL_PROCESS);
    assert.equal(f.verdict('x86_64', 'reboot'), ENOSYS);
    assert.equal(f.verdict('x86_64', 'read'), ALLOW);
    // no ENOSYS stub when the default allows: unknown future syscalls stay allowed
    assert.equal(f.verdict('x86_64', 4000), ALLOW);
  });

  it('maps every action to its SECCOMP_RET value', () => {
    const cases: [string, number | undefined, number][] = [
      ['SCMP_ACT_KILL', undefined, 0x00000000],
      ['SCMP_ACT_KILL_THREAD', undefined, 0x00000000],
      ['SCMP_ACT_KILL_PROCESS', undefined, 0x80000000],
      ['SCMP_ACT_TRAP', undefined, 0x00030000],
      ['SCMP_ACT_ERRNO', undefined, 0x00050001],
      ['SCMP_ACT_ERRNO', 0, 0x00050000],
      ['SCMP_ACT_ERRNO', 95, 0x0005005f],
      ['SCMP_ACT_TRACE', undefined, 0x7ff00001],
      ['SCMP_ACT_TRACE', 1234, 0x7ff004d2],
      ['SCMP_ACT_LOG', undefined, 0x7ffc0000],
    ];
    for (const [action, errnoRet, expected] of cases) {
      const call = errnoRet === undefined ? { names: ['getpid'], action } : { names: ['getpid'], action, errnoRet };
      const f = filter({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [call] });
      assert.equal(f.verdict('x86_64', 'getpid'), expected, `${action} ${errnoRet}`);
      assert.equal(f.verdict('x86_64', 'getppid'), ALLOW);
    }
  });

  it('uses any action as the default', () => {
    assert.equal(filter({ defaultAction: 'SCMP_ACT_KILL_PROCESS' }).verdict('x86_64', 'read'), KILL_PROCESS);
    assert.equal(filter({ defaultAction: 'SCMP_ACT_LOG' }).verdict('x86_64', 'read'), SECCOMP_RET.LOG);
    assert.equal(filter({ defaultAction: 'SCMP_ACT_TRAP' }).verdict('x86_64', 'read'), SECCOMP_RET.TRAP);
    assert.equal(filter({ defaultAction: 'SCMP_ACT_TRACE', defaultErrnoRet: 7 }).verdict('x86_64', 'read'), 0x7ff00007);
  });

  it('drops a rule whose action is the default action', () => {
    const f = filter({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
        { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 4, op: 'SCMP_CMP_LT' }] },
      ],
    });
    // runc drops the first rule (libseccomp refuses rules equal to the default), so 1 < 4 allows
    assert.equal(f.verdict('x86_64', 'personality', [1]), ALLOW);
    assert.equal(f.verdict('x86_64', 'personality', [5]), EPERM);
  });

  it('returns the numeric filter flags, dropping WAIT_KILLABLE_RECV without a listener', () => {
    const f = filter({
      defaultAction: 'SCMP_ACT_ALLOW',
      flags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'],
    });
    assert.equal(f.flags, 1 | 2 | 4);
    assert.equal(filter({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_LOG'] }).flags, 2);
  });

  it('accepts the OCI Seccomp type as it is', () => {
    const oci: Seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0, op: 'SCMP_CMP_EQ' }] }],
    };
    const f = filter(oci);
    assert.equal(f.verdict('x86_64', 'read', [0]), ALLOW);
    assert.equal(f.verdict('x86_64', 'read', [3]), EPERM);
  });
});

describe('compileSeccomp: errors', () => {
  const base: SeccompInput = { defaultAction: 'SCMP_ACT_ERRNO' };
  const compile = (spec: SeccompInput, options: CompileSeccompOptions = {}) => () =>
    compileSeccomp(spec, { arch: 'x86_64', ...options });

  it('refuses unknown actions, operators, flags and architectures', () => {
    assert.throws(compile({ defaultAction: 'SCMP_ACT_MAYBE' }), engineError('invalid-argument', /unknown action "SCMP_ACT_MAYBE" in defaultAction/));
    assert.throws(
      compile({ ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_PERMIT' }] }),
      engineError('invalid-argument', /unknown action "SCMP_ACT_PERMIT" in syscalls\[0\]/),
    );
    assert.throws(
      compile({ ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_SORTOF' }] }] }),
      engineError('invalid-argument', /unknown operator "SCMP_CMP_SORTOF" in syscalls\[0\]\.args\[0\]/),
    );
    assert.throws(compile({ ...base, flags: ['SECCOMP_FILTER_FLAG_NEW_LISTENER'] }), engineError('invalid-argument', /unknown flag/));
    assert.throws(compile({ ...base, architectures: ['SCMP_ARCH_Z80'] }), engineError('invalid-argument', /unknown architecture "SCMP_ARCH_Z80"/));
  });

  it('refuses a bad action even for a syscall this architecture lacks', () => {
    assert.throws(
      compile({ ...base, syscalls: [{ names: ['no_such_syscall'], action: 'SCMP_ACT_PERMIT' }] }),
      engineError('invalid-argument', /unknown action/),
    );
  });

  it('refuses notify and listenerPath', () => {
    assert.throws(compile({ defaultAction: 'SCMP_ACT_NOTIFY' }), engineError('invalid-argument', /SCMP_ACT_NOTIFY needs listenerPath/));
    assert.throws(
      compile({ ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_NOTIFY' }] }),
      engineError('invalid-argument', /syscalls\[0\] SCMP_ACT_NOTIFY needs listenerPath/),
    );
    assert.throws(compile({ ...base, listenerPath: '/run/agent.sock' }), engineError('not-implemented', /listenerPath/));
  });

  it('refuses errnoRet where it means nothing or does not fit', () => {
    assert.throws(
      compile({ ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }] }),
      engineError('invalid-argument', /errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE/),
    );
    assert.throws(compile({ defaultAction: 'SCMP_ACT_KILL', defaultErrnoRet: 1 }), engineError('invalid-argument', /errnoRet/));
    assert.throws(
      compile({ ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 65536 }] }),
      engineError('invalid-argument', /errnoRet 65536/),
    );
    assert.throws(
      compile({ ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: -1 }] }),
      engineError('invalid-argument', /errnoRet -1/),
    );
  });

  it('refuses argument indexes past 5 and inexact values', () => {
    const arg = (a: SeccompArgInput): SeccompInput => ({ ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [a] }] });
    assert.throws(compile(arg({ index: 6, value: 0, op: 'SCMP_CMP_EQ' })), engineError('invalid-argument', /index 6 is not in 0\.\.5/));
    assert.throws(compile(arg({ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' })), engineError('invalid-argument', /not an exact integer/));
    assert.throws(compile(arg({ index: 0, value: 1.5, op: 'SCMP_CMP_EQ' })), engineError('invalid-argument', /not an exact integer/));
    assert.throws(compile(arg({ index: 0, value: 1n << 64n, op: 'SCMP_CMP_EQ' })), engineError('invalid-argument', /not a 64-bit integer/));
    assert.throws(compile(arg({ index: 0, value: 'lots', op: 'SCMP_CMP_EQ' })), engineError('invalid-argument', /not a 64-bit integer/));
  });

  it('refuses a program longer than the kernel takes', () => {
    const names = [...X86_64_SYSCALLS.keys()];
    const args = [0, 1, 2, 3, 4, 5].map((index) => ({ index, value: 0x1_0000_0000 + index, op: 'SCMP_CMP_GT' }));
    assert.throws(
      compile({ ...base, syscalls: names.map((name, i) => ({ names: [name], action: 'SCMP_ACT_ALLOW', args: [...args, { index: 0, value: i, op: 'SCMP_CMP_NE' }] })) }),
      engineError('invalid-argument', /more than the kernel's 4096/),
    );
  });
});

describe('compileSeccomp: names', () => {
  it('skips syscall names an architecture does not have', () => {
    const spec = (names: string[]): SeccompInput => ({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names, action: 'SCMP_ACT_ALLOW' }] });
    const f = filter(spec(['read', 'no_such_syscall', 'arm_fadvise64_64', 's390_pci_mmio_read']));
    assert.deepEqual(f.bpf, filter(spec(['read'])).bpf);
    assert.equal(f.verdict('x86_64', 'read'), ALLOW);
  });

  it('resolves names per architecture: write is 1 on x86_64, 4 on i386, 64 on aarch64', () => {
    const spec: SeccompInput = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [{ names: ['write'], action: 'SCMP_ACT_ALLOW' }],
    };
    const f = filter(spec, { enosysAboveKnown: false });
    assert.equal(f.verdict('x86_64', 1), ALLOW);
    assert.equal(f.verdict('x86_64', 4), EPERM); // stat on x86_64
    assert.equal(f.verdict('x86', 4), ALLOW);
    assert.equal(f.verdict('x86', 1), EPERM); // exit on i386
    const arm = filter(spec, { arch: 'aarch64' });
    assert.equal(arm.verdict('aarch64', 64), ALLOW);
    assert.equal(arm.verdict('aarch64', 'openat'), EPERM);
    assert.equal(arm.verdict('x86_64', 1), KILL_PROCESS);
  });
});

describe('compileSeccomp: architectures', () => {
  const allowWrite = (architectures?: string[]): SeccompInput => ({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['mount'], action: 'SCMP_ACT_ERRNO' }],
    ...(architectures ? { architectures } : {}),
  });

  it('gives a syscall of an unlisted architecture the bad-arch action', () => {
    const f = filter(allowWrite(['SCMP_ARCH_X86_64']));
    assert.equal(f.verdict('x86_64', 'mount'), EPERM);
    assert.equal(f.verdict('x86', 'mount'), KILL_PROCESS);
    assert.equal(f.verdict('aarch64', 'mount'), KILL_PROCESS);
    assert.equal(runSeccompFilter(f.program, { arch: 0x12345678, nr: 0 }), KILL_PROCESS);
  });

  it('takes another bad-arch action on request', () => {
    const f = filter(allowWrite(['SCMP_ARCH_X86_64']), { badArchAction: 'SCMP_ACT_KILL_THREAD' });
    assert.equal(f.verdict('x86', 'mount'), SECCOMP_RET.KILL_THREAD);
  });

  it('always covers the native architecture, as libseccomp does', () => {
    for (const f of [filter(allowWrite()), filter(allowWrite(['SCMP_ARCH_X86']))]) {
      assert.equal(f.verdict('x86_64', 'mount'), EPERM);
      assert.equal(f.verdict('x86_64', 'read'), ALLOW);
    }
    const f = filter(allowWrite(['SCMP_ARCH_X86']));
    assert.equal(f.verdict('x86', 'mount'), EPERM);
    assert.equal(f.verdict('x86', 'read'), ALLOW);
  });

  it('ignores listed architectures this kernel cannot run', () => {
    const f = filter(allowWrite(['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390X']));
    assert.deepEqual(f.bpf, filter(allowWrite(['SCMP_ARCH_X86_64'])).bpf);
  });

  it('refuses a compat architecture it has no table for', () => {
    assert.throws(
      () => compileSeccomp(allowWrite(['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']), { arch: 'aarch64' }),
      engineError('not-implemented', /SCMP_ARCH_ARM has no syscall table/),
    );
  });

  it('sends x32 syscalls to the bad-arch action unless x32 is listed', () => {
    const f = filter(allowWrite(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']));
    // an x32 mount must not escape the x86_64 rules by carrying the x32 bit
    assert.equal(f.verdict('x32', 'mount'), KILL_PROCESS);
    assert.equal(f.verdict('x32', 'read'), KILL_PROCESS);
    assert.equal(f.verdict('x86_64', X32_SYSCALL_BIT + nr('x86_64', 'mount')), KILL_PROCESS);
    assert.equal(f.verdict('x86_64', 0xffffffff), KILL_PROCESS);
  });

  it('applies x32 rules to x32 numbers when x32 is listed', () => {
    const f = filter({
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'],
      syscalls: [
        { names: ['read', 'rt_sigaction'], action: 'SCMP_ACT_ALLOW' },
        { names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 0x5401, op: 'SCMP_CMP_EQ' }] },
      ],
    });
    assert.equal(f.verdict('x32', 'read'), ALLOW);
    assert.equal(nr('x32', 'rt_sigaction'), X32_SYSCALL_BIT + 512);
    assert.equal(f.verdict('x32', 'rt_sigaction'), ALLOW);
    assert.equal(f.verdict('x86_64', 'rt_sigaction'), ALLOW);
    assert.equal(f.verdict('x32', 'write'), EPERM);
    // x32 arguments are 32-bit: the high word is not looked at
    assert.equal(f.verdict('x32', 'ioctl', [0, 0x5401]), ALLOW);
    assert.equal(f.verdict('x32', 'ioctl', [0, 0x1_0000_5401n]), ALLOW);
    assert.equal(f.verdict('x86_64', 'ioctl', [0, 0x1_0000_5401n]), EPERM);
    assert.equal(f.verdict('x86_64', 'ioctl', [0, 0x5401]), ALLOW);
  });
});

describe('compileSeccomp: ENOSYS above the known syscalls', () => {
  const spec: SeccompInput = {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: [{ names: ['read', 'write', 'openat'], action: 'SCMP_ACT_ALLOW' }],
  };

  it('returns ENOSYS for numbers above the highest the profile names, per architecture', () => {
    const f = filter(spec);
    const top = nr('x86_64', 'openat');
    assert.equal(f.verdict('x86_64', top), ALLOW);
    assert.equal(f.verdict('x86_64', top - 1), EPERM);
    assert.equal(f.verdict('x86_64', top + 1), ENOSYS);
    assert.equal(f.verdict('x86_64', 'clone3'), ENOSYS);
    assert.equal(f.verdict('x86_64', X32_SYSCALL_BIT - 1), ENOSYS);
    const top32 = nr('x86', 'openat');
    assert.equal(f.verdict('x86', top32 - 1), EPERM);
    assert.equal(f.verdict('x86', top32 + 1), ENOSYS);
    assert.equal(f.verdict('x86', 0xffffffff), ENOSYS);
  });

  it('does not when told not to, or when the default allows, logs or traces', () => {
    assert.equal(filter(spec, { enosysAboveKnown: false }).verdict('x86_64', 'clone3'), EPERM);
    assert.equal(filter({ ...spec, defaultAction: 'SCMP_ACT_LOG' }).verdict('x86_64', 'clone3'), SECCOMP_RET.LOG);
    assert.equal(filter({ ...spec, defaultAction: 'SCMP_ACT_TRACE' }).verdict('x86_64', 'clone3'), 0x7ff00001);
    assert.equal(filter({ ...spec, defaultAction: 'SCMP_ACT_KILL_PROCESS' }).verdict('x86_64', 'clone3'), ENOSYS);
  });

  it('counts names whose rule was dropped as known', () => {
    const f = filter({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        { names: ['clone3'], action: 'SCMP_ACT_ERRNO' },
      ],
    });
    assert.equal(f.verdict('x86_64', 'clone3'), EPERM);
    assert.equal(f.verdict('x86_64', nr('x86_64', 'clone3') + 1), ENOSYS);
  });
});

describe('compileSeccomp: argument comparisons', () => {
  const ops = ['SCMP_CMP_EQ', 'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_GT', 'SCMP_CMP_GE'];

  for (const op of ops) {
    it(`${op} compares unsigned 64-bit values across both halves`, () => {
      for (const value of EDGES) {
        const f = filter({
          defaultAction: 'SCMP_ACT_ERRNO',
          syscalls: [{ names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 2, value, op }] }],
        });
        for (const arg of EDGES) {
          const expected = reference(op, arg, value, 0n) ? ALLOW : EPERM;
          assert.equal(f.verdict('x86_64', 'ioctl', [0, 0, arg]), expected, `${arg} ${op} ${value}`);
        }
      }
    });

    it(`${op} compares the low word only for i386, with the value truncated`, () => {
      for (const value of EDGES) {
        const f = filter({
          defaultAction: 'SCMP_ACT_ERRNO',
          architectures: ['SCMP_ARCH_X86'],
          syscalls: [{ names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value, op }] }],
        });
        for (const arg of EDGES.filter((e) => e <= 0xffffffffn)) {
          const expected = reference(op, arg, value & 0xffffffffn, 0n) ? ALLOW : EPERM;
          assert.equal(f.verdict('x86', 'ioctl', [0, arg]), expected, `${arg} ${op} ${value}`);
        }
      }
    });
  }

  it('SCMP_CMP_MASKED_EQ tests (arg & value) == valueTwo on both halves', () => {
    const cases: [bigint, bigint][] = [
      [0xffn, 0x12n],
      [0x7e020000n, 0n], // docker's clone namespace-flag check
      [0xffff_0000_0000_0000n, 0x1234_0000_0000_0000n],
      [0x8000_0000_0000_00ffn, 0x8000_0000_0000_0001n],
      [U64, U64],
      [0n, 0n],
      [0xf0n, 0x0fn], // datum outside the mask: never matches
    ];
    const args = [...EDGES, 0x12n, 0x112n, 0x7e020000n, 0x10000n, 0x1234_5678_0000_0000n, 0x1234_0000_0000_0012n, 0x8000_0000_0000_0001n, 0x8000_1111_0000_0101n];
    for (const [mask, datum] of cases) {
      const f = filter({
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: mask, valueTwo: datum, op: 'SCMP_CMP_MASKED_EQ' }] }],
      });
      for (const arg of args) {
        const expected = reference('SCMP_CMP_MASKED_EQ', arg, mask, datum) ? ALLOW : EPERM;
        assert.equal(f.verdict('x86_64', 'clone', [arg]), expected, `${arg} & ${mask} == ${datum}`);
      }
    }
  });

  it('accepts values as bigint, decimal or hex strings, and negative numbers as two’s complement', () => {
    const spec = (value: bigint | number | string): SeccompInput => ({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value, op: 'SCMP_CMP_EQ' }] }],
    });
    const expected = filter(spec(U64)).bpf;
    assert.deepEqual(filter(spec('18446744073709551615')).bpf, expected);
    assert.deepEqual(filter(spec('0xffffffffffffffff')).bpf, expected);
    assert.deepEqual(filter(spec(-1)).bpf, expected);
    assert.deepEqual(filter(spec(-1n)).bpf, expected);
    assert.equal(filter(spec(-1)).verdict('x86_64', 'kill', [0, -1]), ALLOW);
    assert.equal(filter(spec(-1)).verdict('x86_64', 'kill', [0, 0xffffffff]), EPERM);
  });

  it('ANDs the arguments of one rule', () => {
    const f = filter({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        {
          names: ['socket'],
          action: 'SCMP_ACT_ALLOW',
          args: [
            { index: 0, value: 2, op: 'SCMP_CMP_EQ' },
            { index: 1, value: 0xf, valueTwo: 1, op: 'SCMP_CMP_MASKED_EQ' },
            { index: 2, value: 0x1_0000_0000, op: 'SCMP_CMP_LT' },
          ],
        },
      ],
    });
    assert.equal(f.verdict('x86_64', 'socket', [2, 0x801, 6]), ALLOW);
    assert.equal(f.verdict('x86_64', 'socket', [2, 0x801, 0xffffffff]), ALLOW);
    assert.equal(f.verdict('x86_64', 'socket', [2, 0x801, 0x1_0000_0000]), EPERM);
    assert.equal(f.verdict('x86_64', 'socket', [10, 0x801, 6]), EPERM);
    assert.equal(f.verdict('x86_64', 'socket', [2, 0x802, 6]), EPERM);
    assert.equal(f.verdict('x86_64', 'socket', [0x1_0000_0002n, 1, 6]), EPERM);
  });

  it('ANDs two tests of the same argument (a range)', () => {
    const f = filter({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [
        {
          names: ['setuid'],
          action: 'SCMP_ACT_ALLOW',
          args: [
            { index: 0, value: 1000, op: 'SCMP_CMP_GE' },
            { index: 0, value: 2000, op: 'SCMP_CMP_LT' },
          ],
        },
      ],
    });
    assert.equal(f.verdict('x86_64', 'setuid', [999]), EPERM);
    assert.equal(f.verdict('x86_64', 'setuid', [1000]), ALLOW);
    assert.equal(f.verdict('x86_64', 'setuid', [1999]), ALLOW);
    assert.equal(f.verdict('x86_64', 'setuid', [2000]), EPERM);
  });

  it('ORs several rules for one syscall (docker personality style)', () => {
    const f = filter({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: [0x0, 0x8, 0x20000, 0x20008, 0xffffffff].map((value) => ({
        names: ['personality'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }],
      })),
    });
    for (const allowed of [0, 8, 0x20000, 0x20008, 0xffffffff]) assert.equal(f.verdict('x86_64', 'personality', [allowed]), ALLOW);
    for (const denied of [1, 0x20001, 0x1_ffff_ffffn, U64]) assert.equal(f.verdict('x86_64', 'personality', [denied]), EPERM);
  });

  it('takes the first matching rule when conditional rules disagree', () => {
    const f = filter({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 3, args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
        { names: ['kill'], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: 1, value: 5, op: 'SCMP_CMP_GE' }] },
      ],
    });
    assert.equal(f.verdict('x86_64', 'kill', [1, 9]), errno(3));
    assert.equal(f.verdict('x86_64', 'kill', [1, 10]), KILL_PROCESS);
    assert.equal(f.verdict('x86_64', 'kill', [1, 4]), ALLOW);
  });

  it('lets an unconditional rule win over conditional ones, in either order', () => {
    const conditional = { names: ['ptrace'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 16, op: 'SCMP_CMP_EQ' }] };
    const unconditional = { names: ['ptrace'], action: 'SCMP_ACT_ALLOW' };
    for (const syscalls of [[conditional, unconditional], [unconditional, conditional]]) {
      const f = filter({ defaultAction: 'SCMP_ACT_KILL', syscalls });
      assert.equal(f.verdict('x86_64', 'ptrace', [16]), ALLOW);
      assert.equal(f.verdict('x86_64', 'ptrace', [0]), ALLOW);
    }
  });

  it('looks at every argument index 0..5 at its own offset', () => {
    for (let index = 0; index <= 5; index++) {
      const f = filter({
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [{ names: ['mmap'], action: 'SCMP_ACT_ALLOW', args: [{ index, value: 0xabc_0000_0001n, op: 'SCMP_CMP_EQ' }] }],
      });
      const args = [0, 0, 0, 0, 0, 0].map((_, i): bigint => (i === index ? 0xabc_0000_0001n : 0x1234n));
      assert.equal(f.verdict('x86_64', 'mmap', args), ALLOW, `index ${index}`);
      args[index] = 0xabd_0000_0001n;
      assert.equal(f.verdict('x86_64', 'mmap', args), EPERM, `index ${index}`);
    }
  });
});

describe('compileSeccomp: large profiles', () => {
  it('compiles a docker-sized allowlist for three ABIs well under the kernel limit', () => {
    const names64 = [...X86_64_SYSCALLS.keys()].filter((name, i) => i % 9 !== 4 && name !== 'personality'); // ~340, with holes
    const f = filter({
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: [
        { names: names64, action: 'SCMP_ACT_ALLOW' },
        ...[0, 8, 0x20000].map((value) => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
      ],
    });
    assert.ok(f.program.length < 1500, `${f.program.length} instructions`);
    const allowed = new Set(names64);
    for (const [abi, table] of [['x86_64', X86_64_SYSCALLS], ['x86', X86_SYSCALLS], ['x32', X32_SYSCALLS]] as const) {
      for (const [name, number] of table) {
        if (name === 'personality') continue;
        const got = f.verdict(abi, number);
        if (allowed.has(name)) assert.equal(got, ALLOW, `${abi} ${name}`);
        else assert.ok(got === EPERM || got === ENOSYS, `${abi} ${name}: ${got.toString(16)}`);
      }
      assert.equal(f.verdict(abi, 'personality', [8]), ALLOW);
      assert.equal(f.verdict(abi, 'personality', [9]), EPERM);
    }
  });

  it('compiles 400 syscall rules, each with its own argument test, within jump and size limits', () => {
    const names = [...X86_64_SYSCALLS.keys()];
    const invented = Array.from({ length: 400 - names.length }, (_, i) => `future_syscall_${i}`);
    const all = [...names, ...invented];
    assert.equal(all.length, 400);
    const f = filter({
      defaultAction: 'SCMP_ACT_ERRNO',
      syscalls: all.map((name, i) => ({
        names: [name],
        action: i % 3 === 0 ? 'SCMP_ACT_ALLOW' : i % 3 === 1 ? 'SCMP_ACT_LOG' : 'SCMP_ACT_TRAP',
        args: [{ index: i % 6, value: BigInt(i) << 32n | BigInt(i), op: 'SCMP_CMP_EQ' }],
      })),
    });
    assert.ok(f.program.length <= BPF_MAXINSNS);
    assert.ok(f.program.length > 256 + 255, 'long enough to need far jumps');
    assert.ok(f.program.some((insn) => insn.code === 0x05 && insn.k > 255), 'uses a BPF_JA past 8 bits');
    names.forEach((name, i) => {
      const args = [0, 0, 0, 0, 0, 0].map(() => 7n);
      args[i % 6] = (BigInt(i) << 32n) | BigInt(i);
      const expected = i % 3 === 0 ? ALLOW : i % 3 === 1 ? SECCOMP_RET.LOG : SECCOMP_RET.TRAP;
      assert.equal(f.verdict('x86_64', name, args), expected, name);
      args[i % 6] = BigInt(i);
      assert.equal(f.verdict('x86_64', name, args), i === 0 ? expected : EPERM, `${name} low word only`);
    });
  });

  it('compiles for either native architecture', () => {
    const arches: NativeArch[] = ['x86_64', 'aarch64'];
    for (const arch of arches) {
      const f = filter({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW' }] }, { arch });
      const abi = arch === 'x86_64' ? 'x86_64' : 'aarch64';
      assert.equal(f.verdict(abi, 'getpid'), ALLOW);
      assert.equal(f.verdict(abi, 0), EPERM);
    }
  });
});
