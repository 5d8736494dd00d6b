/**
 * The assembler's layout: labels resolve forward, and conditional jumps beyond the 8-bit
 * reach go through BPF_JA trampolines that still land on the right instruction.
 */

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { BPF, BpfAssembler, decodeFilter, encodeFilter } from './assembler.ts';
import { checkSeccompFilter, runSeccompFilter } from './bpf-interpreter.ts';

/** if (nr == 7) → 0x11 else → 0x22, with `padding` unrelated instructions in between. */
function farBranch(padding: number, placeTrueFirst: boolean): ReturnType<BpfAssembler['assemble']> {
  const asm = new BpfAssembler();
  const yes = asm.label();
  const no = asm.label();
  asm.ld(0);
  asm.jump('jeq', 7, yes, no);
  const skip = asm.label();
  asm.ja(skip);
  for (let i = 0; i < padding; i++) asm.ret(0xdead);
  asm.place(skip);
  for (let i = 0; i < padding; i++) asm.ld(0);
  asm.place(placeTrueFirst ? yes : no);
  asm.ret(placeTrueFirst ? 0x11 : 0x22);
  asm.place(placeTrueFirst ? no : yes);
  asm.ret(placeTrueFirst ? 0x22 : 0x11);
  return asm.assemble();
}

describe('bpf assembler', () => {
  it('encodes struct sock_filter little-endian, 8 bytes each', () => {
    const bytes = encodeFilter([{ code: BPF.JMP_JEQ_K, jt: 3, jf: 250, k: 0xc000003e }]);
    assert.deepEqual([...bytes], [0x15, 0x00, 3, 250, 0x3e, 0x00, 0x00, 0xc0]);
    assert.deepEqual(decodeFilter(bytes), [{ code: 0x15, jt: 3, jf: 250, k: 0xc000003e }]);
  });

  it('keeps short jumps as single instructions', () => {
    const program = farBranch(10, true);
    assert.equal(program.length, 2 + 1 + 10 + 10 + 2);
    assert.equal(program[1]!.jt, 21);
    assert.equal(program[1]!.jf, 22);
    assert.equal(runSeccompFilter(program, { nr: 7, arch: 0 }), 0x11);
    assert.equal(runSeccompFilter(program, { nr: 8, arch: 0 }), 0x22);
  });

  for (const padding of [127, 128, 200, 300, 1000]) {
    for (const trueFirst of [true, false]) {
      it(`routes a conditional jump over ${padding * 2} instructions (true side placed ${trueFirst ? 'first' : 'second'})`, () => {
        const program = farBranch(padding, trueFirst);
        assert.equal(checkSeccompFilter(program), undefined);
        for (const insn of program) assert.ok(insn.jt <= 255 && insn.jf <= 255);
        assert.equal(runSeccompFilter(program, { nr: 7, arch: 0 }), 0x11);
        assert.equal(runSeccompFilter(program, { nr: 8, arch: 0 }), 0x22);
      });
    }
  }

  it('refuses a label placed twice or never placed', () => {
    const asm = new BpfAssembler();
    const l = asm.label();
    asm.place(l);
    assert.throws(() => asm.place(l), /placed twice/);
    const other = new BpfAssembler();
    other.ja(other.label());
    assert.throws(() => other.assemble(), /never placed/);
  });

  it('refuses a backward jump', () => {
    const asm = new BpfAssembler();
    const top = asm.label();
    asm.place(top);
    asm.ld(0);
    asm.ja(top);
    assert.throws(() => asm.assemble(), /backward jump/);
  });
});
