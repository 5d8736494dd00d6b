/**
 * `--device HOST[:CONTAINER][:rwm]` (HostConfig.Devices): the host's node, looked up here, is
 * recreated in the container with its type, numbers, mode and owner, and allowed in the device
 * cgroup with the given permissions. A directory brings every device beneath it, at the same
 * place under the container path (moby's getDevicesFromPath). Here too: `--privileged`'s walk of
 * the host's /dev, and `--device-cgroup-rule`'s rules for the device cgroup.
 */

import { lstatSync, readdirSync, statSync, type Dirent, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import type { Device, DeviceCgroup } from '../../oci/runtime-spec.ts';
import type { HostConfig } from '../../api/index.ts';
import { EngineError, errorCode, invalidArgument } from '../../util/errors.ts';
import type { SpecOpt } from './spec-opts.ts';

type DeviceMapping = NonNullable<HostConfig['Devices']>[number];

export interface HostDevice {
  device: Device;
  rule: DeviceCgroup;
}

const S_IFMT = 0o170000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

function nodeType(stats: Stats): 'c' | 'b' | undefined {
  const type = Number(stats.mode) & S_IFMT;
  return type === S_IFCHR ? 'c' : type === S_IFBLK ? 'b' : undefined;
}

/** Linux's dev_t split (glibc's gnu_dev_major/minor). */
function majorMinor(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { major, minor };
}

function hostDevice(inContainer: string, stats: Stats, permissions: string): HostDevice {
  const type = nodeType(stats)!;
  const { major, minor } = majorMinor(Number(stats.rdev));
  return {
    device: { type, path: inContainer, major, minor, fileMode: Number(stats.mode) & 0o7777, uid: Number(stats.uid), gid: Number(stats.gid) },
    rule: { allow: true, type, major, minor, access: permissions },
  };
}

function walk(dir: string, inContainer: string, permissions: string, out: HostDevice[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const target = posix.join(inContainer, entry.name);
    if (entry.isDirectory()) walk(path, target, permissions, out);
    else if (entry.isCharacterDevice() || entry.isBlockDevice()) out.push(hostDevice(target, statSync(path), permissions));
  }
}

/** The devices a container asked for, as they are on the host now. */
export function hostDevices(mappings: readonly DeviceMapping[]): HostDevice[] {
  const out: HostDevice[] = [];
  for (const m of mappings) {
    const permissions = m.CgroupPermissions || 'rwm';
    const inContainer = m.PathInContainer || m.PathOnHost;
    let stats: Stats;
    try {
      stats = statSync(m.PathOnHost);
    } catch (err) {
      const reason = errorCode(err) === 'ENOENT' ? 'no such file or directory' : err instanceof Error ? err.message : String(err);
      throw invalidArgument(`error gathering device information while adding custom device "${m.PathOnHost}": ${reason}`, err);
    }
    if (stats.isDirectory()) walk(m.PathOnHost, inContainer, permissions, out);
    else if (nodeType(stats)) out.push(hostDevice(inContainer, stats, permissions));
    else throw invalidArgument(`error gathering device information while adding custom device "${m.PathOnHost}": not a device node`);
  }
  return out;
}

export function withDevices(devices: readonly HostDevice[]): SpecOpt {
  return (spec) => {
    const linux = spec.linux!;
    const paths = new Set(devices.map((d) => d.device.path));
    linux.devices = [...(linux.devices ?? []).filter((d) => !paths.has(d.path)), ...devices.map((d) => ({ ...d.device }))];
    linux.resources = { ...linux.resources, devices: [...(linux.resources?.devices ?? []), ...devices.map((d) => ({ ...d.rule }))] };
  };
}

/**
 * `--privileged` (moby's HostDevices): every char and block device under the host's /dev, at
 * the same path. Skipped, as containerd and runc skip them: the directories the container gets
 * its own mounts for (pts, shm, mqueue), fd, the private ones of lxc, lxd and udev, and console
 * (the runtime makes the console). Symlinks are skipped too (lstat: a link is not a node), and
 * an entry that vanishes between readdir and lstat (udev at work) is not an error.
 */
const SKIPPED_DIRECTORIES = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

export function privilegedDevices(hostDev = '/dev'): Device[] {
  const out: Device[] = [];
  const visit = (dir: string, inContainer: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      // gone while walking (udev), or unreadable to a rootless daemon (as moby skips it in a user namespace)
      if (['ENOENT', 'ENOTDIR', 'EACCES'].includes(errorCode(err) ?? '')) return;
      throw new EngineError('internal', `read host devices in ${dir}: ${errorCode(err) ?? String(err)}`, { cause: err });
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const target = posix.join(inContainer, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRECTORIES.has(entry.name)) visit(path, target);
        continue;
      }
      // the runtime links /dev/ptmx to the container's own pts/ptmx: the host's multiplexer
      // would hand out ptys of the host's devpts instance
      if (entry.name === 'console' || target === '/dev/ptmx') continue;
      if (!entry.isCharacterDevice() && !entry.isBlockDevice()) continue;
      const stats = lstatSync(path, { throwIfNoEntry: false });
      if (stats && nodeType(stats)) out.push(hostDevice(target, stats, 'rwm').device);
    }
  };
  visit(hostDev, '/dev');
  return out;
}

/**
 * moby's reading of one `--device-cgroup-rule` (`type major:minor access`, `*` for any number).
 * An `a` rule matches every device whatever numbers it names (the kernel ignores them), so
 * its numbers become wildcards and a cgroup v2 filter treats it as v1 does.
 */
export function parseDeviceCgroupRule(text: string): DeviceCgroup {
  const rule = text === 'a' ? 'a *:* rwm' : text;
  const match = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.exec(rule);
  if (!match) throw invalidArgument(`invalid device cgroup rule format: '${text}'`);
  const [, type, major, minor, access] = match as unknown as [string, string, string, string, string];
  const number = (value: string, which: string): number => {
    if (value === '*' || type === 'a') return -1;
    // strconv.ParseInt(…, 10, 64): what does not fit an int64 is refused
    if (BigInt(value) > 0x7fff_ffff_ffff_ffffn) throw invalidArgument(`invalid ${which} value in device cgroup rule format: '${text}'`);
    return Number(value);
  };
  return { allow: true, type, major: number(major, 'major'), minor: number(minor, 'minor'), access };
}

export function parseDeviceCgroupRules(rules: readonly string[]): DeviceCgroup[] {
  return rules.map(parseDeviceCgroupRule);
}

/** `--device-cgroup-rule`: allowed after the defaults and the `--device` rules, as moby appends them. */
export function withDeviceCgroupRules(rules: readonly DeviceCgroup[]): SpecOpt {
  return (spec) => {
    const linux = spec.linux!;
    linux.resources = { ...linux.resources, devices: [...(linux.resources?.devices ?? []), ...rules.map((r) => ({ ...r }))] };
  };
}
