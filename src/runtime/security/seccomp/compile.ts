/**
 * Compiles config.json's `linux.seccomp` into the classic-BPF program berth-shim hands to
 * seccomp(SECCOMP_SET_MODE_FILTER). runc and crun get this from libseccomp; we compile it
 * ourselves so that the C side stays a loader, and so that the result is data unit tests can
 * run through an interpreter.
 *
 * Semantics, chosen to match runc + libseccomp (differences are called out):
 * - Architectures: the native ABI is always in the filter (libseccomp's seccomp_init adds
 *   it); listed ABIs the native kernel can run are added (x86 and x32 on x86_64); listed ABIs
 *   it cannot run are dropped, since the kernel never reports them. A syscall from any other
 *   ABI gets the bad-arch action: SECCOMP_RET_KILL_PROCESS here, where libseccomp's default
 *   is KILL_THREAD (a lone killed thread leaves a half-dead process behind).
 * - x32 shares x86_64's audit arch and is told apart by __X32_SYSCALL_BIT in the number, as
 *   libseccomp does: without SCMP_ARCH_X32 those numbers get the bad-arch action, so x32
 *   calls can never slip past rules written for x86_64 numbers.
 * - Names a table does not know are skipped (profiles list syscalls of every architecture
 *   and kernel); unknown actions, operators, flags and architectures are errors.
 * - A rule whose action equals the default action is dropped, as runc does (libseccomp
 *   refuses such rules).
 * - Per syscall: the first unconditional rule wins over every other rule (libseccomp's db
 *   ignores rules added after an unconditional one and lets an unconditional rule replace
 *   the conditional ones before it); otherwise the conditional rules
 *   are tried in profile order and the first whose conditions all hold gives the action;
 *   none holding gives the default action. Same-action rules are thus ORed, the arguments
 *   of one rule ANDed (runc splits a rule that tests one argument twice into ORed rules; we
 *   follow the spec and AND them).
 * - Argument comparisons are unsigned 64-bit, done on the two 32-bit halves of
 *   seccomp_data.args[i]. For 32-bit ABIs (x86, x32) only the low word is compared, with
 *   the values truncated to 32 bits, as libseccomp does. SCMP_CMP_MASKED_EQ tests
 *   `(arg & value) == valueTwo`.
 * - Syscall numbers above the highest one the profile names (per ABI) return ENOSYS instead
 *   of the default action unless that is ALLOW, LOG or TRACE: runc's stub does the same so that libc
 *   falls back from syscalls newer than the profile (clone3, fchmodat2...) instead of failing
 *   on EPERM. `enosysAboveKnown: false` turns it off.
 * - `listenerPath` and SCMP_ACT_NOTIFY (a seccomp agent) are not supported.
 *
 * Layout: one arch dispatch, then per audit arch a binary search over the syscall number
 * space (intervals of numbers with the same outcome, so runs of allowed syscalls cost
 * nothing), whose leaves jump to shared per-syscall argument blocks or to shared returns.
 * The assembler turns jumps that are too long for 8 bits into BPF_JA trampolines.
 */

import { EngineError, invalidArgument, notImplemented } from '../../../util/errors.ts';
import { BpfAssembler, BPF_MAXINSNS, encodeFilter } from './assembler.ts';
import type { Label } from './assembler.ts';
import {
  ARCHES,
  ENOSYS,
  EPERM,
  NATIVE_ABIS,
  OTHER_SCMP_ARCHES,
  ACTION_RETURNS,
  SECCOMP_DATA,
  SECCOMP_FILTER_FLAG,
  SECCOMP_FLAGS,
  OPERATORS,
  SECCOMP_RET,
  SECCOMP_RET_DATA,
  hostArch,
} from './constants.ts';
import type { ArchInfo, NativeArch, SeccompActionName, SeccompOpName } from './constants.ts';

/**
 * A u64 argument value. JSON numbers above 2^53 lose precision in JSON.parse, so callers
 * that need such values pass a bigint or a decimal/hex string.
 */
export type SeccompValue = number | bigint | string;

export interface SeccompArgInput {
  index: number;
  value: SeccompValue;
  valueTwo?: SeccompValue;
  op: string;
}

export interface SeccompSyscallInput {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArgInput[];
}

