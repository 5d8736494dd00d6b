/**
 * `--user` → numeric ids, looked up in the container's own /etc/passwd and /etc/group (not
 * the host's), with Docker's errors. Also HOME, which Docker sets from the passwd entry.
 */

import { readFileSync } from 'node:fs';
import { invalidArgument } from '../util/errors.ts';
import { ContainerView } from './container-view.ts';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/**
 * /etc/<file> of the container, its symlinks resolved inside the rootfs (an image whose
 * /etc/passwd links to /etc/shadow must not read the host's). Synchronous: two small reads.
 */
function readTable(rootfs: string, file: string): string[][] {
  const view = new ContainerView(rootfs, []);
  let text = '';
  try {
    text = readFileSync(view.hostPath(view.resolve(`/etc/${file}`, true)), 'utf8');
  } catch {
    // no such file in the image: no entries
  }
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => l.split(':'));
}

export function parsePasswd(rows: string[][]): PasswdEntry[] {
  return rows.filter((r) => r.length >= 7).map((r) => ({ name: r[0]!, uid: Number(r[2]), gid: Number(r[3]), home: r[5]! }));
}

export async function resolveUser(rootfs: string, user: string | undefined, groupAdd: readonly string[] = []): Promise<ResolvedUser> {
  const spec = user?.trim() ?? '';
  const [userPart = '', groupPart] = spec.split(':');
  const passwd = parsePasswd(readTable(rootfs, 'passwd'));
  const groups = readTable(rootfs, 'group');
  let uid = 0;
  let gid = 0;
  let home = '/';
  if (userPart === '' || /^\d+$/.test(userPart)) {
    uid = userPart === '' ? 0 : Number(userPart);
    const entry = passwd.find((p) => p.uid === uid);
    if (entry) {
      gid = entry.gid;
      home = entry.home;
    } else if (uid === 0) {
      home = '/root';
    }
  } else {
    const entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw invalidArgument(`unable to find user ${userPart}: no matching entries in passwd file`);
    ({ uid, gid, home } = entry);
  }
  if (groupPart !== undefined && groupPart !== '') gid = groupId(groups, groupPart);
  const additionalGids = groupAdd.map((g) => groupId(groups, g));
  const name = passwd.find((p) => p.uid === uid)?.name;
  if (name !== undefined) for (const row of groups) if ((row[3] ?? '').split(',').includes(name)) additionalGids.push(Number(row[2]));
  return { uid, gid, additionalGids: [...new Set(additionalGids)].filter((g) => g !== gid), home };
}

function groupId(groups: string[][], group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  const row = groups.find((r) => r[0] === group);
  if (!row) throw invalidArgument(`unable to find group ${group}: no matching entries in group file`);
  return Number(row[2]);
}
