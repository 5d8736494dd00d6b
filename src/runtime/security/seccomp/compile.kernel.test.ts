/**
 * One check against the real kernel: a compiled filter is loaded by a small C probe (the way
 * berth-shim loads it) and the kernel's answers must be the ones the interpreter predicts.
 * Needs gcc and an x86_64 or aarch64 host; needs no root (the probe sets no_new_privs).
 */

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeFilter } from './assembler.ts';
import { runSeccompFilter } from './bpf-interpreter.ts';
import { compileSeccomp } from './compile.ts';
import { SECCOMP_FILTER_FLAG, hostArch } from './constants.ts';
import { AARCH64_SYSCALLS, X86_64_SYSCALLS } from './syscall-tables.ts';

const PROBE = fileURLToPath(new URL('./testdata/seccomp-probe.c', import.meta.url));

function hasGcc(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Compiles the probe, loads `bpf` in it and returns what each probe syscall returned. */
function runProbe(bpf: Uint8Array, flags: number): Record<string, { ret: number; errno: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
  try {
    const exe = join(dir, 'probe');
    execFileSync('gcc', ['-O1', '-o', exe, PROBE]);
    writeFileSync(join(dir, 'filter.bpf'), bpf);
    const out = execFileSync(exe, [join(dir, 'filter.bpf'), String(flags)], { encoding: 'utf8' });
    return Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((line) => line.split(' '))
        .map(([name, ret, errno]) => [name!, { ret: Number(ret), errno: Number(errno) }]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('compileSeccomp on the kernel', { skip: !hasGcc() && 'gcc is not installed' }, () => {
  it('gets the verdicts the interpreter predicts, 64-bit arguments included', () => {
    const arch = hostArch();
    const table = arch === 'x86_64' ? X86_64_SYSCALLS : AARCH64_SYSCALLS;
    const { bpf, flags } = compileSeccomp(
      {
        defaultAction: 'SCMP_ACT_ALLOW',
        flags: ['SECCOMP_FILTER_FLAG_LOG'],
        syscalls: [
          { names: ['getppid'], action: 'SCMP_ACT_ERRNO', errnoRet: 42 },
          { names: ['lseek'], action: 'SCMP_ACT_ERRNO', errnoRet: 77, args: [{ index: 1, value: 0xffffffff, op: 'SCMP_CMP_GT' }] },
          {
            names: ['dup3'],
            action: 'SCMP_ACT_ERRNO',
            errnoRet: 78,
            args: [{ index: 2, value: 0o2000000, valueTwo: 0o2000000, op: 'SCMP_CMP_MASKED_EQ' }],
          },
        ],
      },
      { arch },
    );
    assert.equal(flags, SECCOMP_FILTER_FLAG.LOG);
    assert.deepEqual(runProbe(bpf, flags), {
      getpid: { ret: 0, errno: 0 },
      getppid: { ret: -1, errno: 42 },
      lseek_small: { ret: -1, errno: 9 }, // EBADF: the kernel ran it
      lseek_high: { ret: -1, errno: 77 },
      dup3_cloexec: { ret: -1, errno: 78 },
      dup3_plain: { ret: -1, errno: 22 }, // EINVAL (oldfd == newfd): the kernel ran it
      future: { ret: -1, errno: 38 }, // no such syscall: ENOSYS from the kernel, not the filter
    });
    // and the interpreter agrees on what the filter decided
    const audit = arch === 'x86_64' ? 0xc000003e : 0xc00000b7;
    const verdict = (name: string, args: (number | bigint)[]) =>
      runSeccompFilter(bpf, { arch: audit, nr: table.get(name)!, args });
    assert.equal(verdict('lseek', [-1, 0x1_0000_0000n, 0]), 0x0005004d);
    assert.equal(verdict('lseek', [-1, 5, 0]), 0x7fff0000);
  });

  it('loads a long allowlist whose jumps need trampolines, and enforces it', () => {
    const arch = hostArch();
    const table = arch === 'x86_64' ? X86_64_SYSCALLS : AARCH64_SYSCALLS;
    const special = new Set(['getppid', 'lseek', 'dup3']);
    const { bpf, flags } = compileSeccomp(
      {
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [
          // one argument block per syscall, so the allow verdict sits far from most of them
          ...[...table.keys()]
            .filter((name) => !special.has(name))
            .map((name, i) => ({
              names: [name],
              action: 'SCMP_ACT_ALLOW',
              args: [{ index: 5, value: 0xdead_0000_0000n + BigInt(i), op: 'SCMP_CMP_NE' }],
            })),
          { names: ['lseek'], action: 'SCMP_ACT_ERRNO', errnoRet: 77, args: [{ index: 1, value: 0xffffffff, op: 'SCMP_CMP_GT' }] },
          { names: ['lseek'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 0xffffffff, op: 'SCMP_CMP_LE' }] },
          { names: ['dup3'], action: 'SCMP_ACT_ERRNO', errnoRet: 78, args: [{ index: 2, value: 0o2000000, valueTwo: 0o2000000, op: 'SCMP_CMP_MASKED_EQ' }] },
          { names: ['dup3'], action: 'SCMP_ACT_ALLOW', args: [{ index: 2, value: 0o2000000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
        ],
      },
      { arch },
    );
    const program = decodeFilter(bpf);
    assert.ok(program.length > 1000 && program.length <= 4096, `${program.length} instructions`);
    assert.ok(program.some((insn) => insn.code === 0x05 && insn.k > 255), 'has far jumps');
    assert.deepEqual(runProbe(bpf, flags), {
      getpid: { ret: 0, errno: 0 },
      getppid: { ret: -1, errno: 1 },
      lseek_small: { ret: -1, errno: 9 },
      lseek_high: { ret: -1, errno: 77 },
      dup3_cloexec: { ret: -1, errno: 78 },
      dup3_plain: { ret: -1, errno: 22 },
      future: { ret: -1, errno: 38 }, // ENOSYS: above every syscall the profile names
    });
  });
});
