/**
 * Linux capabilities by name and number (include/uapi/linux/capability.h), and the 64-bit
 * masks berth-shim passes to capset(), PR_CAPBSET_DROP and PR_CAP_AMBIENT_RAISE.
 *
 * The OCI spec says a runtime MUST error on a capability it does not know; runc only logs a
 * warning and carries on. We error: a typo in a capability list would otherwise silently
 * run a container with fewer (or, for a drop list, more) privileges than asked for.
 */

import { readFileSync } from 'node:fs';
import { EngineError } from '../../util/errors.ts';

export interface Capability {
  name: string;
  /** Bit number in the kernel's capability sets. */
  value: number;
}

const NAMES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

export type CapabilityName = (typeof NAMES)[number];

/** Every capability this runtime knows, in bit order (CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40). */
export const CAPABILITIES: readonly Capability[] = NAMES.map((name, value) => ({ name, value }));

/** The highest capability number this runtime knows (CAP_LAST_CAP of Linux 5.9+). */
export const LAST_KNOWN_CAP = NAMES.length - 1;

const BY_NAME: ReadonlyMap<string, number> = new Map(CAPABILITIES.map((c) => [c.name, c.value]));

/** Docker's default capability set for a container (moby's oci/caps defaults). */
export const DOCKER_DEFAULT_CAPABILITIES: readonly CapabilityName[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** The bit number of a capability name, or undefined. Names are exact (`CAP_SYS_ADMIN`). */
export function capabilityValue(name: string): number | undefined {
  return BY_NAME.get(name);
}

/**
 * The mask of a list of capability names, bit n for capability n.
 * @throws EngineError('invalid-argument') on a name this runtime does not know.
 * @example capabilityMask(['CAP_CHOWN', 'CAP_KILL']) === 0b100001n
 */
export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const name of names) {
    const value = BY_NAME.get(name);
    if (value === undefined) throw new EngineError('invalid-argument', `unknown capability "${name}"`);
    mask |= 1n << BigInt(value);
  }
  return mask;
}

/** The names of the bits set in `mask`, in bit order; bits past CAP_CHECKPOINT_RESTORE are reported as `CAP_<n>`. */
export function capabilityNames(mask: bigint): string[] {
  if (mask < 0n) throw new EngineError('invalid-argument', `capability mask ${mask} is negative`);
  const names: string[] = [];
  for (let bit = 0; mask >> BigInt(bit) !== 0n; bit++) {
    if ((mask >> BigInt(bit)) & 1n) names.push(NAMES[bit] ?? `CAP_${bit}`);
  }
  return names;
}

/**
 * Limits a mask to the capabilities the running kernel has. A runtime built for a newer
 * kernel may know capabilities this one lacks; asking for them is no error (runc skips them
 * too), but the kernel would refuse them in PR_CAPBSET_DROP or PR_CAP_AMBIENT_RAISE.
 */
export function clampToKernel(mask: bigint, lastCap: number): bigint {
  return mask & ((1n << BigInt(lastCap + 1)) - 1n);
}

/**
 * The kernel's highest capability number, from /proc/sys/kernel/cap_last_cap.
 * @param path another file to read instead, for tests
 */
export function lastCap(path = '/proc/sys/kernel/cap_last_cap'): number {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new EngineError('unavailable', `read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const value = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || value > 63) {
    throw new EngineError('internal', `read ${path}: unexpected content "${text.trim()}"`);
  }
  return value;
}
