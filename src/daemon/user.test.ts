/** `--user` resolved in the container's own /etc/passwd and /etc/group, never the host's. */

import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveUser } from './user.ts';

let rootfs: string;

before(async () => {
  rootfs = await mkdtemp(join(tmpdir(), 'berth-user-'));
  await mkdir(join(rootfs, 'etc'));
  await mkdir(join(rootfs, 'data'));
  await writeFile(join(rootfs, 'data', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345:app:/home/app:/bin/sh\n');
  await writeFile(join(rootfs, 'etc', 'group'), 'root:x:0:\napp:x:2345:\nextra:x:3456:app\n');
  // an absolute link: inside the container it means the rootfs's /data/passwd
  await symlink('/data/passwd', join(rootfs, 'etc', 'passwd'));
});

after(async () => {
  await rm(rootfs, { recursive: true, force: true });
});

describe('resolveUser', () => {
  it('follows the image\'s symlinks inside its rootfs', async () => {
    assert.deepEqual(await resolveUser(rootfs, 'app'), { uid: 1234, gid: 2345, additionalGids: [3456], home: '/home/app' });
  });

  it('never reads the host\'s file through a link that climbs out', async () => {
    await rm(join(rootfs, 'etc', 'passwd'));
    await symlink('../../../../../../etc/passwd', join(rootfs, 'etc', 'passwd'));
    // clamped at the container's root: /etc/passwd again, a loop the resolver gives up on
    await assert.rejects(resolveUser(rootfs, 'root'), /unable to find user root/);
    assert.deepEqual(await resolveUser(rootfs, ''), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
  });

  it('takes numeric ids and groups as given, with Docker\'s error for unknown names', async () => {
    assert.deepEqual(await resolveUser(rootfs, '77:88', ['extra']), { uid: 77, gid: 88, additionalGids: [3456], home: '/' });
    await assert.rejects(resolveUser(rootfs, 'nobody-here'), /unable to find user nobody-here: no matching entries in passwd file/);
  });
});
