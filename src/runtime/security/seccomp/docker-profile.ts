/**
 * Docker's seccomp profile format (moby's profiles/seccomp) → the OCI `linux.seccomp` object.
 * Docker's format is a superset: `archMap` lists, per native architecture, the ABIs its
 * kernel also runs, and each syscall entry may carry `includes`/`excludes` conditions on the
 * container's capabilities, the architecture and the kernel version. They are resolved here,
 * once, for one container, as moby does when it builds the spec.
 */

import { release } from 'node:os';
import { invalidArgument } from '../../../util/errors.ts';
import { NATIVE_ABIS, hostArch } from './constants.ts';
import type { NativeArch } from './constants.ts';
import type { SeccompArgInput, SeccompInput, SeccompSyscallInput } from './compile.ts';

export interface DockerSeccompFilter {
  caps?: string[];
  /** Go architecture names (`amd64`, `arm64`, `386`...), as moby compares runtime.GOARCH. */
  arches?: string[];
  /** `major.minor`: the entry applies from (includes) or stops applying at (excludes) that kernel. */
  minKernel?: string;
}

export interface DockerSeccompSyscall {
  /** Old single-name form; exclusive with `names`. */
  name?: string;
  names?: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArgInput[] | null;
  comment?: string;
  includes?: DockerSeccompFilter;
  excludes?: DockerSeccompFilter;
}

export interface DockerSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures?: string[] | null }[] | null;
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: DockerSeccompSyscall[] | null;
}

export interface DockerProfileOptions {
  /** The container's (bounding) capabilities, e.g. `CAP_SYS_ADMIN`. */
  capabilities: readonly string[];
  /** Native architecture; default: this process's. */
  arch?: NativeArch;
  /** Kernel release (`6.18.44-…`) for `minKernel`; default: os.release(). */
  kernelRelease?: string;
}

const GO_ARCH: Readonly<Record<NativeArch, string>> = { x86_64: 'amd64', aarch64: 'arm64' };

/** Resolves a Docker profile for one container into an OCI seccomp object. */
export function fromDockerProfile(profile: DockerSeccompProfile, options: DockerProfileOptions): SeccompInput {
  const arch = options.arch ?? hostArch();
  const goArch = GO_ARCH[arch];
  const caps = new Set(options.capabilities.map(normalizeCap));
  const kernel = kernelVersion(options.kernelRelease ?? release());

  if (profile.architectures?.length && profile.archMap?.length) {
    throw invalidArgument("resolve seccomp profile: 'architectures' and 'archMap' were both given");
  }
  let architectures = profile.architectures ?? [];
  for (const entry of profile.archMap ?? []) {
    if (entry.architecture === NATIVE_ABIS[arch].native) {
      architectures = [entry.architecture, ...(entry.subArchitectures ?? [])];
    }
  }

  const syscalls: SeccompSyscallInput[] = [];
  (profile.syscalls ?? []).forEach((call, i) => {
    const where = `syscalls[${i}]`;
    if (call.name && call.names?.length) {
      throw invalidArgument(`resolve seccomp profile: ${where} has both 'name' and 'names'`);
    }
    const { includes = {}, excludes = {} } = call;
    if (excludes.arches?.includes(goArch)) return;
    if (excludes.caps?.some((cap) => caps.has(normalizeCap(cap)))) return;
    if (excludes.minKernel && atLeast(kernel, minKernel(excludes.minKernel, where))) return;
    if (includes.arches?.length && !includes.arches.includes(goArch)) return;
    if (includes.caps?.length && !includes.caps.every((cap) => caps.has(normalizeCap(cap)))) return;
    if (includes.minKernel && !atLeast(kernel, minKernel(includes.minKernel, where))) return;
    const entry: SeccompSyscallInput = {
      names: call.names?.length ? [...call.names] : call.name ? [call.name] : [],
      action: call.action,
    };
    if (call.errnoRet !== undefined && call.errnoRet !== null) entry.errnoRet = call.errnoRet;
    if (call.args?.length) entry.args = call.args.map((arg) => ({ ...arg }));
    syscalls.push(entry);
  });

  const out: SeccompInput = { defaultAction: profile.defaultAction, architectures, syscalls };
  if (profile.defaultErrnoRet !== undefined && profile.defaultErrnoRet !== null) {
    out.defaultErrnoRet = profile.defaultErrnoRet;
  }
  if (profile.flags?.length) out.flags = [...profile.flags];
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;
  return out;
}

/** Profiles and callers spell capabilities with or without `CAP_`, in any case. */
function normalizeCap(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

type KernelVersion = readonly [number, number];

function kernelVersion(text: string): KernelVersion {
  const m = /^(\d+)\.(\d+)/.exec(text);
  if (!m) throw invalidArgument(`resolve seccomp profile: kernel release "${text}" has no major.minor`);
  return [Number(m[1]), Number(m[2])];
}

function minKernel(text: string, where: string): KernelVersion {
  if (!/^\d+\.\d+$/.test(text)) {
    throw invalidArgument(`resolve seccomp profile: ${where} minKernel "${text}" is not major.minor`);
  }
  return kernelVersion(text);
}

function atLeast(kernel: KernelVersion, min: KernelVersion): boolean {
  return kernel[0] !== min[0] ? kernel[0] > min[0] : kernel[1] >= min[1];
}
