/**
 * linux.cgroupsPath semantics of the cgroupfs driver, as runc implements them: an absolute path
 * is taken relative to each hierarchy's root; a relative one (the spec lets the runtime choose)
 * relative to the caller's own cgroup in that hierarchy; absent means `/berth/<container-id>`.
 * The systemd driver's `slice:prefix:name` form is recognised and refused.
 */

import { posix } from 'node:path';
import { invalidArgument, notImplemented } from '../util/errors.ts';

export interface CgroupsPath {
  /** Normalised path, starting with `/` when absolute; never contains `..` components. */
  path: string;
  relative: boolean;
}

export const DEFAULT_PARENT = '/berth';

/** `slice:prefix:name` (e.g. `system.slice:berth:abc`): the systemd cgroup driver's syntax. */
export function isSystemdCgroupsPath(cgroupsPath: string): boolean {
  return /^[^/:]*:[^/:]*:[^/:]+$/.test(cgroupsPath);
}

/** Throws: the systemd cgroup driver is not part of Berth. */
export function parseSystemdCgroupsPath(cgroupsPath: string): never {
  throw notImplemented(
    `parse cgroupsPath ${JSON.stringify(cgroupsPath)}: the systemd cgroup driver (slice:prefix:name) is not supported, use a path`,
  );
}

export function parseCgroupsPath(cgroupsPath: string | undefined, containerId: string): CgroupsPath {
  if (cgroupsPath === undefined || cgroupsPath === '') {
    if (containerId === '' || containerId.includes('/') || containerId === '.' || containerId === '..') {
      throw invalidArgument(`resolve cgroup path: invalid container id ${JSON.stringify(containerId)}`);
    }
    return { path: posix.join(DEFAULT_PARENT, containerId), relative: false };
  }
  if (isSystemdCgroupsPath(cgroupsPath)) parseSystemdCgroupsPath(cgroupsPath);
  const relative = !cgroupsPath.startsWith('/');
  // Resolving against "/" first clamps `..` at the root, so a config cannot climb out of the
  // hierarchy (or out of the caller's cgroup, for relative paths).
  const clean = posix.resolve('/', cgroupsPath);
  if (clean === '/') throw invalidArgument(`resolve cgroup path ${JSON.stringify(cgroupsPath)}: refers to the root cgroup`);
  return { path: relative ? clean.slice(1) : clean, relative };
}

/** The directory of the container's cgroup in one hierarchy mounted at `mountPoint`. */
export function hierarchyDir(mountPoint: string, spec: CgroupsPath, ownCgroup = '/'): string {
  return spec.relative
    ? posix.join(mountPoint, ownCgroup, spec.path)
    : posix.join(mountPoint, spec.path);
}
