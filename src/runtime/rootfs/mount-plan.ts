/**
 * The rootfs part of the init plan: propagation, the rootfs bind, every config.json mount,
 * /dev and its nodes, the cwd. Targets are resolved by the shim beneath the rootfs
 * (RESOLVE_IN_ROOT), so a symlink in an image can never send a mount onto the host.
 */

import { statSync } from 'node:fs';
import { join, resolve, posix } from 'node:path';
import type { Spec, Mount, Device } from '../../oci/runtime-spec.ts';
import { invalidArgument, notImplemented, errorCode } from '../../util/errors.ts';
import { step, type PlanStep } from '../plan/plan.ts';
import { makedev, S_IFBLK, S_IFCHR, S_IFIFO } from '../plan/constants.ts';
import { MS, parseMountOptions, rootfsPropagationFlags } from './mount-options.ts';

/** One hierarchy of the container's cgroup as seen on the host, for `cgroup` mounts. */
export interface CgroupMountSource {
  /** Directory name under the cgroup mount: `memory`, `cpu,cpuacct`, `systemd`; '' for a pure v2 host. */
  name: string;
  hostPath: string;
}

export interface MountPlanOptions {
  spec: Spec;
  rootfs: string;
  bundle: string;
  newMountNamespace: boolean;
  userNamespace: boolean;
  newNetNamespace: boolean;
  newPidNamespace: boolean;
  cgroupMounts: CgroupMountSource[];
  selinux: boolean;
}

interface DefaultDevice {
  path: string;
  major: number;
  minor: number;
}

export const DEFAULT_DEVICES: readonly DefaultDevice[] = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
];

const DEV_SYMLINKS: ReadonlyArray<[target: string, link: string]> = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
];

export function compileMounts(options: MountPlanOptions): PlanStep[] {
  const { spec, rootfs } = options;
  const steps: PlanStep[] = [];
  if (options.newMountNamespace) {
    // Stop the container's mounts from propagating to the host before making any. The requested
    // propagation is applied to the new root after pivot_root, which refuses a shared parent.
    const wanted = rootfsPropagationFlags(spec.linux?.rootfsPropagation);
    const initial = wanted !== undefined && wanted & MS.PRIVATE ? MS.PRIVATE : MS.SLAVE;
    steps.push(step('MOUNT', '', '/', '', MS.REC | initial, ''));
    steps.push(step('MOUNT', rootfs, rootfs, '', MS.BIND | MS.REC, ''));
  }
  steps.push(step('OPEN_ROOT', rootfs));

  let devIsTmpfs = false;
  let devIsBound = false;
  let hasDevPts = false;
  for (const mount of spec.mounts ?? []) {
    const destination = posix.normalize(mount.destination);
    if (destination === '/dev') {
      devIsBound = isBind(mount);
      devIsTmpfs = !devIsBound;
    }
    if (destination === '/dev/pts') hasDevPts = true;
    steps.push(...compileMount({ ...mount, destination }, options));
  }

  if (devIsTmpfs) steps.push(...compileDevices(spec.linux?.devices ?? [], options.userNamespace, hasDevPts));
  // a /dev bound from elsewhere (the host's, `-v /dev:/dev`) already has its nodes: making them
  // there would unlink and remake the host's own (runc makes none either)
  else if (!devIsBound && spec.linux?.devices?.length) steps.push(...compileDevices(spec.linux.devices, options.userNamespace, false, false));

  if (spec.process?.cwd) steps.push(step('MKDIR_IN_ROOT', spec.process.cwd, 0o755));
  return steps;
}

/** Propagation of the container's `/` once pivoted, when config.json asks for one. */
export function compileRootPropagation(spec: Spec): PlanStep[] {
  const flags = rootfsPropagationFlags(spec.linux?.rootfsPropagation);
  if (flags === undefined) return [];
  return [step('MOUNT', '', '/', '', flags | MS.REC, '')];
}