/** config-linux.md "Seccomp"; the OCI `Seccomp` type is assignable to it. */
export interface SeccompInput {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompSyscallInput[];
}

export interface CompileSeccompOptions {
  /** The kernel's native architecture (uname -m); default: this process's. */
  arch?: NativeArch;
  /** What a syscall of an ABI the filter does not cover gets; default SCMP_ACT_KILL_PROCESS. */
  badArchAction?: SeccompActionName;
  /** ENOSYS for syscall numbers above the highest one the profile names; default true. */
  enosysAboveKnown?: boolean;
}

export interface CompiledSeccomp {
  /** struct sock_filter[], little-endian, at most BPF_MAXINSNS instructions. */
  bpf: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER, flags, prog). */
  flags: number;
}

interface Condition {
  index: number;
  op: SeccompOpName;
  value: bigint;
  valueTwo: bigint;
}

interface Rule {
  conds: Condition[];
  ret: number;
}

interface AbiRules {
  abi: ArchInfo;
  /** Rules per syscall number, already reduced (see the module comment). */
  rules: Map<number, Rule[]>;
  /** Highest syscall number the profile names for this ABI, if any. */
  maxNr: number | undefined;
}

const U32_END = 0x1_0000_0000;
const U64_MAX = (1n << 64n) - 1n;
const MAX_ARG_INDEX = 5;

/** Compiles an OCI seccomp object to a BPF program and the seccomp() flags. */
export function compileSeccomp(spec: SeccompInput, options: CompileSeccompOptions = {}): CompiledSeccomp {
  if (spec.listenerPath) {
    throw notImplemented('compile seccomp: listenerPath (a seccomp notify agent) is not supported');
  }
  const defaultRet = actionValue(spec.defaultAction, spec.defaultErrnoRet, 'defaultAction');
  const badArchRet = actionValue(options.badArchAction ?? 'SCMP_ACT_KILL_PROCESS', undefined, 'badArchAction');
  const flags = filterFlags(spec.flags ?? []);
  const abis = selectAbis(spec.architectures ?? [], options.arch ?? hostArch());
  const resolved = abis.map((abi) => resolveRules(spec.syscalls ?? [], abi, defaultRet));
  // a permissive default (or a tracer, which handles new syscalls itself) needs no stub
  const defaultClass = (defaultRet & ~SECCOMP_RET_DATA) >>> 0;
  const enosys =
    (options.enosysAboveKnown ?? true) &&
    defaultClass !== SECCOMP_RET.ALLOW &&
    defaultClass !== SECCOMP_RET.LOG &&
    defaultClass !== SECCOMP_RET.TRACE;
  const program = emitProgram(resolved, { defaultRet, badArchRet, enosys }).assemble();
  if (program.length > BPF_MAXINSNS) {
    throw invalidArgument(
      `compile seccomp: program has ${program.length} instructions, more than the kernel's ${BPF_MAXINSNS}`,
    );
  }
  return { bpf: encodeFilter(program), flags };
}

/** The SECCOMP_RET_* value of an action name, with its errno (or ptrace message) data. */
export function actionValue(action: string, errnoRet: number | undefined, where: string): number {
  if (!Object.hasOwn(ACTION_RETURNS, action)) {
    throw invalidArgument(`compile seccomp: unknown action "${action}" in ${where}`);
  }
  const name = action as SeccompActionName;
  if (name === 'SCMP_ACT_NOTIFY') {
    throw invalidArgument(`compile seccomp: ${where} SCMP_ACT_NOTIFY needs listenerPath, which is not supported`);
  }
  const base = ACTION_RETURNS[name];
  const takesData = name === 'SCMP_ACT_ERRNO' || name === 'SCMP_ACT_TRACE';
  if (errnoRet === undefined || errnoRet === null) return takesData ? (base | EPERM) >>> 0 : base;
  if (!takesData) {
    throw invalidArgument(`compile seccomp: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${name} in ${where}`);
  }
  if (!Number.isInteger(errnoRet) || errnoRet < 0 || errnoRet > SECCOMP_RET_DATA) {
    throw invalidArgument(`compile seccomp: errnoRet ${errnoRet} in ${where} is not in 0..65535`);
  }
  return (base | errnoRet) >>> 0;
}

