/**
 * A classic-BPF assembler with symbolic labels, for seccomp filters.
 *
 * Classic BPF only jumps forward, and a conditional jump's offsets (jt, jf) are 8 bits: a
 * target more than 255 instructions ahead is out of reach. Only BPF_JA has a 32-bit offset.
 * The compiler therefore writes every jump to a label and lets `assemble()` lay the program
 * out: a conditional jump whose target is too far gets a trampoline, a `ja` placed right
 * after it, and points at that instead. Adding trampolines only lengthens distances, so the
 * layout is repeated until no jump changes (it converges: each jump is widened at most once
 * per side).
 */

import { EngineError } from '../../../util/errors.ts';

/** linux/bpf_common.h opcodes, the subset a seccomp filter uses. */
export const BPF = {
  LD_W_ABS: 0x20, // BPF_LD | BPF_W | BPF_ABS
  ALU_AND_K: 0x54, // BPF_ALU | BPF_AND | BPF_K
  JMP_JA: 0x05, // BPF_JMP | BPF_JA
  JMP_JEQ_K: 0x15, // BPF_JMP | BPF_JEQ | BPF_K
  JMP_JGT_K: 0x25, // BPF_JMP | BPF_JGT | BPF_K
  JMP_JGE_K: 0x35, // BPF_JMP | BPF_JGE | BPF_K
  JMP_JSET_K: 0x45, // BPF_JMP | BPF_JSET | BPF_K
  RET_K: 0x06, // BPF_RET | BPF_K
} as const;

/** The kernel refuses longer filters (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

/** Bytes per struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }. */
export const SOCK_FILTER_SIZE = 8;

export type Label = number & { readonly __label: unique symbol };

export type Condition = 'jeq' | 'jgt' | 'jge' | 'jset';

type Item =
  | { kind: 'ld'; k: number }
  | { kind: 'and'; k: number }
  | { kind: 'jmp'; cond: Condition; k: number; jt: Label; jf: Label }
  | { kind: 'ja'; target: Label }
  | { kind: 'ret'; k: number }
  | { kind: 'label'; label: Label };

const CONDITION_CODES: Readonly<Record<Condition, number>> = {
  jeq: BPF.JMP_JEQ_K,
  jgt: BPF.JMP_JGT_K,
  jge: BPF.JMP_JGE_K,
  jset: BPF.JMP_JSET_K,
};

/** One decoded struct sock_filter. */
export interface SockFilter {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export class BpfAssembler {
  #items: Item[] = [];
  #labels = 0;
  #placed = new Set<Label>();

  label(): Label {
    return this.#labels++ as Label;
  }

