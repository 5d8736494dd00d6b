/**
 * A classic-BPF interpreter for seccomp filters, used only by tests: it lets unit tests ask
 * "what would the kernel answer for this (arch, nr, args)?" without loading the filter.
 * `checkSeccompFilter` applies the kernel's load-time checks (bpf_check_classic and
 * seccomp_check_filter) so that a program the tests like is also one the kernel accepts.
 */

import { decodeFilter, BPF_MAXINSNS } from './assembler.ts';
import type { SockFilter } from './assembler.ts';
import { SECCOMP_DATA } from './constants.ts';

export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  /** Up to six u64 arguments; missing ones are 0. */
  args?: readonly (bigint | number)[];
}

const CLASS = (code: number): number => code & 0x07;
const MODE = (code: number): number => code & 0xe0;
const OP = (code: number): number => code & 0xf0;
const SRC = (code: number): number => code & 0x08;

const BPF_LD = 0x00;
const BPF_LDX = 0x01;
const BPF_ST = 0x02;
const BPF_STX = 0x03;
const BPF_ALU = 0x04;
const BPF_JMP = 0x05;
const BPF_RET = 0x06;
const BPF_MISC = 0x07;
const BPF_W = 0x00;
const BPF_IMM = 0x00;
const BPF_ABS = 0x20;
const BPF_MEM = 0x60;
const BPF_LEN = 0x80;
const BPF_X = 0x08;
const BPF_A = 0x10;
const BPF_MEMWORDS = 16;

/** Serialises struct seccomp_data as a little-endian kernel lays it out. */
export function seccompDataBytes(data: SeccompData): DataView {
  const view = new DataView(new ArrayBuffer(SECCOMP_DATA.SIZE));
  view.setInt32(SECCOMP_DATA.NR, data.nr | 0, true);
  view.setUint32(SECCOMP_DATA.ARCH, data.arch >>> 0, true);
  view.setBigUint64(SECCOMP_DATA.INSTRUCTION_POINTER, data.instructionPointer ?? 0n, true);
  (data.args ?? []).forEach((arg, i) => {
    view.setBigUint64(SECCOMP_DATA.ARGS + 8 * i, BigInt.asUintN(64, BigInt(arg)), true);
  });
  return view;
}

/** The kernel's load-time checks; returns the first problem, or undefined when it would load. */
export function checkSeccompFilter(program: readonly SockFilter[]): string | undefined {
  if (program.length === 0 || program.length > BPF_MAXINSNS) return `length ${program.length}`;
  for (const [pc, insn] of program.entries()) {
    const { code, k } = insn;
    switch (CLASS(code)) {
      case BPF_LD:
        if (code === (BPF_LD | BPF_W | BPF_ABS)) {
          if (k % 4 !== 0 || k >= SECCOMP_DATA.SIZE) return `pc ${pc}: bad load offset ${k}`;
        } else if (code === (BPF_LD | BPF_W | BPF_MEM)) {
          if (k >= BPF_MEMWORDS) return `pc ${pc}: bad memory slot ${k}`;
        } else if (code !== (BPF_LD | BPF_W | BPF_LEN) && code !== (BPF_LD | BPF_IMM)) {
          return `pc ${pc}: load mode not allowed in seccomp`;
        }
        break;
      case BPF_LDX:
        if (code === (BPF_LDX | BPF_W | BPF_MEM)) {
          if (k >= BPF_MEMWORDS) return `pc ${pc}: bad memory slot ${k}`;
        } else if (code !== (BPF_LDX | BPF_W | BPF_LEN) && code !== (BPF_LDX | BPF_IMM)) {
          return `pc ${pc}: ldx mode not allowed in seccomp`;
        }
        break;
      case BPF_ST:
      case BPF_STX:
        if (k >= BPF_MEMWORDS) return `pc ${pc}: bad memory slot ${k}`;
        break;
      case BPF_ALU:
        if ((OP(code) === 0x30 || OP(code) === 0x90) && SRC(code) !== BPF_X && k === 0) {
          return `pc ${pc}: division by zero`;
        }
        break;
      case BPF_JMP:
        if (OP(code) === 0x00) {
          if (pc + 1 + k >= program.length) return `pc ${pc}: ja out of range`;
        } else if (pc + 1 + insn.jt >= program.length || pc + 1 + insn.jf >= program.length) {
          return `pc ${pc}: jump out of range`;
        }
        break;
      case BPF_RET:
        if (code !== (BPF_RET | BPF_A) && code !== (BPF_RET | 0x00)) return `pc ${pc}: bad ret`;
        break;
      case BPF_MISC:
        if (code !== (BPF_MISC | 0x00) && code !== (BPF_MISC | 0x80)) return `pc ${pc}: bad misc`;
        break;
    }
  }
  const last = program[program.length - 1]!;
  if (CLASS(last.code) !== BPF_RET) return 'program does not end with ret';
  return undefined;
}

