/**
 * HostConfig → OCI runtime spec as a list of small options (containerd's SpecOpts), each a
 * pure function of its inputs that edits the spec: unit-testable without root, and the only
 * place Docker's flags turn into kernel settings. `dockerSpec` is where Docker's defaults live.
 */

import { readFileSync } from 'node:fs';
import type { Mount, Spec } from '../../oci/runtime-spec.ts';
import type { HostConfig } from '../../api/index.ts';
import { OCI_VERSION } from '../../oci/runtime-spec.ts';
import { CAPABILITIES, DOCKER_DEFAULT_CAPABILITIES, fromDockerProfile, type DockerSeccompProfile } from '../../runtime/security/index.ts';
import { defaultSpec } from '../../runtime/index.ts';
import { invalidArgument } from '../../util/errors.ts';
import { privilegedDevices } from './devices.ts';

export type SpecOpt = (spec: Spec) => void;

export interface ProcessSettings {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids?: number[];
  terminal?: boolean;
}

/** Applies the options in order to Docker's base spec. */
export function buildSpec(options: readonly SpecOpt[]): Spec {
  const spec = baseSpec();
  for (const option of options) option(spec);
  return spec;
}

/**
 * Docker's defaults: runc's mounts and masked/read-only /proc paths, Docker's capability set,
 * no no_new_privs (setuid binaries work), its own namespaces (network: lo only for now).
 */
export function baseSpec(): Spec {
  const spec = defaultSpec();
  spec.ociVersion = OCI_VERSION;
  const caps = [...DOCKER_DEFAULT_CAPABILITIES];
  spec.process = {
    terminal: false,
    user: { uid: 0, gid: 0 },
    args: [],
    env: [],
    cwd: '/',
    capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
    noNewPrivileges: false,
  };
  spec.root = { path: 'rootfs', readonly: false };
  return spec;
}

export function withProcess(p: ProcessSettings): SpecOpt {
  return (spec) => {
    const process = spec.process!;
    process.args = [...p.args];
    process.env = [...p.env];
    process.cwd = p.cwd || '/';
    process.terminal = p.terminal ?? false;
    process.user = { uid: p.uid, gid: p.gid, ...(p.additionalGids?.length ? { additionalGids: [...p.additionalGids] } : {}) };
  };
}

export function withRootfs(path: string, readonly: boolean): SpecOpt {
  return (spec) => {
    spec.root = { path, readonly };
  };
}

export function withHostname(hostname: string): SpecOpt {
  return (spec) => {
    spec.hostname = hostname;
  };
}

/** /etc/hostname, /etc/hosts, /etc/resolv.conf bind-mounted from files the daemon writes. */
export function withEtcFiles(files: { hostname: string; hosts: string; resolvConf: string }): SpecOpt {
  return (spec) => {
    const bind = (source: string, destination: string): Mount => ({ destination, type: 'bind', source, options: ['rbind', 'rprivate'] });
    spec.mounts = [...(spec.mounts ?? []), bind(files.resolvConf, '/etc/resolv.conf'), bind(files.hostname, '/etc/hostname'), bind(files.hosts, '/etc/hosts')];
  };
}

/** `--network none`: a network namespace of its own with only loopback (brought up by the shim). */
export function withNetworkNone(): SpecOpt {
  return (spec) => {
    const namespaces = (spec.linux!.namespaces ?? []).filter((n) => n.type !== 'network');
    spec.linux!.namespaces = [...namespaces, { type: 'network' }];
  };
}

/**
 * `--init`: the init binary bind-mounted read-only at `inContainer` and run as PID 1 with the
 * command after `--`, as Docker runs docker-init.
 */
export function withInit(hostPath: string, inContainer: string): SpecOpt {
  return (spec) => {
    const process = spec.process!;
    process.args = [inContainer, '--', ...(process.args ?? [])];
    spec.mounts = [...(spec.mounts ?? []).filter((m) => m.destination !== inContainer), { destination: inContainer, type: 'bind', source: hostPath, options: ['bind', 'ro'] }];
  };
}

export function withCgroupsPath(path: string): SpecOpt {
  return (spec) => {
    spec.linux!.cgroupsPath = path;
  };
}

/** `CAP_X`, `x`, `ALL` → canonical names; unknown names are Docker's error. */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!CAPABILITIES.some((c) => c.name === full)) throw invalidArgument(`unknown capability: "${full}"`);
  return full;
}

/** The capabilities a /proc/PID/status text shows in CapBnd; every known one when it has none. */
export function boundingSetOf(status: string): ReadonlySet<string> {
  const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  const mask = hex === undefined ? undefined : BigInt(`0x${hex}`);
  return new Set(CAPABILITIES.filter((c) => mask === undefined || ((mask >> BigInt(c.value)) & 1n) === 1n).map((c) => c.name as string));
}