function filterFlags(names: readonly string[]): number {
  let flags = 0;
  for (const name of names) {
    const flag = Object.hasOwn(SECCOMP_FLAGS, name) ? SECCOMP_FLAGS[name] : undefined;
    if (flag === undefined) throw invalidArgument(`compile seccomp: unknown flag "${name}"`);
    flags |= flag;
  }
  // The kernel takes WAIT_KILLABLE_RECV only together with NEW_LISTENER, which needs an agent
  // we do not support; libseccomp likewise only passes it on when it creates a listener.
  return flags & ~SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV;
}

function selectAbis(listed: readonly string[], native: NativeArch): ArchInfo[] {
  const { native: nativeName, compat } = NATIVE_ABIS[native];
  const names = [nativeName];
  for (const name of listed) {
    if (!Object.hasOwn(ARCHES, name) && !OTHER_SCMP_ARCHES.has(name)) {
      throw invalidArgument(`compile seccomp: unknown architecture "${name}"`);
    }
    if (names.includes(name) || !compat.includes(name)) continue;
    if (!Object.hasOwn(ARCHES, name)) {
      throw notImplemented(`compile seccomp: architecture ${name} has no syscall table`);
    }
    names.push(name);
  }
  return names.map((name) => ARCHES[name]!);
}

function resolveRules(syscalls: readonly SeccompSyscallInput[], abi: ArchInfo, defaultRet: number): AbiRules {
  const rules = new Map<number, Rule[]>();
  let maxNr: number | undefined;
  syscalls.forEach((call, i) => {
    const where = `syscalls[${i}]`;
    if (!Array.isArray(call.names)) throw invalidArgument(`compile seccomp: ${where}.names is not a list`);
    const ret = actionValue(call.action, call.errnoRet, where);
    const conds = (call.args ?? []).map((arg, j) => condition(arg, abi, `${where}.args[${j}]`));
    for (const name of call.names) {
      const nr = abi.syscalls.get(name);
      if (nr === undefined) continue;
      if (maxNr === undefined || nr > maxNr) maxNr = nr;
      if (ret === defaultRet) continue;
      const list = rules.get(nr) ?? [];
      list.push({ conds, ret });
      rules.set(nr, list);
    }
  });
  for (const [nr, list] of rules) {
    const unconditional = list.find((rule) => rule.conds.length === 0);
    if (unconditional) rules.set(nr, [unconditional]);
  }
  return { abi, rules, maxNr };
}

function condition(arg: SeccompArgInput, abi: ArchInfo, where: string): Condition {
  if (!Number.isInteger(arg.index) || arg.index < 0 || arg.index > MAX_ARG_INDEX) {
    throw invalidArgument(`compile seccomp: ${where}.index ${arg.index} is not in 0..${MAX_ARG_INDEX}`);
  }
  if (!OPERATORS.has(arg.op)) throw invalidArgument(`compile seccomp: unknown operator "${arg.op}" in ${where}`);
  const width = abi.bits === 32 ? 32 : 64;
  return {
    index: arg.index,
    op: arg.op as SeccompOpName,
    value: BigInt.asUintN(width, u64(arg.value, `${where}.value`)),
    valueTwo: BigInt.asUintN(width, u64(arg.valueTwo ?? 0, `${where}.valueTwo`)),
  };
}

/** A u64 from a profile value; negative values wrap to their two's complement, as in C. */
export function u64(value: unknown, where: string): bigint {
  let big: bigint | undefined;
  if (typeof value === 'bigint') big = value;
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw invalidArgument(
        `compile seccomp: ${where} ${value} is not an exact integer (pass values above 2^53 as bigint or string)`,
      );
    }
    big = BigInt(value);
  } else if (typeof value === 'string' && /^(-?\d+|0x[0-9a-f]+)$/i.test(value.trim())) {
    big = BigInt(value.trim());
  }
  if (big === undefined || big < -(1n << 63n) || big > U64_MAX) {
    throw invalidArgument(`compile seccomp: ${where} ${String(value)} is not a 64-bit integer`);
  }
  return BigInt.asUintN(64, big);
}

interface EmitOptions {
  defaultRet: number;
  badArchRet: number;
  enosys: boolean;
}

