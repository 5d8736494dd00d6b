import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { acquireLockFile } from './lock-file.ts';

let dir: string;
after(() => rm(dir, { recursive: true, force: true }));

describe('acquireLockFile', () => {
  it('excludes a second holder until the first releases', async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-lock-'));
    const path = join(dir, 'a.lock');
    const release = await acquireLockFile(path);
    assert.equal(await readFile(path, 'utf8'), String(process.pid));
    const waits: Array<number | undefined> = [];
    let second = false;
    const pending = acquireLockFile(path, { onWait: (pid) => waits.push(pid) }).then((r) => {
      second = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(second, false);
    assert.deepEqual(waits, [process.pid]);
    await release();
    const releaseSecond = await pending;
    await releaseSecond();
    await assert.rejects(stat(path), /ENOENT/);
  });

  it('takes over the lock of a dead process and gives up after its timeout on a live one', async () => {
    const path = join(dir, 'b.lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    await writeFile(path, dead);
    const release = await acquireLockFile(path, { timeoutMs: 1000 });
    await assert.rejects(acquireLockFile(path, { timeoutMs: 100 }), new RegExp(`held by process ${process.pid}`));
    await release();
  });
});