  /** Binds `label` to the next instruction emitted. */
  place(label: Label): void {
    if (this.#placed.has(label)) throw internal(`label ${label} placed twice`);
    this.#placed.add(label);
    this.#items.push({ kind: 'label', label });
  }

  /** A = *(u32 *)(seccomp_data + offset) */
  ld(offset: number): void {
    this.#items.push({ kind: 'ld', k: u32(offset) });
  }

  /** A &= k */
  and(k: number): void {
    this.#items.push({ kind: 'and', k: u32(k) });
  }

  /** if (A <cond> k) goto jt; else goto jf — unsigned 32-bit comparisons. */
  jump(cond: Condition, k: number, jt: Label, jf: Label): void {
    this.#items.push({ kind: 'jmp', cond, k: u32(k), jt, jf });
  }

  ja(target: Label): void {
    this.#items.push({ kind: 'ja', target });
  }

  ret(k: number): void {
    this.#items.push({ kind: 'ret', k: u32(k) });
  }

  /** Lays the program out (see the module comment) and encodes it. */
  assemble(): SockFilter[] {
    const items = this.#items;
    const farTrue = new Map<number, boolean>();
    const farFalse = new Map<number, boolean>();
    for (;;) {
      const { positions, labelAt } = this.#layout(farTrue, farFalse);
      let changed = false;
      items.forEach((item, i) => {
        if (item.kind !== 'jmp') return;
        const next = positions[i]! + 1;
        const t = target(labelAt, item.jt) - next;
        const f = target(labelAt, item.jf) - next;
        if (t < 0 || f < 0) throw internal('backward jump');
        if (t > 255 && !farTrue.get(i)) {
          farTrue.set(i, true);
          changed = true;
        }
        if (f > 255 && !farFalse.get(i)) {
          farFalse.set(i, true);
          changed = true;
        }
      });
      if (!changed) return this.#encode(positions, labelAt, farTrue, farFalse);
    }
  }

  #layout(
    farTrue: Map<number, boolean>,
    farFalse: Map<number, boolean>,
  ): { positions: number[]; labelAt: Map<Label, number> } {
    const positions: number[] = [];
    const labelAt = new Map<Label, number>();
    let pc = 0;
    this.#items.forEach((item, i) => {
      positions.push(pc);
      if (item.kind === 'label') labelAt.set(item.label, pc);
      else if (item.kind === 'jmp') pc += 1 + (farTrue.get(i) ? 1 : 0) + (farFalse.get(i) ? 1 : 0);
      else pc += 1;
    });
    return { positions, labelAt };
  }

  #encode(
    positions: number[],
    labelAt: Map<Label, number>,
    farTrue: Map<number, boolean>,
    farFalse: Map<number, boolean>,
  ): SockFilter[] {
    const out: SockFilter[] = [];
    const ja = (to: Label): SockFilter => {
      const k = target(labelAt, to) - (out.length + 1);
      if (k < 0) throw internal('backward jump');
      return { code: BPF.JMP_JA, jt: 0, jf: 0, k };
    };
    this.#items.forEach((item, i) => {
      switch (item.kind) {
        case 'label':
          return;
        case 'ld':
          out.push({ code: BPF.LD_W_ABS, jt: 0, jf: 0, k: item.k });
          return;
        case 'and':
          out.push({ code: BPF.ALU_AND_K, jt: 0, jf: 0, k: item.k });
          return;
        case 'ret':
          out.push({ code: BPF.RET_K, jt: 0, jf: 0, k: item.k });
          return;
        case 'ja':
          out.push(ja(item.target));
          return;
        case 'jmp': {
          const next = positions[i]! + 1;
          const t = farTrue.get(i) ?? false;
          const f = farFalse.get(i) ?? false;
          // trampolines sit right after the jump: the true side's first, then the false side's
          const jt = t ? 0 : target(labelAt, item.jt) - next;
          const jf = f ? (t ? 1 : 0) : target(labelAt, item.jf) - next;
          out.push({ code: CONDITION_CODES[item.cond], jt, jf, k: item.k });
          if (t) out.push(ja(item.jt));
          if (f) out.push(ja(item.jf));
          return;
        }
      }
    });
    return out;
  }
}

/** struct sock_filter[] as the kernel reads it (little-endian hosts). */
export function encodeFilter(program: readonly SockFilter[]): Uint8Array {
  const bytes = new Uint8Array(program.length * SOCK_FILTER_SIZE);
  const view = new DataView(bytes.buffer);
  program.forEach((insn, i) => {
    const at = i * SOCK_FILTER_SIZE;
    view.setUint16(at, insn.code, true);
    view.setUint8(at + 2, insn.jt);
    view.setUint8(at + 3, insn.jf);
    view.setUint32(at + 4, insn.k, true);
  });
  return bytes;
}

export function decodeFilter(bytes: Uint8Array): SockFilter[] {
  if (bytes.length % SOCK_FILTER_SIZE !== 0) {
    throw new EngineError('invalid-argument', `decode bpf: ${bytes.length} bytes is not a whole program`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SockFilter[] = [];
  for (let at = 0; at < bytes.length; at += SOCK_FILTER_SIZE) {
    out.push({
      code: view.getUint16(at, true),
      jt: view.getUint8(at + 2),
      jf: view.getUint8(at + 3),
      k: view.getUint32(at + 4, true),
    });
  }
  return out;
}

function target(labelAt: Map<Label, number>, label: Label): number {
  const pc = labelAt.get(label);
  if (pc === undefined) throw internal(`label ${label} never placed`);
  return pc;
}

function u32(k: number): number {
  if (!Number.isInteger(k) || k < -0x8000_0000 || k > 0xffff_ffff) throw internal(`constant ${k} out of range`);
  return k >>> 0;
}

function internal(message: string): EngineError {
  return new EngineError('internal', `assemble bpf: ${message}`);
}
