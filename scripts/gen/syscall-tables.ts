/**
 * Generates src/runtime/security/seccomp/syscall-tables.ts from the kernel UAPI headers
 * installed on the build machine (linux-libc-dev), so that seccomp profiles, which name
 * syscalls, can be compiled to the numbers the kernel puts in seccomp_data.nr.
 *
 *   node --import tsx scripts/gen/syscall-tables.ts [include-dir]
 *
 * x86_64, i386 and x32 come from asm/unistd_{64,32,x32}.h. aarch64 has no header of its own:
 * it uses asm-generic/unistd.h, whose numbers depend on preprocessor switches, so a tiny
 * evaluator of #if/#ifdef runs with the switches arm64's asm/unistd.h sets.
 *
 * Syscalls newer than the installed headers are added from LATE_SYSCALLS: since Linux 5.1
 * every architecture but alpha shares one number for each new syscall, so one list serves all.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const include = process.argv[2] ?? '/usr/include';
const out = new URL('../../src/runtime/security/seccomp/syscall-tables.ts', import.meta.url);

const X32_SYSCALL_BIT = 0x40000000;

/** Unified numbers of syscalls added after Linux 6.1 (the headers of Debian 12). */
const LATE_SYSCALLS: Record<string, number> = {
  cachestat: 451,
  fchmodat2: 452,
  map_shadow_stack: 453,
  futex_wake: 454,
  futex_wait: 455,
  futex_requeue: 456,
  statmount: 457,
  listmount: 458,
  lsm_get_self_attr: 459,
  lsm_set_self_attr: 460,
  lsm_list_modules: 461,
  mseal: 462,
  setxattrat: 463,
  getxattrat: 464,
  listxattrat: 465,
  removexattrat: 466,
  open_tree_attr: 467,
  file_getattr: 468,
  file_setattr: 469,
};

/** `#define __NR_name N` and `#define __NR_name (__X32_SYSCALL_BIT + N)`. */
function parseFlatHeader(path: string): Map<string, number> {
  const table = new Map<string, number>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^#define __NR_(\w+)\s+(?:\(__X32_SYSCALL_BIT \+ (\d+)\)|(\d+))\s*$/.exec(line);
    if (!m) continue;
    const name = m[1]!;
    table.set(name, m[2] !== undefined ? X32_SYSCALL_BIT + Number(m[2]) : Number(m[3]));
  }
  if (table.size < 300) throw new Error(`parse ${path}: only ${table.size} syscalls found`);
  return table;
}

/**
 * asm-generic/unistd.h for a 64-bit, non-compat architecture. Handles the directives the
 * header uses (#if/#ifdef/#ifndef/#else/#endif, #define, #undef) and nothing more.
 */