/** Runs `filter` on `data` and returns the 32-bit verdict (SECCOMP_RET_*). */
export function runSeccompFilter(filter: Uint8Array | readonly SockFilter[], data: SeccompData): number {
  const program = filter instanceof Uint8Array ? decodeFilter(filter) : filter;
  const problem = checkSeccompFilter(program);
  if (problem) throw new Error(`bpf: kernel would reject filter: ${problem}`);
  const bytes = seccompDataBytes(data);
  const mem = new Uint32Array(BPF_MEMWORDS);
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const { code, jt, jf, k } = program[pc]!;
    switch (CLASS(code)) {
      case BPF_LD:
        if (MODE(code) === BPF_ABS) a = bytes.getUint32(k, true);
        else if (MODE(code) === BPF_MEM) a = mem[k]!;
        else if (MODE(code) === BPF_LEN) a = SECCOMP_DATA.SIZE;
        else a = k;
        break;
      case BPF_LDX:
        if (MODE(code) === BPF_MEM) x = mem[k]!;
        else if (MODE(code) === BPF_LEN) x = SECCOMP_DATA.SIZE;
        else x = k;
        break;
      case BPF_ST:
        mem[k] = a;
        break;
      case BPF_STX:
        mem[k] = x;
        break;
      case BPF_ALU:
        a = alu(OP(code), a, SRC(code) === BPF_X ? x : k);
        break;
      case BPF_JMP: {
        const operand = SRC(code) === BPF_X ? x : k;
        switch (OP(code)) {
          case 0x00:
            pc += k;
            break;
          case 0x10:
            pc += a === operand ? jt : jf;
            break;
          case 0x20:
            pc += a > operand ? jt : jf;
            break;
          case 0x30:
            pc += a >= operand ? jt : jf;
            break;
          case 0x40:
            pc += (a & operand) !== 0 ? jt : jf;
            break;
          default:
            throw new Error(`bpf: pc ${pc}: unknown jump 0x${code.toString(16)}`);
        }
        break;
      }
      case BPF_RET:
        return ((code & 0x18) === BPF_A ? a : k) >>> 0;
      case BPF_MISC:
        if (code === (BPF_MISC | 0x00)) x = a;
        else a = x;
        break;
    }
    a >>>= 0;
    x >>>= 0;
  }
  throw new Error('bpf: ran off the end of the program');
}

function alu(op: number, a: number, b: number): number {
  switch (op) {
    case 0x00:
      return (a + b) >>> 0;
    case 0x10:
      return (a - b) >>> 0;
    case 0x20:
      return Number((BigInt(a) * BigInt(b)) & 0xffffffffn);
    case 0x30:
      return b === 0 ? 0 : Math.floor(a / b);
    case 0x40:
      return (a | b) >>> 0;
    case 0x50:
      return (a & b) >>> 0;
    case 0x60:
      return b >= 32 ? 0 : (a << b) >>> 0;
    case 0x70:
      return b >= 32 ? 0 : a >>> b;
    case 0x80:
      return -a >>> 0;
    case 0x90:
      return b === 0 ? 0 : a % b;
    case 0xa0:
      return (a ^ b) >>> 0;
    default:
      throw new Error(`bpf: unknown alu op 0x${op.toString(16)}`);
  }
}
