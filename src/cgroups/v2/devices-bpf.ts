/**
 * cgroup v2 has no devices.allow: device access is decided by a BPF_PROG_TYPE_CGROUP_DEVICE
 * program attached to the cgroup. This module compiles OCI device rules into that program as
 * data (instructions and their 8-byte encoding), so it can be unit tested and handed to
 * whatever loads it (bpf(2) is not reachable from Node without native code).
 *
 * The program sees `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`,
 * access_type = access << 16 | type, and returns 1 to allow, 0 to deny. Rules are tested from
 * the last to the first and the first match decides, which gives later rules precedence as in
 * the v1 replay (deny all, then each rule in order); no match denies. One difference remains:
 * v1 merges overlapping allow rules (`c 1:5 r` then `c 1:5 w` allows `rw`), here a request
 * must be covered by a single rule.
 */

import type { DeviceCgroup } from '../../oci/runtime-spec.ts';
import { invalidArgument } from '../../util/errors.ts';

/** linux/bpf.h */
export const BPF_DEVCG_DEV_BLOCK = 1;
export const BPF_DEVCG_DEV_CHAR = 2;
export const BPF_DEVCG_ACC_MKNOD = 1;
export const BPF_DEVCG_ACC_READ = 2;
export const BPF_DEVCG_ACC_WRITE = 4;

/** Opcodes used here (class | op | source), named as in linux/bpf_common.h. */
export const BPF_LDX_MEM_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
export const BPF_ALU32_AND_K = 0x54; // BPF_ALU | BPF_AND | BPF_K
export const BPF_ALU32_RSH_K = 0x74; // BPF_ALU | BPF_RSH | BPF_K
export const BPF_ALU32_MOV_X = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
export const BPF_ALU64_MOV_K = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
export const BPF_JMP_JNE_K = 0x55; // BPF_JMP | BPF_JNE | BPF_K
export const BPF_JMP_JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
export const BPF_JMP_EXIT = 0x95; // BPF_JMP | BPF_EXIT

export interface BpfInstruction {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

function insn(code: number, dst: number, src: number, off: number, imm: number): BpfInstruction {
  return { code, dst, src, off, imm };
}

function accessBits(access: string): number {
  if (!/^[rwm]{1,3}$/.test(access)) throw invalidArgument(`compile device rule: invalid access ${JSON.stringify(access)}`);
  let bits = 0;
  if (access.includes('m')) bits |= BPF_DEVCG_ACC_MKNOD;
  if (access.includes('r')) bits |= BPF_DEVCG_ACC_READ;
  if (access.includes('w')) bits |= BPF_DEVCG_ACC_WRITE;
  return bits;
}

const ALL_ACCESS = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

/** Registers after the prologue: r2 = type, r3 = access, r4 = major, r5 = minor. */
function ruleBlock(rule: DeviceCgroup): BpfInstruction[] {
  const type = rule.type ?? 'a';
  if (!['a', 'b', 'c'].includes(type)) throw invalidArgument(`compile device rule: invalid type ${JSON.stringify(type)}`);
  const access = accessBits(rule.access ?? 'rwm');
  // Each check is built with a placeholder jump; offsets are fixed once the block length is known.
  const checks: BpfInstruction[][] = [];
  if (type !== 'a') checks.push([insn(BPF_JMP_JNE_K, 2, 0, 0, type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR)]);
  if (access !== ALL_ACCESS) {
    // An allow rule decides only if it grants everything requested (request & ~access == 0);
    // a deny rule as soon as it forbids any part of it (request & access != 0), as v1 removes
    // the denied bits from whatever was allowed before.
    checks.push(
      rule.allow
        ? [insn(BPF_ALU32_MOV_X, 1, 3, 0, 0), insn(BPF_ALU32_AND_K, 1, 0, 0, ~access & ALL_ACCESS), insn(BPF_JMP_JNE_K, 1, 0, 0, 0)]
        : [insn(BPF_ALU32_MOV_X, 1, 3, 0, 0), insn(BPF_ALU32_AND_K, 1, 0, 0, access), insn(BPF_JMP_JEQ_K, 1, 0, 0, 0)],
    );
  }
  if (rule.major !== undefined && rule.major !== null && rule.major >= 0) checks.push([insn(BPF_JMP_JNE_K, 4, 0, 0, rule.major)]);
  if (rule.minor !== undefined && rule.minor !== null && rule.minor >= 0) checks.push([insn(BPF_JMP_JNE_K, 5, 0, 0, rule.minor)]);
  const block = checks.flat();
  block.push(insn(BPF_ALU64_MOV_K, 0, 0, 0, rule.allow ? 1 : 0), insn(BPF_JMP_EXIT, 0, 0, 0, 0));
  block.forEach((instruction, index) => {
    if (instruction.code === BPF_JMP_JNE_K || instruction.code === BPF_JMP_JEQ_K) instruction.off = block.length - index - 1;
  });
  return block;
}

/** The device filter for `rules`, ready for BPF_PROG_LOAD (license "Apache-2.0" suffices: no GPL helpers). */
export function deviceFilterProgram(rules: readonly DeviceCgroup[]): BpfInstruction[] {
  const program = [
    insn(BPF_LDX_MEM_W, 2, 1, 0, 0),
    insn(BPF_ALU32_AND_K, 2, 0, 0, 0xffff),
    insn(BPF_LDX_MEM_W, 3, 1, 0, 0),
    insn(BPF_ALU32_RSH_K, 3, 0, 0, 16),
    insn(BPF_LDX_MEM_W, 4, 1, 4, 0),
    insn(BPF_LDX_MEM_W, 5, 1, 8, 0),
  ];
  for (const rule of [...rules].reverse()) {
    const block = ruleBlock(rule);
    program.push(...block);
    // A rule without conditions (`a *:* rwm`) always decides: the verifier rejects the
    // unreachable code that would follow it.
    if (block.length === 2) return program;
  }
  program.push(insn(BPF_ALU64_MOV_K, 0, 0, 0, 0), insn(BPF_JMP_EXIT, 0, 0, 0, 0));
  return program;
}

/** struct bpf_insn, little-endian: code, dst_reg (low nibble) | src_reg (high nibble), off, imm. */
export function encodeBpfProgram(program: readonly BpfInstruction[]): Buffer {
  const bytes = Buffer.alloc(program.length * 8);
  program.forEach((instruction, index) => {
    const at = index * 8;
    bytes.writeUInt8(instruction.code, at);
    bytes.writeUInt8(((instruction.src & 0xf) << 4) | (instruction.dst & 0xf), at + 1);
    bytes.writeInt16LE(instruction.off, at + 2);
    bytes.writeInt32LE(instruction.imm, at + 4);
  });
  return bytes;
}
