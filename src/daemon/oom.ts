/**
 * State.OOMKilled: whether the kernel's OOM killer struck inside the container's cgroup. The
 * counter (v1 memory.oom_control, v2 memory.events `oom_kill`) dies with the cgroup, so it is
 * read at exit, before the runtime's delete removes the cgroup.
 */

import { loadCgroup } from '../runtime/index.ts';
import type { Container } from './container.ts';
import type { DaemonContext } from './context.ts';

export async function wasOomKilled(ctx: DaemonContext, c: Container): Promise<boolean> {
  try {
    const record = await ctx.runtime.store.load(c.id);
    return (await loadCgroup(record).oomKills()) > 0;
  } catch {
    // no runtime state or cgroup left (a daemon restart after a reboot): nothing to tell
    return false;
  }
}
