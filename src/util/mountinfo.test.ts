import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isMountPoint } from './mountinfo.ts';

test('isMountPoint tells a mount point from a directory inside one', async () => {
  assert.equal(await isMountPoint('/proc'), true);
  assert.equal(await isMountPoint('/proc/self'), false);
  assert.equal(await isMountPoint('/no such dir'), false);
});