let bounding: ReadonlySet<string> | undefined;

/**
 * The capabilities this daemon holds (its bounding set): what "all" means, for --privileged and
 * --cap-add ALL, as containerd's WithAllCurrentCapabilities. No container can be given more
 * than its runtime has: asking the kernel for it fails (EPERM).
 */
export function ownBoundingSet(): ReadonlySet<string> {
  bounding ??= boundingSetOf(readFileSync('/proc/self/status', 'utf8'));
  return bounding;
}

/** Docker's rule: start from the defaults (or all with ALL), add, then drop (ALL empties). */
export function effectiveCapabilities(capAdd: readonly string[] = [], capDrop: readonly string[] = [], privileged = false, available: ReadonlySet<string> = ownBoundingSet()): string[] {
  const known = CAPABILITIES.map((c) => c.name as string);
  // "all" is what the daemon can give; a capability named on its own is asked for as it is
  const all = known.filter((c) => available.has(c));
  if (privileged) return all;
  const add = capAdd.map(normalizeCapability);
  const drop = capDrop.map(normalizeCapability);
  let caps = new Set<string>(add.includes('ALL') ? all : DOCKER_DEFAULT_CAPABILITIES);
  for (const cap of add) if (cap !== 'ALL') caps.add(cap);
  if (drop.includes('ALL')) caps = new Set(add.filter((c) => c !== 'ALL'));
  for (const cap of drop) if (cap !== 'ALL' && !add.includes(cap)) caps.delete(cap);
  return known.filter((c) => caps.has(c));
}

export function withCapabilities(caps: readonly string[]): SpecOpt {
  return (spec) => {
    spec.process!.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };
  };
}

/**
 * `--privileged`: every capability, every device (the host's /dev nodes, made in the container's
 * /dev), no masked paths, writable /sys. Devices already in the spec (`--device`) keep their
 * place; a /dev bound from the host already holds every node, so nothing is added to it.
 */
