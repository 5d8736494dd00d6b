/**
 * `features`: what this runtime supports, in runc's JSON shape (runtime-spec features.md), so
 * higher-level engines can probe it.
 */

import { OCI_VERSION } from '../oci/runtime-spec.ts';
import { knownMountOptions } from './rootfs/mount-options.ts';
import { CAPABILITIES } from './security/capabilities.ts';
import { SECCOMP_ACTIONS, SECCOMP_OPERATORS, SECCOMP_ARCHES } from './security/seccomp/index.ts';
import { hostFacts } from './security.ts';
import { cgroupLayoutMode } from './cgroup.ts';

export async function features(): Promise<Record<string, unknown>> {
  const mode = await cgroupLayoutMode();
  const host = hostFacts();
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    hooks: ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'],
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: ['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'user', 'uts'],
      capabilities: CAPABILITIES.map((c) => c.name),
      cgroup: { v1: mode !== 'v2', v2: mode !== 'v1', systemd: false, systemdUser: false, rdma: false },
      seccomp: { enabled: true, actions: SECCOMP_ACTIONS, operators: SECCOMP_OPERATORS, archs: SECCOMP_ARCHES, knownFlags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'], supportedFlags: ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'] },
      apparmor: { enabled: host.apparmor },
      selinux: { enabled: host.selinux },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: false } },
    },
    annotations: { 'io.github.berth.runtime.version': '0.1.0' },
  };
}
