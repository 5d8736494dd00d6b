/**
 * What the runtime needs from the security modules and the host: the seccomp program for a
 * spec, and whether this kernel has the LSMs a spec may ask for.
 */

import { existsSync, readFileSync } from 'node:fs';
import type { Spec } from '../oci/runtime-spec.ts';
import { compileSeccomp } from './security/seccomp/index.ts';
import type { SeccompProgram } from './plan/identity.ts';
import type { HostFacts } from './plan/compile.ts';
import { invalidArgument } from '../util/errors.ts';

// A daemon starts many containers with the same profile: compiling Docker's takes milliseconds.
const compiled = new Map<string, SeccompProgram>();

export function compileSeccompFor(spec: Spec): SeccompProgram | undefined {
  const seccomp = spec.linux?.seccomp;
  if (!seccomp) return undefined;
  const key = JSON.stringify(seccomp);
  let program = compiled.get(key);
  if (!program) {
    const { bpf, flags } = compileSeccomp(seccomp);
    program = { bpf, flags };
    if (compiled.size > 32) compiled.clear();
    compiled.set(key, program);
  }
  return program;
}

let facts: HostFacts | undefined;
export function hostFacts(): HostFacts {
  facts ??= {
    selinux: existsSync('/sys/fs/selinux/enforce'),
    apparmor: readText('/sys/module/apparmor/parameters/enabled').startsWith('Y'),
  };
  return facts;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

const CAP_SYS_RESOURCE = 24n;
const LIMIT_NAMES: Record<string, string> = {
  RLIMIT_CPU: 'Max cpu time', RLIMIT_FSIZE: 'Max file size', RLIMIT_DATA: 'Max data size', RLIMIT_STACK: 'Max stack size',
  RLIMIT_CORE: 'Max core file size', RLIMIT_RSS: 'Max resident set', RLIMIT_NPROC: 'Max processes', RLIMIT_NOFILE: 'Max open files',
  RLIMIT_MEMLOCK: 'Max locked memory', RLIMIT_AS: 'Max address space', RLIMIT_LOCKS: 'Max file locks', RLIMIT_SIGPENDING: 'Max pending signals',
  RLIMIT_MSGQUEUE: 'Max msgqueue size', RLIMIT_NICE: 'Max nice priority', RLIMIT_RTPRIO: 'Max realtime priority', RLIMIT_RTTIME: 'Max realtime timeout',
};

/**
 * Raising a hard limit needs CAP_SYS_RESOURCE. Some hosts (this project's CI among them) deny it
 * even to root, and setrlimit's bare EPERM would not say why: check up front and say it.
 */
export function checkRlimits(spec: Spec): void {
  const rlimits = spec.process?.rlimits ?? [];
  if (rlimits.length === 0) return;
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readText('/proc/self/status'))?.[1];
  if (capEff && (BigInt(`0x${capEff}`) & (1n << CAP_SYS_RESOURCE)) !== 0n) return;
  const limits = readText('/proc/self/limits');
  for (const rl of rlimits) {
    const name = LIMIT_NAMES[rl.type];
    if (!name) continue;
    const hard = new RegExp(`^${name}\\s+\\S+\\s+(\\S+)`, 'm').exec(limits)?.[1];
    if (hard === undefined || hard === 'unlimited') continue;
    if (rl.hard > Number(hard)) {
      throw invalidArgument(`process.rlimits: ${rl.type} hard limit ${rl.hard} is above this host's ${hard}, and raising it needs CAP_SYS_RESOURCE, which berth-runtime does not have here`);
    }
  }
}
