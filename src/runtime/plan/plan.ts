/**
 * The init plan: the ordered steps `berth-shim` executes between clone() and execve().
 * Format and semantics: native/PLAN.md. This module only builds and encodes the data;
 * every decision lives in the compiler beside it.
 */

export const PLAN_MAGIC = 'BRTHPLN1';

/** Op codes, exactly as native/PLAN.md numbers them. */
export const Op = {
  SETNS: 1,
  UNSHARE: 2,
  WRITE_FILE: 3,
  DAEMONIZE: 4,
  OPEN_FIFO: 5,
  CONSOLE_SOCKET: 6,
  CONSOLE_PAIR: 7,
  CLONE: 8,
  REPORT_PID: 9,
  WRITE_CHILD_FILE: 10,
  WRITE_PID_TO: 11,
  SYNC: 12,
  EXIT: 13,
  WAIT: 14,
  CHILD: 15,
  SETSID: 16,
  MOUNT: 17,
  OPEN_ROOT: 18,
  MOUNT_IN_ROOT: 19,
  MKDIR_IN_ROOT: 20,
  MKFILE_IN_ROOT: 21,
  MKNOD_IN_ROOT: 22,
  SYMLINK_IN_ROOT: 23,
  CHMOD_IN_ROOT: 24,
  REMOUNT: 25,
  PIVOT_ROOT: 26,
  CHROOT: 27,
  MASK_PATH: 28,
  READONLY_PATH: 29,
  SETHOSTNAME: 30,
  SETDOMAINNAME: 31,
  SETRLIMIT: 32,
  RUN_HOOK: 33,
  CONSOLE: 34,
  CAP_BOUNDING: 35,
  KEEPCAPS: 36,
  SETGROUPS: 37,
  SETRESGID: 38,
  SETRESUID: 39,
  CAPSET: 40,
  AMBIENT: 41,
  NO_NEW_PRIVS: 42,
  UMASK: 43,
  PERSONALITY: 44,
  CHDIR: 45,
  CLOSE_FDS: 46,
  READY: 47,
  WAIT_START: 48,
  SECCOMP: 49,
  EXEC: 50,
  LOOPBACK_UP: 51,
  SET_DUMPABLE: 52,
  SIGNAL_PARENT_DEATH: 53,
  PRESERVE_FDS: 54,
  DEVICE_FILTER: 55,
  STDIO_PIPES: 56,
  LOG_FILE: 57,
  ATTACH_SOCKET: 58,
  RELEASE_CHILD: 59,
  WAIT_PARENT: 60,
  UMOUNT: 61,
  CLONE_INTO_CGROUP: 62,
  SERVE: 63,
  PREPARED: 64,
} as const;

export type OpName = keyof typeof Op;

/** One argument: a string (NUL-terminated on the wire), a 64-bit number, or raw bytes. */
export type PlanArg = string | bigint | number | Uint8Array;

export interface PlanStep {
  op: OpName;
  args: PlanArg[];
}

export type Plan = PlanStep[];

/** Builds a plan step; numbers become u64, strings NUL-terminated str. */
export function step(op: OpName, ...args: PlanArg[]): PlanStep {
  return { op, args };
}

function encodeArg(arg: PlanArg): Buffer {
  if (typeof arg === 'string') return Buffer.concat([Buffer.from(arg, 'utf8'), Buffer.alloc(1)]);
  if (arg instanceof Uint8Array) return Buffer.from(arg);
  const buf = Buffer.alloc(8);
  const value = typeof arg === 'bigint' ? arg : BigInt(arg);
  // Negative values (e.g. -1 for "unlimited") travel as two's complement.
  buf.writeBigUInt64LE(BigInt.asUintN(64, value));
  return buf;
}

/** Encodes a plan into the wire format of native/PLAN.md. */
export function encodePlan(plan: Plan): Buffer {
  const parts: Buffer[] = [];
  for (const { op, args } of plan) {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(Op[op], 0);
    head.writeUInt32LE(args.length, 4);
    parts.push(head);
    for (const arg of args) {
      const body = encodeArg(arg);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(body.length);
      parts.push(len, body);
    }
  }
  const header = Buffer.alloc(16);
  header.write(PLAN_MAGIC, 0, 'latin1');
  const body = Buffer.concat(parts);
  header.writeUInt32LE(header.length + body.length, 8);
  header.writeUInt32LE(plan.length, 12);
  return Buffer.concat([header, body]);
}
