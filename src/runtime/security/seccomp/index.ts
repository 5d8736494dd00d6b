/**
 * Seccomp for the runtime: OCI `linux.seccomp` (or a Docker profile, resolved first) → the
 * BPF program and flags berth-shim loads. The public surface of this folder.
 */

import { ACTION_RETURNS, ARCHES, OPERATORS, SECCOMP_FLAGS } from './constants.ts';

export { compileSeccomp, actionValue } from './compile.ts';
export type {
  CompileSeccompOptions,
  CompiledSeccomp,
  SeccompArgInput,
  SeccompInput,
  SeccompSyscallInput,
  SeccompValue,
} from './compile.ts';
export { fromDockerProfile } from './docker-profile.ts';
export type {
  DockerProfileOptions,
  DockerSeccompFilter,
  DockerSeccompProfile,
  DockerSeccompSyscall,
} from './docker-profile.ts';
export { SECCOMP_RET, SECCOMP_FILTER_FLAG, X32_SYSCALL_BIT, hostArch } from './constants.ts';
export type { NativeArch, SeccompActionName, SeccompOpName } from './constants.ts';

/** Action names a profile may use (runtime-spec features.md `seccomp.actions`). SCMP_ACT_NOTIFY is refused. */
export const SECCOMP_ACTIONS: readonly string[] = Object.keys(ACTION_RETURNS).filter(
  (name) => name !== 'SCMP_ACT_NOTIFY',
);

/** Comparison operators (features.md `seccomp.operators`). */
export const SECCOMP_OPERATORS: readonly string[] = [...OPERATORS];

/** Architectures a filter can be compiled for (features.md `seccomp.archs`). */
export const SECCOMP_ARCHES: readonly string[] = Object.keys(ARCHES);

/** Filter flags accepted (features.md `seccomp.knownFlags`). */
export const SECCOMP_FLAG_NAMES: readonly string[] = Object.keys(SECCOMP_FLAGS);
