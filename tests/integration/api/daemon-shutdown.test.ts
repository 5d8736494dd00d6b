/**
 * SIGTERM stops berthd promptly while containers run, and they keep running under their
 * monitors; a new berthd finds them.
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TestDaemon } from './helpers.ts';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.create();
  await d.start();
});

after(async () => {
  await d.docker('rm', '-f', 'survivor').catch(() => undefined);
  await d.cleanup();
});

test('SIGTERM ends the daemon within seconds; its containers keep running', async () => {
  const run = await d.docker('run', '-d', '--name', 'survivor', 'busybox', 'sleep', '60');
  assert.equal(run.code, 0, run.stderr);
  const started = Date.now();
  await d.stop('SIGTERM');
  assert.ok(Date.now() - started < 12_000, `berthd took ${Date.now() - started} ms to stop`);
  await d.start();
  const ps = await d.docker('ps', '--filter', 'name=survivor', '--format', '{{.Status}}');
  assert.match(ps.stdout, /^Up /);
});
