/**
 * v1 freezer controller. Writing FROZEN starts freezing; freezer.state reads FREEZING until every
 * task has stopped, and only then FROZEN. Thawing is immediate but read back the same way.
 */

import type { CgroupWrite } from '../cgroup-file.ts';
import { readCgroupFile, writeCgroupFile } from '../cgroup-file.ts';
import type { PollOptions } from '../poll.ts';
import { pollUntil } from '../poll.ts';

export type FreezerState = 'frozen' | 'thawed';

export function v1FreezerWrites(state: FreezerState): CgroupWrite[] {
  return [{ file: 'freezer.state', value: state === 'frozen' ? 'FROZEN' : 'THAWED' }];
}

/** FREEZING counts as thawed: some task still runs. */
export async function readV1FreezerState(dir: string): Promise<FreezerState> {
  return (await readCgroupFile(dir, 'freezer.state')) === 'FROZEN' ? 'frozen' : 'thawed';
}

export async function setV1FreezerState(dir: string, state: FreezerState, options: PollOptions = {}): Promise<void> {
  const [write] = v1FreezerWrites(state);
  const { file, value } = write!;
  await writeCgroupFile(dir, file, value);
  try {
    await pollUntil(`${state === 'frozen' ? 'freeze' : 'thaw'} ${dir}`, async () => (await readCgroupFile(dir, file)) === value, {
      ...options,
      nudge: () => writeCgroupFile(dir, file, value),
    });
  } catch (err) {
    // A cgroup left half-frozen is worse than a failed freeze: the container cannot run and
    // cannot be killed cleanly.
    if (state === 'frozen') await writeCgroupFile(dir, file, 'THAWED');
    throw err;
  }
}