export function withPrivileged(hostDev = '/dev'): SpecOpt {
  return (spec) => {
    const linux = spec.linux!;
    const devBound = (spec.mounts ?? []).some((m) => m.destination.replace(/\/+$/, '') === '/dev' && (m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')));
    if (!devBound) {
      const taken = new Set((linux.devices ?? []).map((d) => d.path));
      linux.devices = [...(linux.devices ?? []), ...privilegedDevices(hostDev).filter((d) => !taken.has(d.path))];
    }
    delete linux.maskedPaths;
    delete linux.readonlyPaths;
    delete linux.seccomp;
    linux.resources = { ...linux.resources, devices: [{ allow: true, access: 'rwm' }] };
    spec.mounts = (spec.mounts ?? []).map((m) => (m.destination === '/sys' || m.destination === '/sys/fs/cgroup' ? { ...m, options: (m.options ?? []).filter((o) => o !== 'ro').concat('rw') } : m));
  };
}

/** A Docker-format seccomp profile resolved for the container's capabilities. */
export function withSeccomp(profile: DockerSeccompProfile, capabilities: readonly string[]): SpecOpt {
  return (spec) => {
    spec.linux!.seccomp = fromDockerProfile(profile, { capabilities }) as NonNullable<Spec['linux']>['seccomp'];
  };
}

/** Memory, CPU, pids and block-I/O limits; zero means "not set", as in Docker. */
export function withResources(hc: HostConfig): SpecOpt {
  return (spec) => {
    const r = (spec.linux!.resources ??= {});
    if (hc.Memory) {
      r.memory = { ...r.memory, limit: hc.Memory };
      if (hc.MemorySwap) r.memory.swap = hc.MemorySwap;
      else r.memory.swap = hc.Memory * 2; // Docker: swap defaults to as much again
    }
    if (hc.MemorySwap === -1 && r.memory) r.memory.swap = -1;
    if (hc.MemoryReservation) r.memory = { ...r.memory, reservation: hc.MemoryReservation };
    const cpu: NonNullable<typeof r.cpu> = {};
    if (hc.CpuShares) cpu.shares = hc.CpuShares;
    if (hc.NanoCpus) {
      cpu.period = 100_000;
      cpu.quota = Math.round((hc.NanoCpus * 100_000) / 1e9);
    } else {
      if (hc.CpuPeriod) cpu.period = hc.CpuPeriod;
      if (hc.CpuQuota) cpu.quota = hc.CpuQuota;
    }
    if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
    if (hc.CpusetMems) cpu.mems = hc.CpusetMems;
    if (Object.keys(cpu).length > 0) r.cpu = cpu;
    if (hc.PidsLimit !== undefined && hc.PidsLimit !== null && hc.PidsLimit !== 0) r.pids = { limit: hc.PidsLimit < 0 ? -1 : hc.PidsLimit };
    if (hc.BlkioWeight) r.blockIO = { weight: hc.BlkioWeight };
  };
}

export function withReadonlyPaths(maskedPaths: readonly string[] | null | undefined, readonlyPaths: readonly string[] | null | undefined): SpecOpt {
  return (spec) => {
    if (maskedPaths) spec.linux!.maskedPaths = [...maskedPaths];
    if (readonlyPaths) spec.linux!.readonlyPaths = [...readonlyPaths];
  };
}

/** `-v /host:/ctr[:ro]` bind mounts (named volumes come with the volume service). */
export function withBinds(binds: readonly string[]): SpecOpt {
  return (spec) => {
    const mounts: Mount[] = binds.map((bind) => {
      const parts = bind.split(':');
      const [source, destination, mode = ''] = parts;
      if (parts.length < 2 || parts.length > 3 || !source || !destination) throw invalidArgument(`invalid volume specification: '${bind}'`);
      if (!source.startsWith('/')) throw invalidArgument(`create ${source}: named volumes are not supported yet`);
      if (!destination.startsWith('/')) throw invalidArgument(`invalid volume specification: '${bind}': invalid mount config: destination must be an absolute path`);
      const modes = mode.split(',').filter((m) => m !== '');
      for (const m of modes) if (!['ro', 'rw', 'z', 'Z', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'].includes(m)) throw invalidArgument(`invalid mode: ${m}`);
      const propagation = modes.find((m) => /^r?(private|shared|slave)$/.test(m)) ?? 'rprivate';
      return { destination, type: 'bind', source, options: ['rbind', propagation, ...(modes.includes('ro') ? ['ro'] : [])] };
    });
    spec.mounts = [...(spec.mounts ?? []), ...mounts];
  };
}

/** `--tmpfs /path[:opts]` (Docker: noexec,nosuid,nodev unless the options say otherwise). */
export function withTmpfs(tmpfs: Readonly<Record<string, string>>): SpecOpt {
  return (spec) => {
    for (const [destination, opts] of Object.entries(tmpfs)) {
      const options = ['noexec', 'nosuid', 'nodev', ...opts.split(',').filter((o) => o !== '')];
      spec.mounts = [...(spec.mounts ?? []).filter((m) => m.destination !== destination), { destination, type: 'tmpfs', source: 'tmpfs', options }];
    }
  };
}

export function withShmSize(bytes: number): SpecOpt {
  return (spec) => {
    spec.mounts = (spec.mounts ?? []).map((m) => (m.destination === '/dev/shm' ? { ...m, options: (m.options ?? []).filter((o) => !o.startsWith('size=')).concat(`size=${bytes}`) } : m));
  };
}

export function withUlimits(ulimits: ReadonlyArray<{ Name: string; Soft: number; Hard: number }>): SpecOpt {
  return (spec) => {
    const rlimits = (spec.process!.rlimits ?? []).filter((r) => !ulimits.some((u) => `RLIMIT_${u.Name.toUpperCase()}` === r.type));
    for (const u of ulimits) rlimits.push({ type: `RLIMIT_${u.Name.toUpperCase()}`, soft: u.Soft, hard: u.Hard });
    spec.process!.rlimits = rlimits;
  };
}

export function withSysctls(sysctls: Readonly<Record<string, string>>): SpecOpt {
  return (spec) => {
    spec.linux!.sysctl = { ...spec.linux!.sysctl, ...sysctls };
  };
}

export function withOomScoreAdj(score: number): SpecOpt {
  return (spec) => {
    spec.process!.oomScoreAdj = score;
  };
}

export function withNoNewPrivileges(): SpecOpt {
  return (spec) => {
    spec.process!.noNewPrivileges = true;
  };
}

export interface SecurityOptions {
  seccomp: 'default' | 'unconfined';
  noNewPrivileges: boolean;
}

/** `--security-opt` values we understand; the rest is Docker's error. */
export function parseSecurityOpts(opts: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { seccomp: 'default', noNewPrivileges: false };
  for (const opt of opts) {
    const [key, value = ''] = opt.includes('=') ? [opt.slice(0, opt.indexOf('=')), opt.slice(opt.indexOf('=') + 1)] : opt.split(':');
    if (key === 'no-new-privileges') out.noNewPrivileges = value === '' || value === 'true';
    else if (key === 'seccomp' && value === 'unconfined') out.seccomp = 'unconfined';
    else if (key === 'seccomp' && value.trim().startsWith('{')) throw invalidArgument('seccomp profiles given inline are not supported yet');
    else if (key === 'label' || key === 'apparmor') continue;
    else throw invalidArgument(`invalid --security-opt 2: "${opt}"`);
  }
  return out;
}