function parseGenericHeader(path: string, wants: string[]): Map<string, number> {
  const defined = new Map<string, string>(wants.map((w) => [w, '1']));
  const stack: boolean[] = [];
  const active = (): boolean => stack.every(Boolean);
  const evaluate = (expr: string): boolean => {
    const js = expr
      .replace(/\/\*.*?\*\//g, '')
      .replace(/defined\s*\(\s*(\w+)\s*\)/g, (_m, name: string) => String(defined.has(name)))
      .replace(/\b__BITS_PER_LONG\b/g, '64');
    if (!/^[\s\w()!=|&<>]*$/.test(js)) throw new Error(`evaluate #if ${expr}: unsupported`);
    return Boolean(new Function(`return (${js});`)());
  };
  let pending = '';
  for (const raw of readFileSync(path, 'utf8').split('\n')) {
    const line = pending + raw;
    if (line.endsWith('\\')) {
      pending = line.slice(0, -1);
      continue;
    }
    pending = '';
    const d = /^#\s*(\w+)\s*(.*)$/.exec(line.trim());
    if (!d) continue;
    const [, directive, rest = ''] = d;
    switch (directive) {
      case 'if':
        stack.push(evaluate(rest));
        break;
      case 'ifdef':
        stack.push(defined.has(rest.trim()));
        break;
      case 'ifndef':
        stack.push(!defined.has(rest.trim()));
        break;
      case 'else':
        stack.push(!stack.pop());
        break;
      case 'endif':
        stack.pop();
        break;
      case 'undef':
        if (active()) defined.delete(rest.trim());
        break;
      case 'define': {
        if (!active()) break;
        const m = /^(\w+)(?:\s+(.*))?$/.exec(rest.trim());
        if (m) defined.set(m[1]!, (m[2] ?? '').replace(/\/\*.*?\*\//g, '').trim());
        break;
      }
      case 'include':
        // only <asm/bitsperlong.h>, whose one fact (__BITS_PER_LONG = 64) is built in
        break;
      default:
        throw new Error(`parse ${path}: unsupported directive #${directive}`);
    }
  }
  const resolve = (value: string, depth = 0): number | undefined => {
    if (/^\d+$/.test(value)) return Number(value);
    const next = defined.get(value);
    return next === undefined || depth > 4 ? undefined : resolve(next, depth + 1);
  };
  const table = new Map<string, number>();
  for (const [macro, value] of defined) {
    const m = /^__NR_(\w+)$/.exec(macro);
    if (!m || m[1] === 'syscalls' || m[1] === 'arch_specific_syscall') continue;
    const nr = resolve(value);
    if (nr !== undefined) table.set(m[1]!, nr);
  }
  if (table.size < 250) throw new Error(`parse ${path}: only ${table.size} syscalls found`);
  return table;
}

function withLateSyscalls(
  table: Map<string, number>,
  options: { offset: number; shadowStack: boolean },
): Map<string, number> {
  for (const [name, nr] of Object.entries(LATE_SYSCALLS)) {
    if (table.has(name)) continue;
    // map_shadow_stack exists only for 64-bit ABIs with shadow stacks: x86_64, aarch64 (GCS).
    if (name === 'map_shadow_stack' && !options.shadowStack) continue;
    table.set(name, nr + options.offset);
  }
  return table;
}

function render(constName: string, doc: string, table: Map<string, number>): string {
  const rows = [...table].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  const body = rows.map(([name, nr]) => `  ['${name}', ${nr}],`).join('\n');
  return `/** ${doc} */\nexport const ${constName}: ReadonlyMap<string, number> = new Map([\n${body}\n]);\n`;
}

const asmDir = join(include, 'x86_64-linux-gnu/asm');
const x86_64 = withLateSyscalls(parseFlatHeader(join(asmDir, 'unistd_64.h')), {
  offset: 0,
  shadowStack: true,
});
const i386 = withLateSyscalls(parseFlatHeader(join(asmDir, 'unistd_32.h')), {
  offset: 0,
  shadowStack: false,
});
const x32 = withLateSyscalls(parseFlatHeader(join(asmDir, 'unistd_x32.h')), {
  offset: X32_SYSCALL_BIT,
  shadowStack: false,
});
const aarch64 = withLateSyscalls(
  parseGenericHeader(join(include, 'asm-generic/unistd.h'), [
    '__ARCH_WANT_RENAMEAT',
    '__ARCH_WANT_NEW_STAT',
    '__ARCH_WANT_SET_GET_RLIMIT',
    '__ARCH_WANT_TIME32_SYSCALLS',
    '__ARCH_WANT_SYS_CLONE3',
    '__ARCH_WANT_MEMFD_SECRET',
  ]),
  { offset: 0, shadowStack: true },
);

const header = `/**
 * Syscall name → number, per architecture, as seccomp_data.nr carries them.
 * GENERATED by scripts/gen/syscall-tables.ts from the kernel UAPI headers; do not edit.
 * x32 numbers include __X32_SYSCALL_BIT (0x40000000), as the kernel reports them.
 */
`;
writeFileSync(
  out,
  [
    header,
    render('X86_64_SYSCALLS', 'x86_64 (asm/unistd_64.h).', x86_64),
    render('X86_SYSCALLS', 'i386 (asm/unistd_32.h).', i386),
    render('X32_SYSCALLS', 'x32 (asm/unistd_x32.h), with __X32_SYSCALL_BIT set.', x32),
    render('AARCH64_SYSCALLS', 'aarch64 (asm-generic/unistd.h with arm64\'s switches).', aarch64),
  ].join('\n'),
);
console.log(`x86_64 ${x86_64.size}, i386 ${i386.size}, x32 ${x32.size}, aarch64 ${aarch64.size}`);