function isBind(mount: Mount): boolean {
  return mount.type === 'bind' || (mount.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

function compileMount(mount: Mount, options: MountPlanOptions): PlanStep[] {
  const parsed = parseMountOptions(mount.options);
  if ((mount.options ?? []).some((o) => o === 'idmap' || o === 'ridmap') || mount.uidMappings || mount.gidMappings) {
    throw notImplemented(`mount ${mount.destination}: id-mapped mounts are not supported yet`);
  }
  const dest = mount.destination;
  const steps: PlanStep[] = [];
  const propagate = (): PlanStep[] => parsed.propagation.map((flag) => step('MOUNT_IN_ROOT', '', dest, '', flag, ''));
  const readOnlyRemount = (flags: number): PlanStep[] =>
    (flags & ~(MS.BIND | MS.REC)) !== 0 ? [step('REMOUNT', dest, MS.BIND | (flags & ~(MS.BIND | MS.REC)))] : [];

  if (isBind(mount)) {
    if (!mount.source) throw invalidArgument(`invalid config: mount ${dest}: bind mount without a source`);
    const source = resolve(options.bundle, mount.source);
    let isDir: boolean;
    try {
      isDir = statSync(source).isDirectory();
    } catch (err) {
      if (errorCode(err) === 'ENOENT') throw invalidArgument(`mount ${source} on ${dest}: source does not exist`, err);
      throw err;
    }
    const flags = parsed.flags | MS.BIND;
    steps.push(isDir ? step('MKDIR_IN_ROOT', dest, 0o755) : step('MKFILE_IN_ROOT', dest, 0o644));
    steps.push(step('MOUNT_IN_ROOT', source, dest, '', MS.BIND | (flags & MS.REC), ''));
    steps.push(...readOnlyRemount(flags), ...propagate());
    return steps;
  }

  const type = mount.type ?? '';
  if (type === 'cgroup' || type === 'cgroup2') return compileCgroupMount(dest, parsed.flags, options, propagate());
  if (type === 'sysfs' && options.userNamespace && !options.newNetNamespace) {
    // sysfs belongs to the network namespace's owner: in a user namespace sharing the host's
    // network, the kernel refuses a fresh sysfs, so the host's is bound read-only instead.
    return [
      step('MKDIR_IN_ROOT', dest, 0o755),
      step('MOUNT_IN_ROOT', '/sys', dest, '', MS.BIND | MS.REC, ''),
      step('REMOUNT', dest, MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC),
      ...propagate(),
    ];
  }
  let data = parsed.data;
  const label = options.spec.linux?.mountLabel;
  if (label && options.selinux && ['tmpfs', 'mqueue', 'devpts', 'shm'].includes(type)) {
    data = [data, `context="${label}"`].filter(Boolean).join(',');
  }
  steps.push(step('MKDIR_IN_ROOT', dest, 0o755));
  steps.push(step('MOUNT_IN_ROOT', mount.source ?? type, dest, type, parsed.flags & ~MS.REMOUNT, data));
  steps.push(...propagate());
  return steps;
}

function compileCgroupMount(dest: string, flags: number, options: MountPlanOptions, propagate: PlanStep[]): PlanStep[] {
  const steps: PlanStep[] = [step('MKDIR_IN_ROOT', dest, 0o755)];
  const bindFlags = MS.BIND | (flags & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC));
  const only = options.cgroupMounts.length === 1 && options.cgroupMounts[0]!.name === '' ? options.cgroupMounts[0] : undefined;
  if (only) {
    // Pure cgroup v2: the container's own cgroup directory is its /sys/fs/cgroup.
    steps.push(step('MOUNT_IN_ROOT', only.hostPath, dest, '', MS.BIND | MS.REC, ''));
    if (bindFlags !== MS.BIND) steps.push(step('REMOUNT', dest, bindFlags));
    return [...steps, ...propagate];
  }
  // cgroup v1 (or hybrid): a tmpfs holding one directory per hierarchy, each the container's
  // cgroup of that hierarchy, as runc and Docker lay it out.
  steps.push(step('MOUNT_IN_ROOT', 'tmpfs', dest, 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=755'));
  for (const source of options.cgroupMounts) {
    const sub = posix.join(dest, source.name);
    steps.push(step('MKDIR_IN_ROOT', sub, 0o755));
    steps.push(step('MOUNT_IN_ROOT', source.hostPath, sub, '', MS.BIND | MS.REC, ''));
    if (bindFlags !== MS.BIND) steps.push(step('REMOUNT', sub, bindFlags));
    if (source.name.includes(',')) {
      for (const alias of source.name.split(',')) steps.push(step('SYMLINK_IN_ROOT', source.name, posix.join(dest, alias)));
    }
  }
  if (flags & MS.RDONLY) steps.push(step('REMOUNT', dest, MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC));
  return [...steps, ...propagate];
}

function deviceMode(device: Device): number {
  const type = device.type === 'b' ? S_IFBLK : device.type === 'p' ? S_IFIFO : S_IFCHR;
  return type | ((device.fileMode ?? 0o666) & 0o7777);
}

function compileDevices(devices: readonly Device[], userNamespace: boolean, hasDevPts: boolean, withDefaults = true): PlanStep[] {
  const byPath = new Map<string, Device>();
  if (withDefaults) {
    for (const d of DEFAULT_DEVICES) byPath.set(d.path, { type: 'c', path: d.path, major: d.major, minor: d.minor, fileMode: 0o666, uid: 0, gid: 0 });
  }
  for (const d of devices) byPath.set(posix.normalize(d.path), d);
  const steps: PlanStep[] = [];
  for (const device of byPath.values()) {
    const parent = posix.dirname(device.path);
    if (parent !== '/dev') steps.push(step('MKDIR_IN_ROOT', parent, 0o755));
    if (userNamespace) {
      // mknod is refused in a user namespace: bind the host's node instead (as runc does).
      steps.push(step('MKFILE_IN_ROOT', device.path, 0o644));
      steps.push(step('MOUNT_IN_ROOT', join('/', device.path), device.path, '', MS.BIND, ''));
    } else {
      steps.push(step('MKNOD_IN_ROOT', device.path, deviceMode(device), makedev(device.major ?? 0, device.minor ?? 0), device.uid ?? 0, device.gid ?? 0));
      // mknod applies the umask; the spec's fileMode is exact.
      steps.push(step('CHMOD_IN_ROOT', device.path, (device.fileMode ?? 0o666) & 0o7777));
    }
  }
  if (withDefaults) {
    for (const [target, link] of DEV_SYMLINKS) steps.push(step('SYMLINK_IN_ROOT', target, link));
    if (hasDevPts) steps.push(step('SYMLINK_IN_ROOT', 'pts/ptmx', '/dev/ptmx'));
  }
  return steps;
}
