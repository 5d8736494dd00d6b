/**
 * Healthchecks (issue 4): the image's HEALTHCHECK merged into the container at create (the
 * `--health-*` flags override fields, `--no-healthcheck` disables it), State.Health in
 * inspect, `(healthy)` in ps, and the health kept across a kill -9 of berthd. The image is a
 * busybox archive with a Healthcheck added to its config, made here and `docker load`ed.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { FIXTURES, TestDaemon } from './helpers.ts';

const run = promisify(execFile);
const IMAGE = 'berth-health-test:latest';
const MS = 1_000_000;
/** the image's probe: healthy once /tmp/ok exists */
const IMAGE_HEALTHCHECK = { Test: ['CMD-SHELL', 'test -e /tmp/ok || { echo not yet; exit 1; }'], Interval: 200 * MS, Timeout: 5_000 * MS, Retries: 2 };

let d: TestDaemon;
let work: string;
const created = new Set<string>();

interface Health {
  Status: string;
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

/** busybox.docker.tar with the healthcheck in its image config, as `docker build` would write it. */
async function healthImageArchive(): Promise<string> {
  const dir = join(work, 'image');
  await run('mkdir', ['-p', dir]);
  await run('tar', ['-C', dir, '-xf', join(FIXTURES, 'archives', 'busybox.docker.tar')]);
  const [manifest] = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
  const config = JSON.parse(await readFile(join(dir, manifest!.Config), 'utf8')) as { config: Record<string, unknown> };
  config.config['Healthcheck'] = IMAGE_HEALTHCHECK;
  const text = JSON.stringify(config);
  const name = `${createHash('sha256').update(text).digest('hex')}.json`;
  await writeFile(join(dir, name), text);
  await rm(join(dir, manifest!.Config));
  await rm(join(dir, 'repositories'), { force: true });
  await writeFile(join(dir, 'manifest.json'), JSON.stringify([{ Config: name, RepoTags: [IMAGE], Layers: manifest!.Layers }]));
  const archive = join(work, 'health.tar');
  await run('tar', ['-C', dir, '-cf', archive, '.']);
  return archive;
}

async function ok(...args: string[]): Promise<string> {
  const r = await d.docker(...args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function start(...args: string[]): Promise<string> {
  const id = (await ok('run', '-d', ...args)).trim();
  created.add(id);
  return id;
}

async function health(ref: string): Promise<Health | null> {
  return JSON.parse(await ok('inspect', '-f', '{{json .State.Health}}', ref)) as Health | null;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}

function status(ref: string, wanted: string): Promise<Health> {
  return until(`${ref} ${wanted}`, async () => {
    const h = await health(ref);
    return h?.Status === wanted ? h : undefined;
  });
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-health-'));
  d = await TestDaemon.create();
  await d.start();
  assert.match(await ok('load', '-i', await healthImageArchive()), /Loaded image: berth-health-test:latest/);
});

after(async () => {
  try {
    await d.removeAllAndCheck(created);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

describe('healthchecks', () => {
  it('takes the image\'s HEALTHCHECK: starting, unhealthy after the retries, healthy once the probe passes', async () => {
    const id = await start('--name', 'hc-image', IMAGE, 'sleep', '1000');
    const config = JSON.parse(await ok('inspect', '-f', '{{json .Config.Healthcheck}}', id)) as Record<string, unknown>;
    assert.deepEqual(config, IMAGE_HEALTHCHECK);
    const unhealthy = await status(id, 'unhealthy');
    assert.ok(unhealthy.FailingStreak >= 2, JSON.stringify(unhealthy));
    assert.deepEqual(unhealthy.Log.at(-1)!.ExitCode, 1);
    assert.equal(unhealthy.Log.at(-1)!.Output, 'not yet\n');
    assert.match(await ok('ps', '--filter', `id=${id}`, '--format', '{{.Status}}'), /^Up .* \(unhealthy\)\n$/);
    await ok('exec', id, 'touch', '/tmp/ok');
    const healthy = await status(id, 'healthy');
    assert.equal(healthy.FailingStreak, 0);
    assert.ok(healthy.Log.length <= 5, 'the last five results are kept');
    assert.match(await ok('ps', '--filter', `id=${id}`, '--format', '{{.Status}}'), /^Up .* \(healthy\)\n$/);
    assert.equal(await ok('ps', '-q', '--no-trunc', '--filter', 'health=healthy', '--filter', `id=${id}`), `${id}\n`);
    assert.equal(await ok('ps', '-q', '--filter', 'health=unhealthy', '--filter', `id=${id}`), '');
    const events = await ok('events', '--since', '0', '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', `container=${id}`, '--format', '{{.Action}}');
    assert.match(events, /^health_status: unhealthy$/m);
    assert.match(events, /^health_status: healthy$/m);
  });

  it('--health-* flags override the image\'s fields one by one; --no-healthcheck disables it', async () => {
    const id = await start('--name', 'hc-override', '--health-interval', '300ms', '--health-retries', '7', IMAGE, 'sleep', '1000');
    const config = JSON.parse(await ok('inspect', '-f', '{{json .Config.Healthcheck}}', id)) as Record<string, unknown>;
    assert.deepEqual(config['Test'], IMAGE_HEALTHCHECK.Test);
    assert.equal(config['Interval'], 300 * MS);
    assert.equal(config['Retries'], 7);
    assert.equal(config['Timeout'], IMAGE_HEALTHCHECK.Timeout);

    const cmd = await start('--name', 'hc-cmd', '--health-cmd', 'echo fine', '--health-interval', '200ms', IMAGE, 'sleep', '1000');
    const healthy = await status(cmd, 'healthy');
    assert.equal(healthy.Log.at(-1)!.Output, 'fine\n');

    const none = await start('--name', 'hc-none', '--no-healthcheck', IMAGE, 'sleep', '1000');
    assert.equal(await ok('inspect', '-f', '{{json .Config.Healthcheck.Test}}', none), '["NONE"]\n');
    await sleep(600);
    assert.equal(await health(none), null);
    assert.match(await ok('ps', '--filter', `id=${none}`, '--format', '{{.Status}}'), /^Up [^(]*\n$/);
  });

  it('refuses what moby refuses, before anything exists', async () => {
    const r = await d.api('POST', '/containers/create', JSON.stringify({ Image: IMAGE, Healthcheck: { Test: ['CMD', 'true'], Interval: 100 } }), { 'Content-Type': 'application/json' });
    assert.equal(r.status, 400, r.body);
    assert.equal(JSON.parse(r.body).message, 'Interval in Healthcheck cannot be less than 1ms');
    const retries = await d.api('POST', '/containers/create', JSON.stringify({ Image: IMAGE, Healthcheck: { Retries: -1 } }), { 'Content-Type': 'application/json' });
    assert.equal(JSON.parse(retries.body).message, 'Retries in Healthcheck cannot be negative');
    const conflict = await d.docker('run', '--no-healthcheck', '--health-cmd', 'true', IMAGE);
    assert.equal(conflict.code, 125);
    assert.match(conflict.stderr, /--no-healthcheck conflicts with --health-\* options/);
  });

  it('keeps the health across a kill -9 of berthd, and probes on', async () => {
    const id = await start('--name', 'hc-restart', '--health-cmd', 'test -e /tmp/ok', '--health-interval', '200ms', '--health-retries', '1', IMAGE, 'sleep', '1000');
    await status(id, 'unhealthy');
    await ok('exec', id, 'touch', '/tmp/ok');
    const before = await status(id, 'healthy');
    await d.stop('SIGKILL');
    await d.start();
    const restored = (await health(id))!;
    assert.equal(restored.Status, 'healthy');
    assert.ok(restored.Log.length >= before.Log.length, 'the log survived');
    assert.match(await ok('ps', '--filter', `id=${id}`, '--format', '{{.Status}}'), /\(healthy\)\n$/);
    // the probes go on where they left off: a failing probe turns it unhealthy again
    await ok('exec', id, 'rm', '/tmp/ok');
    const after = await status(id, 'unhealthy');
    assert.ok(Date.parse(after.Log.at(-1)!.Start) > Date.parse(before.Log.at(-1)!.End));
  });

  it('a stopped container keeps its last health in inspect, not in ps', async () => {
    const id = await start('--name', 'hc-stopped', '--health-cmd', 'true', '--health-interval', '200ms', IMAGE, 'sleep', '1000');
    await status(id, 'healthy');
    await ok('stop', '-t', '1', id);
    assert.equal((await health(id))!.Status, 'healthy');
    assert.match(await ok('ps', '-a', '--filter', `id=${id}`, '--format', '{{.Status}}'), /^Exited \(137\)/);
  });
});