/** A run of syscall numbers [start, next interval's start) with one outcome. */
interface Interval {
  start: number;
  target: Label;
}

function emitProgram(abis: readonly AbiRules[], options: EmitOptions): BpfAssembler {
  const asm = new BpfAssembler();
  const rets = new Map<number, Label>();
  const retLabel = (ret: number): Label => {
    let label = rets.get(ret);
    if (label === undefined) rets.set(ret, (label = asm.label()));
    return label;
  };
  const blocks = new Map<string, { label: Label; rules: Rule[]; bits: 32 | 64 }>();
  const blockLabel = (rules: Rule[], bits: 32 | 64): Label => {
    if (rules.length === 1 && rules[0]!.conds.length === 0) return retLabel(rules[0]!.ret);
    const key = `${bits}:${JSON.stringify(rules, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`;
    let block = blocks.get(key);
    if (!block) blocks.set(key, (block = { label: asm.label(), rules, bits }));
    return block.label;
  };

  const groups = new Map<number, AbiRules[]>();
  for (const entry of abis) groups.set(entry.abi.audit, [...(groups.get(entry.abi.audit) ?? []), entry]);

  // 1. dispatch on seccomp_data.arch
  const badArch = retLabel(options.badArchRet);
  const sections = [...groups.keys()].map(() => asm.label());
  asm.ld(SECCOMP_DATA.ARCH);
  [...groups.keys()].forEach((audit, i) => {
    const last = i === groups.size - 1;
    const next = last ? badArch : asm.label();
    asm.jump('jeq', audit, sections[i]!, next);
    if (!last) asm.place(next);
  });

  // 2. per audit arch, a binary search on seccomp_data.nr
  [...groups.values()].forEach((group, i) => {
    asm.place(sections[i]!);
    asm.ld(SECCOMP_DATA.NR);
    const intervals = numberSpace(group, options, { retLabel, blockLabel, badArch });
    if (intervals.length === 1) asm.ja(intervals[0]!.target);
    else emitSearch(asm, intervals, 0, intervals.length - 1, asm.label());
  });

  // 3. argument checks, shared by every syscall with the same rules
  const defaultLabel = retLabel(options.defaultRet);
  for (const block of blocks.values()) {
    asm.place(block.label);
    emitRules(asm, block.rules, block.bits, defaultLabel, retLabel);
  }

  // 4. the verdicts
  for (const [ret, label] of rets) {
    asm.place(label);
    asm.ret(ret);
  }
  return asm;
}

/** Splits [0, 2^32) into intervals of syscall numbers that share an outcome. */
function numberSpace(
  group: readonly AbiRules[],
  options: EmitOptions,
  labels: {
    retLabel: (ret: number) => Label;
    blockLabel: (rules: Rule[], bits: 32 | 64) => Label;
    badArch: Label;
  },
): Interval[] {
  const cuts = new Set<number>([0]);
  for (const { abi, rules, maxNr } of group) {
    cuts.add(abi.range[0]).add(abi.range[1]);
    if (maxNr !== undefined) cuts.add(maxNr + 1);
    for (const nr of rules.keys()) cuts.add(nr).add(nr + 1);
  }
  const enosys = options.enosys ? labels.retLabel((SECCOMP_RET.ERRNO | ENOSYS) >>> 0) : undefined;
  const outcome = (nr: number): Label => {
    const owner = group.find(({ abi }) => nr >= abi.range[0] && nr < abi.range[1]);
    if (!owner) return labels.badArch;
    const rules = owner.rules.get(nr);
    if (rules) return labels.blockLabel(rules, owner.abi.bits);
    if (enosys !== undefined && owner.maxNr !== undefined && nr > owner.maxNr) return enosys;
    return labels.retLabel(options.defaultRet);
  };
  const intervals: Interval[] = [];
  for (const start of [...cuts].filter((c) => c < U32_END).sort((a, b) => a - b)) {
    const target = outcome(start);
    if (intervals.at(-1)?.target !== target) intervals.push({ start, target });
  }
  return intervals;
}

/**
 * Emits a balanced search over intervals[lo..hi] (lo < hi) at `label`: `A >= start of the
 * upper half` picks the half. Subtrees follow their parent, so every jump goes forward.
 */
