/**
 * Which cgroup hierarchies this host has and where they are mounted. A host is `v1` (only
 * legacy hierarchies), `hybrid` (legacy controllers plus a cgroup2 mount that holds whatever
 * controllers the legacy side left unbound, e.g. hugetlb on this VM) or `v2` (unified only).
 * Read from /proc/self/mountinfo and /proc/self/cgroup; both texts are injectable for tests.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorCode } from '../util/errors.ts';

export type CgroupMode = 'v1' | 'hybrid' | 'v2';

export interface CgroupLayout {
  mode: CgroupMode;
  /** Legacy controller (`cpu`, `memory`, `name=systemd`) → its hierarchy's mount point. */
  v1: Map<string, string>;
  /** Mount point of the cgroup2 hierarchy, when one is mounted. */
  v2Root?: string;
  /** Controllers the cgroup2 root offers (its cgroup.controllers). */
  v2Controllers: string[];
  /** The caller's own cgroup per hierarchy (`memory` → `/a/b`; `''` → the cgroup2 path). */
  self: Map<string, string>;
}

export interface LayoutSources {
  mountinfo: string;
  /** /proc/self/cgroup. */
  cgroup: string;
  /** Content of the cgroup2 root's cgroup.controllers, when there is a cgroup2 mount. */
  v2Controllers?: string;
}

/**
 * Mount options of a v1 cgroup mount that are flags, not controllers. Anything else in the
 * super options is a controller name (`cpu`, `cpuacct`) or a named hierarchy (`name=systemd`).
 */
const V1_FLAGS = new Set(['rw', 'ro', 'clone_children', 'noprefix', 'xattr', 'cpuset_v2_mode', 'sane_behavior', 'all', 'none', 'favordynmods']);

interface CgroupMount {
  fstype: 'cgroup' | 'cgroup2';
  mountPoint: string;
  superOptions: string[];
}

/** mountinfo(5): fields up to " - " are per mount; after it come fstype, source, super options. */
function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const fields = line.trim().split(' ');
    const dash = fields.indexOf('-');
    if (dash < 0) continue;
    const fstype = fields[dash + 1];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const mountPoint = unescapeOctal(fields[4] ?? '');
    mounts.push({ fstype, mountPoint, superOptions: (fields[dash + 3] ?? '').split(',') });
  }
  return mounts;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeOctal(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** /proc/self/cgroup lines `id:controllers:path`; controllers comma-joined, empty for cgroup2. */
function parseSelfCgroup(text: string): Map<string, string> {
  const self = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, controllers = '', path = '/'] = match;
    if (controllers === '') self.set('', path);
    else for (const name of controllers.split(',')) self.set(name, path);
  }
  return self;
}

/** The layout described by the given texts; pure, for tests and for `detectLayout`. */
export function parseLayout(sources: LayoutSources): CgroupLayout {
  const v1 = new Map<string, string>();
  let v2Root: string | undefined;
  for (const mount of parseCgroupMounts(sources.mountinfo)) {
    if (mount.fstype === 'cgroup2') {
      // Bind mounts of the same hierarchy repeat it; the first one is the host's.
      v2Root ??= mount.mountPoint;
      continue;
    }
    for (const option of mount.superOptions) {
      if (V1_FLAGS.has(option) || (option.includes('=') && !option.startsWith('name='))) continue;
      if (!v1.has(option)) v1.set(option, mount.mountPoint);
    }
  }
  const realControllers = [...v1.keys()].filter((name) => !name.startsWith('name='));
  let mode: CgroupMode;
  if (v2Root === undefined) mode = 'v1';
  // A cgroup2 mount with no legacy controller bound (at most a named hierarchy kept for
  // systemd compatibility) is a unified host.
  else if (realControllers.length === 0) mode = 'v2';
  else mode = 'hybrid';
  const layout: CgroupLayout = {
    mode,
    v1: mode === 'v2' ? new Map() : v1,
    v2Controllers: (sources.v2Controllers ?? '').split(/\s+/).filter((name) => name !== ''),
    self: parseSelfCgroup(sources.cgroup),
  };
  if (v2Root !== undefined) layout.v2Root = v2Root;
  return layout;
}

/** The layout of the host this process runs on. */
export async function detectLayout(): Promise<CgroupLayout> {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const cgroup = readFileSync('/proc/self/cgroup', 'utf8');
  const sources: LayoutSources = { mountinfo, cgroup };
  const probe = parseLayout(sources);
  if (probe.v2Root !== undefined) {
    try {
      sources.v2Controllers = readFileSync(join(probe.v2Root, 'cgroup.controllers'), 'utf8');
    } catch (err) {
      if (errorCode(err) !== 'ENOENT') throw err;
    }
  }
  return parseLayout(sources);
}
