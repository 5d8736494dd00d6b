/** Whether `path` is a mount point in this process's mount namespace (read from /proc/self/mountinfo, no process spawned). */

import { readFile } from 'node:fs/promises';

export async function isMountPoint(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  // field 5 is the mount point, with spaces and the like octal-escaped as the kernel writes them
  const escaped = path.replace(/[\s\\]/g, (ch) => `\\${ch.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return info.split('\n').some((line) => line.split(' ')[4] === escaped);
}
