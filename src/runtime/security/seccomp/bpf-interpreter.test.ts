/**
 * The test interpreter must itself be right, or every seccomp test built on it proves
 * nothing: hand-assembled programs with known answers, and the kernel's load-time checks.
 */

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { SockFilter } from './assembler.ts';
import { checkSeccompFilter, runSeccompFilter, seccompDataBytes } from './bpf-interpreter.ts';

const insn = (code: number, k: number, jt = 0, jf = 0): SockFilter => ({ code, jt, jf, k });

describe('bpf interpreter', () => {
  it('lays out seccomp_data as the kernel does (nr, arch, ip, args low word first)', () => {
    const view = seccompDataBytes({
      nr: -1,
      arch: 0xc000003e,
      instructionPointer: 0x1122334455667788n,
      args: [0x0123456789abcdefn, 5],
    });
    assert.equal(view.getUint32(0, true), 0xffffffff);
    assert.equal(view.getUint32(4, true), 0xc000003e);
    assert.equal(view.getUint32(8, true), 0x55667788);
    assert.equal(view.getUint32(16, true), 0x89abcdef);
    assert.equal(view.getUint32(20, true), 0x01234567);
    assert.equal(view.getUint32(24, true), 5);
    assert.equal(view.getUint32(60, true), 0);
  });

  it('runs loads, alu, jumps and returns', () => {
    const program = [
      insn(0x20, 16), // ld args[0].lo
      insn(0x54, 0xff), // and 0xff
      insn(0x04, 1), // add 1
      insn(0x25, 10, 0, 1), // jgt 10
      insn(0x06, 0x7fff0000), // ret allow
      insn(0x45, 0x1, 1, 0), // jset 1 → skip one
      insn(0x16, 0), // ret A
      insn(0x06, 0x00050001), // ret errno 1
    ];
    assert.equal(runSeccompFilter(program, { nr: 0, arch: 0, args: [0x1fe] }), 0x7fff0000); // 0xfe+1 > 10
    assert.equal(runSeccompFilter(program, { nr: 0, arch: 0, args: [4] }), 0x00050001); // 5 is odd
    assert.equal(runSeccompFilter(program, { nr: 0, arch: 0, args: [3] }), 4); // 4 is even: ret A
  });

  it('uses the scratch memory and X', () => {
    const program = [
      insn(0x00, 42), // ld #42
      insn(0x02, 3), // st M[3]
      insn(0x01, 8), // ldx #8
      insn(0x00, 0), // ld #0
      insn(0x60, 3), // ld M[3]
      insn(0x0c, 0), // add x
      insn(0x16, 0), // ret A
    ];
    assert.equal(runSeccompFilter(program, { nr: 0, arch: 0 }), 50);
  });

  it('rejects what the kernel rejects', () => {
    assert.match(checkSeccompFilter([]) ?? '', /length/);
    assert.match(checkSeccompFilter([insn(0x20, 2), insn(0x06, 0)]) ?? '', /load offset/);
    assert.match(checkSeccompFilter([insn(0x20, 64), insn(0x06, 0)]) ?? '', /load offset/);
    assert.match(checkSeccompFilter([insn(0x28, 0), insn(0x06, 0)]) ?? '', /not allowed/); // ld half
    assert.match(checkSeccompFilter([insn(0x15, 0, 1, 0), insn(0x06, 0)]) ?? '', /out of range/);
    assert.match(checkSeccompFilter([insn(0x05, 1), insn(0x06, 0)]) ?? '', /out of range/);
    assert.match(checkSeccompFilter([insn(0x20, 0)]) ?? '', /does not end with ret/);
    assert.match(checkSeccompFilter([insn(0x34, 0), insn(0x06, 0)]) ?? '', /division by zero/);
    assert.equal(checkSeccompFilter([insn(0x20, 60), insn(0x06, 0)]), undefined);
  });
});
