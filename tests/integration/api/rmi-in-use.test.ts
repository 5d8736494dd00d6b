/**
 * `berth rmi` (the image store, in-process) refuses to delete an image that a berthd container
 * on the same data root was made from, unless forced (issue 3: "rmi refuses when a container
 * uses it unless -f").
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TestDaemon, REPO } from './helpers.ts';

let d: TestDaemon;

before(async () => {
  d = await TestDaemon.create();
  await d.start();
});

after(async () => {
  await d.docker('rm', '-f', 'rmi-user').catch(() => undefined);
  await d.cleanup();
});

function berth(...args: string[]): { code: number; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env['NODE_EXTRA_CA_CERTS'];
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO, 'src/bin/berth.ts'), '--data-root', d.root, ...args], { encoding: 'utf8', env, cwd: REPO, timeout: 60_000 });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

test('an image a container uses is not removed without --force', async () => {
  const run = await d.docker('run', '-d', '--name', 'rmi-user', 'busybox', 'sleep', '30');
  assert.equal(run.code, 0, run.stderr);
  const refused = berth('rmi', 'busybox');
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /container is using its referenced image/);
  assert.match(berth('images', '--format', '{{.Repository}}:{{.Tag}}').stdout, /busybox:latest/);
  await d.docker('rm', '-f', 'rmi-user');
  const removed = berth('rmi', 'busybox');
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /Untagged: busybox:latest/);
});
