/**
 * In cgroup v2 a controller's files appear in a cgroup only when its parent lists the controller
 * in cgroup.subtree_control, so every ancestor between the hierarchy root and the container's
 * cgroup must delegate what the container needs. Only missing entries are written, and only
 * controllers the ancestor itself has (cgroup.controllers).
 */

import { dirname } from 'node:path';
import { readCgroupFile, writeCgroupFile } from '../cgroup-file.ts';

function words(text: string | undefined): string[] {
  return (text ?? '').split(/\s+/).filter((word) => word !== '');
}

/** Enables `wanted` (or everything available, for `'all'`) from `root` down to `leaf`'s parent. */
export async function enableControllers(root: string, leaf: string, wanted: readonly string[] | 'all'): Promise<void> {
  const chain: string[] = [];
  for (let dir = dirname(leaf); dir.startsWith(root); dir = dirname(dir)) {
    chain.unshift(dir);
    if (dir === root) break;
  }
  for (const dir of chain) {
    const available = words(await readCgroupFile(dir, 'cgroup.controllers'));
    const enabled = new Set(words(await readCgroupFile(dir, 'cgroup.subtree_control')));
    const missing = available.filter((name) => !enabled.has(name) && (wanted === 'all' || wanted.includes(name)));
    if (missing.length === 0) continue;
    try {
      await writeCgroupFile(dir, 'cgroup.subtree_control', missing.map((name) => `+${name}`).join(' '));
    } catch {
      // One refusal (e.g. cpu while a realtime task sits in the parent) rejects the whole
      // write; enable what can be enabled and let apply() name the file that is then missing.
      for (const name of missing) await writeCgroupFile(dir, 'cgroup.subtree_control', `+${name}`).catch(() => undefined);
    }
  }
}
