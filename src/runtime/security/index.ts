/**
 * Security settings of a container process, computed as data for berth-shim: capability
 * masks and the seccomp BPF program.
 */

export {
  CAPABILITIES,
  DOCKER_DEFAULT_CAPABILITIES,
  LAST_KNOWN_CAP,
  capabilityMask,
  capabilityNames,
  capabilityValue,
  clampToKernel,
  lastCap,
} from './capabilities.ts';
export type { Capability, CapabilityName } from './capabilities.ts';
export * from './seccomp/index.ts';
