/**
 * config.json → init plan. Every decision about how a container is set up is taken here, as
 * data the C shim executes in order (native/PLAN.md). The order follows runc/crun's init:
 * namespaces → cgroup → mounts → hooks → pivot_root → masked paths → identity → security → exec.
 */

import type { Spec, Process, Namespace } from '../../oci/runtime-spec.ts';
import { invalidArgument } from '../../util/errors.ts';
import { step, type Plan, type PlanStep } from './plan.ts';
import { JOIN_ORDER } from '../namespaces.ts';
import { NAMESPACE_FLAGS, NAMESPACE_PROC_NAMES, CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWIPC, CLONE_NEWUTS, PERSONALITY_DOMAINS } from './constants.ts';
import { compileMounts, compileRootPropagation, type CgroupMountSource } from '../rootfs/mount-plan.ts';
import { compileIdentity, type SeccompProgram } from './identity.ts';

export interface HostFacts {
  /** Whether the kernel has SELinux / AppArmor enabled. */
  selinux: boolean;
  apparmor: boolean;
}

export interface InitPlanOptions {
  spec: Spec;
  /** Absolute rootfs directory. */
  rootfs: string;
  /** Absolute bundle directory (bind sources are relative to it). */
  bundle: string;
  /** The exec fifo the child waits on until `start`. */
  fifoPath: string;
  /** `EXIT`: the caller is its own monitor (runc create); `WAIT`: the shim stays as monitor. */
  mode: 'exit' | 'wait';
  /** Detach the monitor from the caller's session (daemon use). */
  detach?: boolean;
  exitFile?: string;
  consoleSocket?: string;
  /** Foreground `run` with a terminal and no console socket: the shim relays the pty. */
  relayConsole?: boolean;
  /** cgroup.procs files the container process is written into, one per hierarchy. */
  cgroupProcs: string[];
  /** A cgroup v2 directory the container process is cloned into (CLONE_INTO_CGROUP). */
  cloneIntoCgroup?: string;
  /** Where the container's cgroup of each hierarchy is on the host (for `cgroup` mounts). */
  cgroupMounts: CgroupMountSource[];
  preserveFds?: number;
  seccomp?: SeccompProgram;
  host: HostFacts;
  /** Whether a `createRuntime`/`prestart`/`createContainer` sync point is needed. */
  syncHooks: boolean;
  /** cgroup v2 device filter steps; loading BPF needs the initial user namespace, so they come before any SETNS. */
  deviceFilter?: PlanStep[];
  /** The monitor owns the container's stdio (native/PLAN.md, "The monitor's stdio"); needs mode `wait`. */
  stdio?: MonitorStdio;
  /** The shim is a spare that sits in namespaces made ahead (sparePreparationPlan). */
  prepared?: PreparedNamespaces;
}

export interface PreparedNamespaces {
  /** CLONE_NEW* flags of the namespaces the shim made ahead, all owned by the initial user namespace */
  flags: number;
  /** /proc/PID/ns of the process that spawned the shim: the namespaces it had before */
  origin: string;
}

/**
 * What a spare shim may make before any container asks for it: namespaces whose creation
 * costs the start most (a network namespace ~0.6 ms) and whose set-up depends on nothing
 * the container brings. Not the pid namespace (the monitor's daemonizing fork would become
 * its init), the mount namespace (a copy of the host's mounts at that moment, without the
 * rootfs mounted since) or the cgroup namespace (rooted where the process sits when made).
 */
export const SPARE_NAMESPACES = CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;

/** A spare's first plan: make the namespaces (lo up in a network one), then wait for the container's plan. */
export function sparePreparationPlan(flags: number): Plan {
  if (flags & ~SPARE_NAMESPACES) throw invalidArgument(`prepare spare shim: namespaces 0x${flags.toString(16)} cannot be made ahead`);
  return [step('UNSHARE', flags), ...(flags & CLONE_NEWNET ? [step('LOOPBACK_UP')] : []), step('PREPARED')];
}

const SPARE_NAMESPACE_TYPES: Array<'network' | 'ipc' | 'uts'> = ['network', 'ipc', 'uts'];

