/**
 * v2 freezer: cgroup.freeze requests the state, cgroup.events `frozen` reports when the kernel
 * has reached it (tasks in uninterruptible sleep can delay that).
 */

import { parseFlatKeyed, readCgroupFile, writeCgroupFile } from '../cgroup-file.ts';
import type { PollOptions } from '../poll.ts';
import { pollUntil } from '../poll.ts';
import type { FreezerState } from '../v1/freezer.ts';

export async function readV2FreezerState(dir: string): Promise<FreezerState> {
  const events = await readCgroupFile(dir, 'cgroup.events');
  if (events !== undefined) return parseFlatKeyed(events).frozen === 1 ? 'frozen' : 'thawed';
  return (await readCgroupFile(dir, 'cgroup.freeze')) === '1' ? 'frozen' : 'thawed';
}

export async function setV2FreezerState(dir: string, state: FreezerState, options: PollOptions = {}): Promise<void> {
  await writeCgroupFile(dir, 'cgroup.freeze', state === 'frozen' ? '1' : '0');
  try {
    await pollUntil(`${state === 'frozen' ? 'freeze' : 'thaw'} ${dir}`, async () => (await readV2FreezerState(dir)) === state, options);
  } catch (err) {
    if (state === 'frozen') await writeCgroupFile(dir, 'cgroup.freeze', '0');
    throw err;
  }
}
