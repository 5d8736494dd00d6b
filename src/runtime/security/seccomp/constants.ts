/**
 * Kernel and libseccomp vocabulary the seccomp compiler translates between: the profile's
 * SCMP_* strings on one side, the numbers the kernel's filter ABI uses on the other
 * (include/uapi/linux/seccomp.h, include/uapi/linux/audit.h, linux/filter.h).
 */

import { notImplemented } from '../../../util/errors.ts';
import {
  AARCH64_SYSCALLS,
  X32_SYSCALLS,
  X86_64_SYSCALLS,
  X86_SYSCALLS,
} from './syscall-tables.ts';

/** Filter return values. The low 16 bits carry data (errno, ptrace message). */
export const SECCOMP_RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

export const SECCOMP_RET_DATA = 0x0000ffff;

/** seccomp(SECCOMP_SET_MODE_FILTER, flags, …) flags. */
export const SECCOMP_FILTER_FLAG = {
  TSYNC: 1,
  LOG: 2,
  SPEC_ALLOW: 4,
  NEW_LISTENER: 8,
  TSYNC_ESRCH: 16,
  WAIT_KILLABLE_RECV: 32,
} as const;

/** Offsets in struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }. */
export const SECCOMP_DATA = {
  NR: 0,
  ARCH: 4,
  INSTRUCTION_POINTER: 8,
  ARGS: 16,
  SIZE: 64,
} as const;

/** Syscall numbers of the x32 ABI carry this bit; the kernel reports them with the x86_64 audit arch. */
export const X32_SYSCALL_BIT = 0x40000000;

export const EPERM = 1;
export const ENOSYS = 38;

/** The profile's action names. SCMP_ACT_KILL is libseccomp's old name for KILL_THREAD. */
export type SeccompActionName =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

export const ACTION_RETURNS: Readonly<Record<SeccompActionName, number>> = {
  SCMP_ACT_KILL: SECCOMP_RET.KILL_THREAD,
  SCMP_ACT_KILL_PROCESS: SECCOMP_RET.KILL_PROCESS,
  SCMP_ACT_KILL_THREAD: SECCOMP_RET.KILL_THREAD,
  SCMP_ACT_TRAP: SECCOMP_RET.TRAP,
  SCMP_ACT_ERRNO: SECCOMP_RET.ERRNO,
  SCMP_ACT_TRACE: SECCOMP_RET.TRACE,
  SCMP_ACT_ALLOW: SECCOMP_RET.ALLOW,
  SCMP_ACT_LOG: SECCOMP_RET.LOG,
  SCMP_ACT_NOTIFY: SECCOMP_RET.USER_NOTIF,
};

export type SeccompOpName =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ';

export const OPERATORS: ReadonlySet<string> = new Set<SeccompOpName>([
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
]);

/** The flags config-linux.md lists, by name. */
export const SECCOMP_FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: SECCOMP_FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_LOG: SECCOMP_FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: SECCOMP_FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV,
};

/** Native (uname -m) architectures the compiler can target. */
export type NativeArch = 'x86_64' | 'aarch64';

/** One ABI a filter can cover. Several ABIs may share one audit arch (x86_64 and x32). */
export interface ArchInfo {
  /** libseccomp's name, as profiles spell it. */
  scmp: string;
  /** AUDIT_ARCH_* value the kernel puts in seccomp_data.arch. */
  audit: number;
  /** Argument width: 32-bit ABIs compare only the low word (libseccomp does the same). */
  bits: 32 | 64;
  syscalls: ReadonlyMap<string, number>;
  /** The numbers this ABI owns within its audit arch: [lo, hi). */
  range: readonly [number, number];
}

const ALL = 0x1_0000_0000;

export const ARCHES: Readonly<Record<string, ArchInfo>> = {
  SCMP_ARCH_X86_64: {
    scmp: 'SCMP_ARCH_X86_64',
    audit: 0xc000003e,
    bits: 64,
    syscalls: X86_64_SYSCALLS,
    range: [0, X32_SYSCALL_BIT],
  },
  SCMP_ARCH_X32: {
    scmp: 'SCMP_ARCH_X32',
    audit: 0xc000003e,
    bits: 32,
    syscalls: X32_SYSCALLS,
    range: [X32_SYSCALL_BIT, ALL],
  },
  SCMP_ARCH_X86: {
    scmp: 'SCMP_ARCH_X86',
    audit: 0x40000003,
    bits: 32,
    syscalls: X86_SYSCALLS,
    range: [0, ALL],
  },
  SCMP_ARCH_AARCH64: {
    scmp: 'SCMP_ARCH_AARCH64',
    audit: 0xc00000b7,
    bits: 64,
    syscalls: AARCH64_SYSCALLS,
    range: [0, ALL],
  },
};

/** The libseccomp architecture names we know but cannot compile for. */
export const OTHER_SCMP_ARCHES: ReadonlySet<string> = new Set([
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
]);

/** Per native arch: its own ABI first, then the ones its kernel can also run. */
export const NATIVE_ABIS: Readonly<Record<NativeArch, { native: string; compat: readonly string[] }>> = {
  x86_64: { native: 'SCMP_ARCH_X86_64', compat: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
  aarch64: { native: 'SCMP_ARCH_AARCH64', compat: ['SCMP_ARCH_ARM'] },
};

/** The native arch of this process, as uname -m spells it. */
export function hostArch(): NativeArch {
  if (process.arch === 'x64') return 'x86_64';
  if (process.arch === 'arm64') return 'aarch64';
  throw notImplemented(`compile seccomp: unsupported host architecture ${process.arch}`);
}
