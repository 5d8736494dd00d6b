/**
 * `--device HOST[:CONTAINER][:rwm]` (HostConfig.Devices): the host's node, looked up here, is
 * recreated in the container with its type, numbers, mode and owner, and allowed in the device
 * cgroup with the given permissions. A directory brings every device beneath it, at the same
 * place under the container path (moby's getDevicesFromPath).
 */

import { readdirSync, statSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import type { Device, DeviceCgroup } from '../../oci/runtime-spec.ts';
import type { HostConfig } from '../../api/index.ts';
import { errorCode, invalidArgument } from '../../util/errors.ts';
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