function emitSearch(
  asm: BpfAssembler,
  intervals: readonly Interval[],
  lo: number,
  hi: number,
  label: Label,
): void {
  asm.place(label);
  const mid = (lo + hi + 1) >> 1;
  const left = lo === mid - 1 ? intervals[lo]!.target : asm.label();
  const right = mid === hi ? intervals[hi]!.target : asm.label();
  asm.jump('jge', intervals[mid]!.start, right, left);
  if (lo < mid - 1) emitSearch(asm, intervals, lo, mid - 1, left);
  if (mid < hi) emitSearch(asm, intervals, mid, hi, right);
}

function emitRules(
  asm: BpfAssembler,
  rules: readonly Rule[],
  bits: 32 | 64,
  defaultLabel: Label,
  retLabel: (ret: number) => Label,
): void {
  rules.forEach((rule, i) => {
    const fail = i === rules.length - 1 ? defaultLabel : asm.label();
    const pass = retLabel(rule.ret);
    rule.conds.forEach((cond, j) => {
      const ok = j === rule.conds.length - 1 ? pass : asm.label();
      emitCondition(asm, cond, bits, ok, fail);
      if (ok !== pass) asm.place(ok);
    });
    if (fail !== defaultLabel) asm.place(fail);
  });
}

/**
 * One unsigned 64-bit comparison of args[index] against the value, from the high word down:
 * the high words decide unless they are equal, then the low words do. 32-bit ABIs compare
 * the low word only.
 */
function emitCondition(asm: BpfAssembler, cond: Condition, bits: 32 | 64, pass: Label, fail: Label): void {
  const loOffset = SECCOMP_DATA.ARGS + 8 * cond.index;
  const hiOffset = loOffset + 4;
  const vLo = Number(cond.value & 0xffffffffn);
  const vHi = Number(cond.value >> 32n);
  const lowWord = (emitLow: () => void): void => {
    asm.ld(loOffset);
    emitLow();
  };
  switch (cond.op) {
    case 'SCMP_CMP_EQ':
    case 'SCMP_CMP_NE': {
      const [match, miss] = cond.op === 'SCMP_CMP_EQ' ? [pass, fail] : [fail, pass];
      if (bits === 64) highEqualThen(asm, hiOffset, vHi, miss);
      lowWord(() => asm.jump('jeq', vLo, match, miss));
      return;
    }
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE': {
      // LT is !GE and LE is !GT: compute the "greater" form and swap the outcomes
      const greater = cond.op === 'SCMP_CMP_GT' || cond.op === 'SCMP_CMP_LE' ? 'jgt' : 'jge';
      const [above, notAbove] = cond.op === 'SCMP_CMP_GT' || cond.op === 'SCMP_CMP_GE' ? [pass, fail] : [fail, pass];
      if (bits === 64) {
        asm.ld(hiOffset);
        const equal = asm.label();
        const decided = asm.label();
        asm.jump('jgt', vHi, above, decided);
        asm.place(decided);
        asm.jump('jeq', vHi, equal, notAbove);
        asm.place(equal);
      }
      lowWord(() => asm.jump(greater, vLo, above, notAbove));
      return;
    }
    case 'SCMP_CMP_MASKED_EQ': {
      const mLo = Number(cond.value & 0xffffffffn);
      const mHi = Number(cond.value >> 32n);
      const dLo = Number(cond.valueTwo & 0xffffffffn);
      const dHi = Number(cond.valueTwo >> 32n);
      if (bits === 64) {
        const next = asm.label();
        asm.ld(hiOffset);
        asm.and(mHi);
        asm.jump('jeq', dHi, next, fail);
        asm.place(next);
      }
      lowWord(() => {
        asm.and(mLo);
        asm.jump('jeq', dLo, pass, fail);
      });
      return;
    }
    default:
      throw new EngineError('internal', `compile seccomp: operator ${String(cond.op)} not handled`);
  }
}

/** Loads the high word and falls through only when it equals `vHi`; otherwise goes to `miss`. */
function highEqualThen(asm: BpfAssembler, hiOffset: number, vHi: number, miss: Label): void {
  const next = asm.label();
  asm.ld(hiOffset);
  asm.jump('jeq', vHi, next, miss);
  asm.place(next);
}