/**
 * Which of the prepared namespaces the container takes as they are (its new ones, when it gets
 * no user namespace: they would have to belong to it), and the steps that put the shim back in
 * its origin's namespaces for the others, so that a container never shares one by chance.
 */
function usePrepared(prepared: PreparedNamespaces | undefined, namespaces: Namespace[]): { taken: number; leave: PlanStep[] } {
  let taken = 0;
  const leave: PlanStep[] = [];
  if (!prepared) return { taken, leave };
  const userNamespace = namespaces.some((n) => n.type === 'user');
  for (const type of SPARE_NAMESPACE_TYPES) {
    const flag = NAMESPACE_FLAGS[type];
    if (!(prepared.flags & flag)) continue;
    const ns = namespaces.find((n) => n.type === type);
    if (ns && !ns.path && !userNamespace) taken |= flag;
    // a joined one is entered by its SETNS; leaving first still frees the prepared one at once
    else leave.push(step('SETNS', `${prepared.origin}/${NAMESPACE_PROC_NAMES[type]}`, flag));
  }
  return { taken, leave };
}

/** What a detached monitor does with the container's stdio: a json-file log, an attach socket. */
export interface MonitorStdio {
  /** a stdin pipe the attach clients write to (Docker's OpenStdin) */
  stdin: boolean;
  logFile?: { path: string; maxSize?: number; maxFiles?: number };
  /** a unix socket path (at most 107 bytes: sun_path) */
  attachSocket?: string;
}

/** sun_path holds 108 bytes, the last one the terminating NUL. */
const MAX_SOCKET_PATH = 107;

function stdioSteps(stdio: MonitorStdio, mode: InitPlanOptions['mode']): PlanStep[] {
  if (mode !== 'wait') throw invalidArgument('monitor stdio needs the shim to stay as monitor (mode wait)');
  const steps = [step('STDIO_PIPES', stdio.stdin ? 1 : 0)];
  if (stdio.logFile) steps.push(step('LOG_FILE', stdio.logFile.path, stdio.logFile.maxSize ?? 0, stdio.logFile.maxFiles ?? 1));
  if (stdio.attachSocket !== undefined) {
    if (Buffer.byteLength(stdio.attachSocket) > MAX_SOCKET_PATH) throw invalidArgument(`attach socket ${stdio.attachSocket}: path longer than ${MAX_SOCKET_PATH} bytes`);
    steps.push(step('ATTACH_SOCKET', stdio.attachSocket));
  }
  return steps;
}


