/** Tests for the cgroupfs read/write layer: no file creation, errors that name what failed. */

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyWrites, parseCgroupNumber, parseFlatKeyed, readCgroupNumber, readProcs, writeCgroupFile } from './cgroup-file.ts';

describe('cgroup files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-cgroup-file-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('a write replaces the content and never creates a missing file', async () => {
    await writeFile(join(dir, 'pids.max'), 'max\n');
    await writeCgroupFile(dir, 'pids.max', '10');
    assert.equal(await readFile(join(dir, 'pids.max'), 'utf8'), '10');
    await assert.rejects(writeCgroupFile(dir, 'memory.max', '1'), {
      name: 'CgroupWriteError',
      kind: 'failed-precondition',
      message: 'write memory.max=1: ENOENT',
      file: 'memory.max',
      value: '1',
      code: 'ENOENT',
    });
    await assert.rejects(readFile(join(dir, 'memory.max')), { code: 'ENOENT' });
  });

  it('applyWrites stops at the first failure', async () => {
    await writeFile(join(dir, 'a.x'), '');
    await writeFile(join(dir, 'c.x'), '');
    await assert.rejects(applyWrites(dir, [{ file: 'a.x', value: '1' }, { file: 'b.x', value: '2' }, { file: 'c.x', value: '3' }]), /b\.x=2/);
    assert.equal(await readFile(join(dir, 'a.x'), 'utf8'), '1');
    assert.equal(await readFile(join(dir, 'c.x'), 'utf8'), '');
  });

  it('numbers: max and the v1 unlimited sentinel read as Infinity, missing as undefined', async () => {
    assert.equal(parseCgroupNumber('max\n'), Infinity);
    assert.equal(parseCgroupNumber('9223372036854771712'), Infinity);
    assert.equal(parseCgroupNumber('4096'), 4096);
    assert.equal(await readCgroupNumber(dir, 'nope'), undefined);
  });

  it('flat keyed files and cgroup.procs parse', async () => {
    assert.deepEqual(parseFlatKeyed('usage_usec 10\nnr_periods 2\n'), { usage_usec: 10, nr_periods: 2 });
    await writeFile(join(dir, 'cgroup.procs'), '12\n34\n');
    assert.deepEqual(await readProcs(dir), [12, 34]);
  });
});
