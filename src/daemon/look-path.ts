/**
 * The command's executable, looked up in the container's rootfs along its PATH before anything
 * runs — runc does the same at create, and the docker CLI turns "executable file not found"
 * into exit code 127 (126 for "permission denied"), so the wording matters.
 */

import { lstatSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../util/errors.ts';

const PREFIX = 'failed to create task for container: exec';

/** Synchronous: a few metadata calls on a local tree, each cheaper than a thread-pool round trip. */
function exists(path: string): { found: boolean; executable: boolean } {
  try {
    const link = lstatSync(path);
    // An absolute symlink points into the container's tree, not ours: trust it exists.
    if (link.isSymbolicLink()) return { found: true, executable: true };
    if (link.isDirectory()) return { found: false, executable: false };
    const info = link.isFile() ? link : statSync(path);
    return { found: true, executable: (info.mode & 0o111) !== 0 };
  } catch {
    return { found: false, executable: false };
  }
}

export async function checkExecutable(rootfs: string, command: string, env: readonly string[], cwd: string): Promise<void> {
  if (command.includes('/')) {
    const path = command.startsWith('/') ? command : join(cwd, command);
    const { found, executable } = exists(join(rootfs, path));
    if (!found) throw invalidArgument(`${PREFIX}: "${command}": stat ${command}: no such file or directory`);
    if (!executable) throw invalidArgument(`${PREFIX}: "${command}": permission denied`);
    return;
  }
  const pathVar = [...env].reverse().find((e) => e.startsWith('PATH='))?.slice(5) ?? '';
  for (const dir of pathVar.split(':')) {
    if (!dir.startsWith('/')) continue;
    const { found, executable } = exists(join(rootfs, dir, command));
    if (found && executable) return;
  }
  throw invalidArgument(`${PREFIX}: "${command}": executable file not found in $PATH`);
}