export function compileInitPlan(options: InitPlanOptions): Plan {
  const { spec } = options;
  const namespaces = spec.linux?.namespaces ?? [];
  const has = (type: Namespace['type']): boolean => namespaces.some((n) => n.type === type);
  const created = (type: Namespace['type']): boolean => namespaces.some((n) => n.type === type && !n.path);

  const prepared = usePrepared(options.prepared, namespaces);
  const launcher: PlanStep[] = [step('SET_DUMPABLE', 0), ...(options.deviceFilter ?? []), ...prepared.leave];
  if (options.detach) launcher.push(step('DAEMONIZE'));
  // The pipes, log and socket belong to the monitor, so they are made in the host's namespaces.
  if (options.stdio) launcher.push(...stdioSteps(options.stdio, options.mode));
  // opened in the host's namespaces, before any SETNS could change what the path means
  if (options.cloneIntoCgroup !== undefined) launcher.push(step('CLONE_INTO_CGROUP', options.cloneIntoCgroup));
  for (const type of JOIN_ORDER) {
    const ns = namespaces.find((n) => n.type === type && n.path);
    if (ns?.path) launcher.push(step('SETNS', ns.path, NAMESPACE_FLAGS[type]));
  }
  if (created('time')) {
    launcher.push(step('UNSHARE', CLONE_NEWTIME));
    const offsets = spec.linux?.timeOffsets ?? {};
    const lines = Object.entries(offsets).map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}`);
    if (lines.length > 0) launcher.push(step('WRITE_FILE', '/proc/self/timens_offsets', lines.join('\n')));
  } else if (spec.linux?.timeOffsets && !has('time')) {
    throw invalidArgument('invalid config: linux.timeOffsets: set without a time namespace');
  }
  launcher.push(step('OPEN_FIFO', options.fifoPath));
  const terminal = spec.process?.terminal === true;
  if (terminal) {
    if (options.consoleSocket) launcher.push(step('CONSOLE_SOCKET', options.consoleSocket));
    else if (options.relayConsole) launcher.push(step('CONSOLE_PAIR'));
    else throw invalidArgument('process.terminal is true but no --console-socket was given');
  }

  // CLONE_NEWCGROUP and CLONE_NEWTIME are not clone flags here: the cgroup namespace is unshared by
  // the child once it sits in its cgroup, the time namespace was unshared by the launcher.
  let cloneFlags = 0;
  for (const ns of namespaces) {
    if (ns.path || ns.type === 'cgroup' || ns.type === 'time') continue;
    cloneFlags |= NAMESPACE_FLAGS[ns.type];
  }
  const newNet = (cloneFlags & CLONE_NEWNET) !== 0;
  cloneFlags &= ~prepared.taken;

  const parent: PlanStep[] = [step('REPORT_PID')];
  if (cloneFlags & CLONE_NEWUSER) {
    parent.push(step('WRITE_CHILD_FILE', 'uid_map', idMap(spec.linux?.uidMappings ?? [])));
    parent.push(step('WRITE_CHILD_FILE', 'gid_map', idMap(spec.linux?.gidMappings ?? [])));
  }
  // A first migration into a cgroup v1 hierarchy waits for an RCU grace period (9-12 ms here):
  // the child sets up its mounts meanwhile and waits for the parent only before the steps that
  // need its cgroup (the cgroup namespace, hooks, exec).
  const overlapCgroup = options.cgroupProcs.length > 0;
  if (overlapCgroup) parent.push(step('RELEASE_CHILD'));
  for (const procs of options.cgroupProcs) parent.push(step('WRITE_PID_TO', procs));
  parent.push(options.mode === 'wait' ? step('WAIT', options.exitFile ?? '', 1) : step('EXIT'));

  const child: PlanStep[] = [];
  if (cloneFlags & CLONE_NEWUSER) {
    // The clone keeps the host's uid, which the new namespace does not map: become its root.
    child.push(step('SETRESGID', 0), step('SETRESUID', 0));
  }
  if (!overlapCgroup && created('cgroup')) child.push(step('UNSHARE', CLONE_NEWCGROUP));
  child.push(step('SETSID'));
  const process = spec.process;
  if (process?.oomScoreAdj !== undefined) child.push(step('WRITE_FILE', '/proc/self/oom_score_adj', String(process.oomScoreAdj)));
  // a prepared network namespace has lo up already
  if (cloneFlags & CLONE_NEWNET) child.push(step('LOOPBACK_UP'));

  const mountNs = has('mount');
  child.push(
    ...compileMounts({
      spec,
      rootfs: options.rootfs,
      bundle: options.bundle,
      newMountNamespace: mountNs,
      userNamespace: has('user'),
      newNetNamespace: newNet,
      newPidNamespace: (cloneFlags & CLONE_NEWPID) !== 0,
      cgroupMounts: options.cgroupMounts,
      selinux: options.host.selinux,
    }),
  );
  if (overlapCgroup) {
    child.push(step('WAIT_PARENT'));
    // its root is the cgroup the process sits in when it unshares
    if (created('cgroup')) child.push(step('UNSHARE', CLONE_NEWCGROUP));
  }
  if (options.syncHooks) child.push(step('SYNC', 'hooks'));
  child.push(mountNs ? step('PIVOT_ROOT', options.rootfs) : step('CHROOT', options.rootfs));
  if (mountNs) child.push(...compileRootPropagation(spec));
  // before /proc/sys turns read-only (runc's order)
  for (const [key, value] of Object.entries(spec.linux?.sysctl ?? {})) {
    child.push(step('WRITE_FILE', sysctlPath(key, namespaces), value));
  }
  for (const path of spec.linux?.maskedPaths ?? []) child.push(step('MASK_PATH', path));
  for (const path of spec.linux?.readonlyPaths ?? []) child.push(step('READONLY_PATH', path));
  if (spec.root?.readonly) child.push(step('REMOUNT', '/', 0x1 /* MS_RDONLY */ | 0x1000 /* MS_BIND */));

  if (spec.hostname !== undefined && spec.hostname !== '') child.push(step('SETHOSTNAME', spec.hostname));
  if (spec.domainname !== undefined && spec.domainname !== '') {
    if (!has('uts')) throw invalidArgument('invalid config: domainname: cannot set a domainname without a private UTS namespace');
    child.push(step('SETDOMAINNAME', spec.domainname));
  }
  if (spec.linux?.personality) child.push(step('PERSONALITY', personality(spec.linux.personality.domain)));

  if (!process) {
    // No process: the container can be created (namespaces, mounts, cgroup) but never started.
    child.push(step('READY'), step('WAIT_START'));
    return [...launcher, step('CLONE', cloneFlags), ...parent, step('CHILD'), ...child];
  }
  child.push(...processSteps(process, options, { terminal, cwdInRoot: false }));
  return [...launcher, step('CLONE', cloneFlags), ...parent, step('CHILD'), ...child];
}

interface ProcessStepOptions {
  terminal: boolean;
  /** For exec: no start fifo, no pivot. */
  exec?: boolean;
  cwdInRoot: boolean;
}

/** The steps that turn the set-up process into the container's process: identity, security, exec. */
export function processSteps(process: Process, options: Pick<InitPlanOptions, 'host' | 'seccomp' | 'preserveFds' | 'spec'>, how: ProcessStepOptions): PlanStep[] {
  const steps: PlanStep[] = [];
  if (process.apparmorProfile) {
    if (!options.host.apparmor) throw invalidArgument(`apparmor profile ${JSON.stringify(process.apparmorProfile)} requested but AppArmor is not enabled on this host`);
    steps.push(step('WRITE_FILE', '/proc/self/attr/apparmor/exec', `exec ${process.apparmorProfile}`));
  }
  if (process.selinuxLabel) {
    if (!options.host.selinux) throw invalidArgument(`selinux label ${JSON.stringify(process.selinuxLabel)} requested but SELinux is not enabled on this host`);
    steps.push(step('WRITE_FILE', '/proc/self/attr/exec', process.selinuxLabel));
  }
  // the OCI spec's /dev/console is the init's terminal; an exec's pty is its own (runc binds none)
  if (how.terminal) steps.push(step('CONSOLE', process.consoleSize?.height ?? 0, process.consoleSize?.width ?? 0, how.exec ? '' : '/dev/console'));
  steps.push(...compileIdentity(process, { seccomp: options.seccomp, preserveFds: options.preserveFds ?? 0, exec: how.exec ?? false }));
  return steps;
}

function idMap(maps: Array<{ containerID: number; hostID: number; size: number }>): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/** runc's rule: a sysctl may only be set when the container has the namespace it belongs to. */
function sysctlPath(key: string, namespaces: Namespace[]): string {
  key = key.replaceAll('/', '.');
  if (key.includes('..') || key.startsWith('.')) throw invalidArgument(`sysctl ${JSON.stringify(key)}: invalid name`);
  const has = (t: Namespace['type']): boolean => namespaces.some((n) => n.type === t);
  const ipc = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'];
  if (ipc.includes(key) || key.startsWith('fs.mqueue.')) {
    if (!has('ipc')) throw invalidArgument(`sysctl ${JSON.stringify(key)} is not allowed as it conflicts with the host's IPC namespace`);
  } else if (key.startsWith('net.')) {
    if (!has('network')) throw invalidArgument(`sysctl ${JSON.stringify(key)} is not allowed in the host network namespace`);
  } else if (key === 'kernel.hostname' || key === 'kernel.domainname') {
    if (!has('uts')) throw invalidArgument(`sysctl ${JSON.stringify(key)} is not allowed in the host's UTS namespace`);
  } else {
    throw invalidArgument(`sysctl ${JSON.stringify(key)} is not in a separate kernel namespace`);
  }
  return `/proc/sys/${key.replaceAll('.', '/')}`;
}

function personality(domain: string): number {
  const value = PERSONALITY_DOMAINS[domain];
  if (value === undefined) throw invalidArgument(`invalid config: linux.personality.domain: unknown domain ${JSON.stringify(domain)}`);
  return value;
}

export { CLONE_NEWNS };
