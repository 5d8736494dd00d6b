/**
 * Helpers a dead daemon left running. kill -9 of berthd does not kill the CNI plugin it was
 * waiting for (nor the `unshare` making a namespace): the orphan finishes its ADD after the
 * restarted daemon looked at the state, and a DEL issued before that finish leaves the ADD's
 * rules behind. Reconcile therefore waits for them first. They are found in /proc: a plugin by
 * the CNI_NETNS of its environment (our namespace directory), `unshare` by its `--net=` argument.
 */

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const POLL_MS = 20;

/** Pids of live processes working on a namespace under `netnsDir`, other than this process. */
export async function helpersUnder(netnsDir: string, procDir = '/proc'): Promise<number[]> {
  const prefix = `${netnsDir.replace(/\/+$/, '')}/`;
  const pids: number[] = [];
  const names = await readdir(procDir).catch(() => [] as string[]);
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    // Both files vanish with the process; a process that is gone is not waited for.
    const cmdline = await readFile(join(procDir, name, 'cmdline'), 'latin1').catch(() => '');
    if (cmdline === '') continue;
    if (cmdline.split('\0').some((arg) => arg.startsWith(`--net=${prefix}`))) {
      pids.push(Number(name));
      continue;
    }
    const environ = await readFile(join(procDir, name, 'environ'), 'latin1').catch(() => '');
    if (environ.split('\0').some((v) => v.startsWith(`CNI_NETNS=${prefix}`))) pids.push(Number(name));
  }
  return pids;
}

/**
 * Resolves once no such helper is left. One that outlives `timeoutMs` is stuck: it is killed, so
 * that the DEL that follows does not race it forever.
 */
export async function waitForHelpers(netnsDir: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = await helpersUnder(netnsDir);
    if (pids.length === 0) return;
    if (Date.now() >= deadline) {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
