/**
 * The last stretch of a container process's set-up: limits, capabilities, user and groups,
 * seccomp, working directory, exec. The order is dictated by the kernel: the bounding set can
 * only be dropped while CAP_SETPCAP is held; changing uid clears the effective set, so capset
 * comes after setresuid (with keepcaps on); a filter can only be loaded with no_new_privs or
 * CAP_SYS_ADMIN, so without no_new_privs it goes in before the capabilities are dropped.
 */

import type { Process } from '../../oci/runtime-spec.ts';
import { invalidArgument } from '../../util/errors.ts';
import { capabilityMask } from '../security/capabilities.ts';
import { RLIMITS } from './constants.ts';
import { step, type PlanStep } from './plan.ts';

export interface SeccompProgram {
  bpf: Uint8Array;
  flags: number;
}

const CAP_SYS_ADMIN = 21n;
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface IdentityOptions {
  seccomp?: SeccompProgram | undefined;
  preserveFds: number;
  /** exec into a running container: no start fifo to wait on. */
  exec: boolean;
}

export function compileIdentity(process: Process, options: IdentityOptions): PlanStep[] {
  const steps: PlanStep[] = [];
  for (const rlimit of process.rlimits ?? []) {
    const resource = RLIMITS[rlimit.type];
    if (resource === undefined) throw invalidArgument(`invalid config: process.rlimits: unknown rlimit ${JSON.stringify(rlimit.type)}`);
    steps.push(step('SETRLIMIT', resource, BigInt(rlimit.soft), BigInt(rlimit.hard)));
  }

  const caps = process.capabilities ?? {};
  const bounding = capabilityMask(caps.bounding ?? []);
  const effective = capabilityMask(caps.effective ?? []);
  const permitted = capabilityMask(caps.permitted ?? []);
  const inheritable = capabilityMask(caps.inheritable ?? []);
  const ambient = capabilityMask(caps.ambient ?? []);

  const noNewPrivileges = process.noNewPrivileges === true;
  const canLoadLate = noNewPrivileges || (effective & (1n << CAP_SYS_ADMIN)) !== 0n;
  // The caller's --preserve-fds arrive above the shim's plan socket and move down to 3, 4, ...
  if (options.preserveFds > 0) steps.push(step('PRESERVE_FDS', options.preserveFds));
  // Before any identity change: later descriptors the shim opens are close-on-exec already.
  steps.push(step('CLOSE_FDS', 3 + options.preserveFds));
  const seccompEarly = options.seccomp !== undefined && !canLoadLate;
  if (seccompEarly) {
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which the process is about to
    // lose: load it now (as runc does), so the profile must allow the few set-up calls that
    // follow. The working directory is entered (and checked with getcwd) before, as profiles
    // may deny getcwd.
    steps.push(step('CHDIR', process.cwd));
    steps.push(step('SECCOMP', options.seccomp!.flags, options.seccomp!.bpf));
  }
  steps.push(step('CAP_BOUNDING', bounding));
  steps.push(step('KEEPCAPS', 1));
  steps.push(step('SETGROUPS', ...(process.user.additionalGids ?? []).map(String)));
  steps.push(step('SETRESGID', process.user.gid));
  steps.push(step('SETRESUID', process.user.uid));
  steps.push(step('KEEPCAPS', 0));
  steps.push(step('CAPSET', effective, permitted, inheritable));
  if (ambient !== 0n) steps.push(step('AMBIENT', ambient));
  if (process.user.umask !== undefined) steps.push(step('UMASK', process.user.umask));
  if (noNewPrivileges) steps.push(step('NO_NEW_PRIVS'));
  if (!seccompEarly) steps.push(step('CHDIR', process.cwd));
  steps.push(step('READY'));
  if (!options.exec) steps.push(step('WAIT_START'));
  if (options.seccomp && canLoadLate) {
    // As close to execve as possible, so the filter need not allow the set-up's own syscalls.
    steps.push(step('SECCOMP', options.seccomp.flags, options.seccomp.bpf));
  }
  const env = process.env ?? [];
  const pathEnv = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  const args = process.args ?? [];
  steps.push(step('EXEC', pathEnv, args.length, ...args, ...env));
  return steps;
}
