/** Tests for the v2 device filter compiler, run through a small eBPF interpreter. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeviceCgroup } from '../../oci/runtime-spec.ts';
import type { BpfInstruction } from './devices-bpf.ts';
import {
  BPF_ALU32_AND_K,
  BPF_ALU32_MOV_X,
  BPF_ALU32_RSH_K,
  BPF_ALU64_MOV_K,
  BPF_DEVCG_ACC_MKNOD,
  BPF_DEVCG_ACC_READ,
  BPF_DEVCG_ACC_WRITE,
  BPF_DEVCG_DEV_BLOCK,
  BPF_DEVCG_DEV_CHAR,
  BPF_JMP_EXIT,
  BPF_JMP_JEQ_K,
  BPF_JMP_JNE_K,
  BPF_LDX_MEM_W,
  deviceFilterProgram,
  encodeBpfProgram,
} from './devices-bpf.ts';

/**
 * Runs a program the way the kernel would for one device access: a minimal eBPF interpreter
 * for exactly the opcodes the compiler emits (an unknown opcode fails the test).
 */
function run(program: BpfInstruction[], type: 'b' | 'c', major: number, minor: number, access: string): boolean {
  const accessBits = (access.includes('m') ? BPF_DEVCG_ACC_MKNOD : 0) | (access.includes('r') ? BPF_DEVCG_ACC_READ : 0) | (access.includes('w') ? BPF_DEVCG_ACC_WRITE : 0);
  const ctx = [(accessBits << 16) | (type === 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR), major, minor];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0, steps = 0; pc < program.length && steps < 10000; pc++, steps++) {
    const { code, dst, src, off, imm } = program[pc]!;
    switch (code) {
      case BPF_LDX_MEM_W:
        assert.equal(src, 1, 'loads only from the context');
        r[dst] = ctx[off / 4]!;
        break;
      case BPF_ALU32_AND_K:
        r[dst] = (r[dst]! & imm) >>> 0;
        break;
      case BPF_ALU32_RSH_K:
        r[dst] = r[dst]! >>> imm;
        break;
      case BPF_ALU32_MOV_X:
        r[dst] = r[src]! >>> 0;
        break;
      case BPF_ALU64_MOV_K:
        r[dst] = imm;
        break;
      case BPF_JMP_JNE_K:
        if (r[dst] !== imm) pc += off;
        break;
      case BPF_JMP_JEQ_K:
        if (r[dst] === imm) pc += off;
        break;
      case BPF_JMP_EXIT:
        return r[0] === 1;
      default:
        assert.fail(`unexpected opcode 0x${code.toString(16)}`);
    }
  }
  return assert.fail('program fell off the end');
}

/** What docker sends by default: deny all, then the usual character devices. */
const DEFAULT_RULES: DeviceCgroup[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
  { allow: true, type: 'c', major: 136, minor: -1, access: 'rwm' },
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rw' },
  { allow: false, type: 'c', major: 1, minor: 5, access: 'w' },
];

describe('deviceFilterProgram', () => {
  const program = deviceFilterProgram(DEFAULT_RULES);

  it('allows the listed devices for the listed access', () => {
    assert.equal(run(program, 'c', 1, 3, 'rw'), true);
    assert.equal(run(program, 'c', 1, 3, 'm'), true);
    assert.equal(run(program, 'c', 136, 7, 'rw'), true);
    assert.equal(run(program, 'c', 10, 200, 'r'), true);
  });

  it('denies unlisted devices, other types, and access beyond the rule', () => {
    assert.equal(run(program, 'b', 8, 0, 'r'), false);
    assert.equal(run(program, 'c', 1, 4, 'r'), false);
    assert.equal(run(program, 'b', 1, 3, 'r'), false);
    assert.equal(run(program, 'c', 10, 200, 'm'), false);
  });

  it('a later rule takes precedence over an earlier one', () => {
    assert.equal(run(program, 'c', 1, 5, 'r'), true);
    assert.equal(run(program, 'c', 1, 5, 'w'), false);
    assert.equal(run(program, 'c', 1, 5, 'rw'), false);
  });

  it('with no rules everything is denied; a trailing allow-all allows everything', () => {
    assert.equal(run(deviceFilterProgram([]), 'c', 1, 3, 'r'), false);
    const open = deviceFilterProgram([...DEFAULT_RULES, { allow: true, access: 'rwm' }]);
    assert.equal(run(open, 'b', 8, 0, 'rwm'), true);
  });

  it('encodes struct bpf_insn little-endian with dst in the low nibble', () => {
    const bytes = encodeBpfProgram(program);
    assert.equal(bytes.length, program.length * 8);
    // r2 = *(u32 *)(r1 + 0)
    assert.deepEqual([...bytes.subarray(0, 8)], [0x61, 0x12, 0, 0, 0, 0, 0, 0]);
    // r5 = *(u32 *)(r1 + 8)
    assert.deepEqual([...bytes.subarray(40, 48)], [0x61, 0x15, 8, 0, 0, 0, 0, 0]);
    // the final exit
    assert.deepEqual([...bytes.subarray(bytes.length - 8)], [0x95, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('has no unreachable instruction, which the verifier would reject', () => {
    for (const rules of [DEFAULT_RULES, [], [{ allow: true, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 1 }], [...DEFAULT_RULES, { allow: true }]]) {
      const compiled = deviceFilterProgram(rules as DeviceCgroup[]);
      const reached = new Set<number>();
      const pending = [0];
      while (pending.length > 0) {
        const pc = pending.pop()!;
        if (reached.has(pc) || pc >= compiled.length) continue;
        reached.add(pc);
        const { code, off } = compiled[pc]!;
        if (code === BPF_JMP_EXIT) continue;
        pending.push(pc + 1);
        if (code === BPF_JMP_JNE_K || code === BPF_JMP_JEQ_K) pending.push(pc + 1 + off);
      }
      assert.equal(reached.size, compiled.length, `all ${compiled.length} instructions reachable`);
      assert.equal(compiled.at(-1)!.code, BPF_JMP_EXIT);
    }
  });

  it('refuses malformed rules', () => {
    assert.throws(() => deviceFilterProgram([{ allow: true, type: 'x' }]), { kind: 'invalid-argument' });
  });
});
