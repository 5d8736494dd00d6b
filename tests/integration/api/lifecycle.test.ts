/**
 * Container lifecycle through the real docker CLI: the OOM killer's verdict in inspect, restart
 * policies with their count, backoff and `docker stop`, and restarts across a daemon restart.
 * Runs as root; leaves no containers, mounts or cgroups behind.
 */

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestDaemon, until } from './helpers.ts';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

let d: TestDaemon;
const created = new Set<string>();

async function run(...args: string[]): Promise<string> {
  const r = await d.docker('run', '-d', ...args);
  assert.equal(r.code, 0, r.stderr);
  const id = r.stdout.trim();
  created.add(id);
  return id;
}

async function field(ref: string, format: string): Promise<string> {
  const r = await d.docker('inspect', '-f', format, ref);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}


before(async () => {
  d = await TestDaemon.create();
  await d.start();
});

after(() => d.removeAllAndCheck(created));

describe('container lifecycle', () => {
  it('a process the OOM killer ends shows OOMKilled and exit code 137', async () => {
    const r = await d.docker('run', '--name', 'oom', '--memory', '32m', 'busybox', 'sh', '-c', 'exec dd if=/dev/zero of=/dev/null bs=128M count=1');
    created.add(await field('oom', '{{.Id}}'));
    assert.equal(r.code, 137, r.stderr);
    assert.equal(await field('oom', '{{.State.OOMKilled}} {{.State.ExitCode}}'), 'true 137');
  });

  it('an ordinary exit is not OOMKilled', async () => {
    const r = await d.docker('run', '--name', 'no-oom', '--memory', '32m', 'busybox', 'true');
    created.add(await field('no-oom', '{{.Id}}'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await field('no-oom', '{{.State.OOMKilled}}'), 'false');
  });

  it('on-failure:2 restarts a failing container twice, then leaves it exited', async () => {
    const id = await run('--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 1');
    await until('two restarts and a final exit', async () => (await field(id, '{{.RestartCount}} {{.State.Status}}')) === '2 exited');
    await sleep(1000);
    assert.equal(await field(id, '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}'), '2 exited 1');
    assert.equal(await field(id, '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}'), 'on-failure:2');
  });

  it('on-failure does not restart a clean exit', async () => {
    const id = await run('--restart', 'on-failure', 'busybox', 'true');
    await until('the exit', async () => (await field(id, '{{.State.Status}}')) === 'exited');
    await sleep(500);
    assert.equal(await field(id, '{{.RestartCount}} {{.State.Status}}'), '0 exited');
  });

  it('always restarts a crashing container until docker stop, with a growing backoff', async () => {
    const id = await run('--restart', 'always', 'busybox', 'sh', '-c', 'exit 3');
    await until('three restarts', async () => Number(await field(id, '{{.RestartCount}}')) >= 3);
    const started = Date.now();
    await until('two more restarts', async () => Number(await field(id, '{{.RestartCount}}')) >= 5);
    // 0.8 s + 1.6 s of backoff at least between restart 3 and 5
    assert.ok(Date.now() - started >= 1000, `restarts came too fast: ${Date.now() - started} ms`);
    const r = await d.docker('stop', '-t', '1', id);
    assert.equal(r.code, 0, r.stderr);
    const count = await field(id, '{{.RestartCount}}');
    await sleep(2000);
    assert.equal(await field(id, '{{.RestartCount}} {{.State.Status}} {{.State.Restarting}}'), `${count} exited false`);
  });

  it('always restarts a long-running container killed from outside, and docker ps shows it', async () => {
    const id = await run('--restart', 'always', 'busybox', 'sleep', '1000');
    const pid = Number(await field(id, '{{.State.Pid}}'));
    process.kill(pid, 'SIGKILL');
    await until('the restart', async () => (await field(id, '{{.RestartCount}} {{.State.Running}}')) === '1 true');
    assert.notEqual(Number(await field(id, '{{.State.Pid}}')), pid);
    const ps = await d.docker('ps', '--filter', `id=${id}`, '--format', '{{.Status}}');
    assert.match(ps.stdout, /^Up /);
    assert.equal((await d.docker('stop', '-t', '1', id)).code, 0);
    assert.equal(await field(id, '{{.State.Status}}'), 'exited');
  });

  it('a daemon restart starts always containers again but leaves stopped unless-stopped ones', async () => {
    const always = await run('--restart', 'always', 'busybox', 'sleep', '1000');
    const unless = await run('--restart', 'unless-stopped', 'busybox', 'sleep', '1000');
    const plain = await run('busybox', 'sleep', '1000');
    for (const id of [always, unless, plain]) assert.equal((await d.docker('stop', '-t', '0', id)).code, 0);
    // SIGKILL: berthd does not yet exit on SIGTERM while a container it started runs (see docker-cli.test.ts)
    await d.stop('SIGKILL');
    await d.start();
    assert.equal(await field(always, '{{.State.Running}}'), 'true');
    assert.equal(await field(unless, '{{.State.Running}}'), 'false');
    assert.equal(await field(plain, '{{.State.Running}}'), 'false');
    // unless-stopped that was running when the daemon went down comes back too
    assert.equal((await d.docker('start', unless)).code, 0);
    await d.stop('SIGKILL');
    await d.start();
    assert.equal(await field(unless, '{{.State.Running}}'), 'true');
    for (const id of [always, unless]) assert.equal((await d.docker('rm', '-f', id)).code, 0);
  });

  it('restart keeps a --rm container (auto-remove waits for an exit of its own), stop then removes it', async () => {
    const id = await run('--rm', 'busybox', 'sleep', '1000');
    const restarted = await d.docker('restart', '-t', '0', id);
    assert.equal(restarted.code, 0, restarted.stderr);
    assert.equal(await field(id, '{{.State.Running}}'), 'true');
    assert.equal((await d.docker('stop', '-t', '0', id)).code, 0);
    await until('removed', async () => (await d.docker('inspect', id)).code !== 0);
  });

  it('an exited --rm container whose removal a crash cut short is removed when the daemon starts', async () => {
    const id = await run('--rm', 'busybox', 'sleep', '1000');
    await d.stop('SIGKILL');
    // what a crash between the exit's record and the removal leaves: the record says exited
    const recordPath = join(d.root, 'containers', id, 'config.v2.json');
    const record = JSON.parse(await readFile(recordPath, 'utf8')) as { State: Record<string, unknown> };
    record.State = { ...record.State, Status: 'exited', Running: false, Pid: 0, ExitCode: 0 };
    await writeFile(recordPath, JSON.stringify(record));
    // the container itself still runs under its shim: gone with the removal's kill
    await d.start();
    await until('removed', async () => (await d.docker('inspect', id)).code !== 0);
  });

  it('a start a crash cut short before its record said running is undone when the daemon starts', async () => {
    const id = await run('busybox', 'sleep', '1000');
    const pid = Number(await field(id, '{{.State.Pid}}'));
    await d.stop('SIGKILL');
    // what a crash between the runtime's start and the record's save leaves: the record says created
    const recordPath = join(d.root, 'containers', id, 'config.v2.json');
    const record = JSON.parse(await readFile(recordPath, 'utf8')) as { State: Record<string, unknown> };
    record.State = { ...record.State, Status: 'created', Running: false, Pid: 0 };
    await writeFile(recordPath, JSON.stringify(record));
    const rootfs = join(d.root, 'containers', id, 'rootfs');
    const mounts = async (): Promise<number> => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.split(' ')[4] === rootfs).length;
    assert.equal(await mounts(), 1);
    await d.start();
    assert.equal(await mounts(), 0, 'the rootfs of the cut-short start is unmounted');
    await until('its init gone', async () => !existsSync(`/proc/${pid}`));
    assert.equal(await field(id, '{{.State.Status}}'), 'created');
    // and it starts as any created container: one rootfs mount, gone with the removal
    assert.equal((await d.docker('start', id)).code, 0);
    assert.equal(await mounts(), 1);
    assert.equal((await d.docker('rm', '-f', id)).code, 0);
    await until('rootfs unmounted', async () => (await mounts()) === 0);
  });

  it('a container layer whose container is gone (a removal a crash cut short) is removed at the next start', async () => {
    const created = await d.docker('create', 'busybox', 'true');
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout.trim();
    await d.stop('SIGKILL');
    // the record gone, the layer still listed: what an unsynced removal can leave after a host crash
    await rm(join(d.root, 'containers', id), { recursive: true, force: true });
    const metaPath = join(d.root, 'snapshots', 'metadata.json');
    const listed = async (): Promise<boolean> => `container-${id}` in (JSON.parse(await readFile(metaPath, 'utf8')) as { snapshots: Record<string, unknown> }).snapshots;
    assert.ok(await listed());
    await d.start();
    assert.equal(await listed(), false);
  });

  it('a container whose snapshot a crash kept from being written gets it at its first start', async () => {
    const created = await d.docker('create', 'busybox', 'echo', 'made');
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout.trim();
    await d.stop('SIGKILL');
    // create writes the record and the snapshot side by side: drop the snapshot, as a crash between the two would
    const metaPath = join(d.root, 'snapshots', 'metadata.json');
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as { snapshots: Record<string, unknown> };
    assert.ok(meta.snapshots[`container-${id}`], 'the snapshot was recorded');
    delete meta.snapshots[`container-${id}`];
    await writeFile(metaPath, JSON.stringify(meta));
    await d.start();
    const started = await d.docker('start', '-a', id);
    assert.equal(started.code, 0, started.stderr);
    assert.equal(started.stdout, 'made\n');
    assert.equal((await d.docker('rm', id)).code, 0);
  });

  it('a passing healthcheck makes the container healthy, in inspect and docker ps', async () => {
    const id = await run('--health-cmd', 'true', '--health-interval', '200ms', '--health-retries', '2', 'busybox', 'sleep', '1000');
    assert.match(await field(id, '{{.State.Health.Status}}'), /^(starting|healthy)$/);
    await until('healthy', async () => (await field(id, '{{.State.Health.Status}}')) === 'healthy');
    assert.equal(await field(id, '{{.State.Health.FailingStreak}}'), '0');
    const ps = await d.docker('ps', '--filter', `id=${id}`, '--format', '{{.Status}}');
    assert.match(ps.stdout, /^Up .* \(healthy\)$/m);
    assert.equal((await d.docker('rm', '-f', id)).code, 0);
  });

  it('a failing healthcheck turns the container unhealthy after its retries, keeping the last five results', async () => {
    const id = await run('--health-cmd', 'echo sick; exit 1', '--health-interval', '200ms', '--health-retries', '2', 'busybox', 'sleep', '1000');
    await until('unhealthy', async () => (await field(id, '{{.State.Health.Status}}')) === 'unhealthy');
    await until('a full log', async () => Number(await field(id, '{{len .State.Health.Log}}')) === 5);
    const state = JSON.parse(await field(id, '{{json .State.Health}}')) as { FailingStreak: number; Log: Array<{ ExitCode: number; Output: string }> };
    assert.ok(state.FailingStreak >= 5, `streak ${state.FailingStreak}`);
    assert.equal(state.Log.length, 5);
    assert.equal(state.Log[0]!.ExitCode, 1);
    assert.equal(state.Log[0]!.Output, 'sick\n');
    const ps = await d.docker('ps', '--filter', `id=${id}`, '--format', '{{.Status}}');
    assert.match(ps.stdout, /^Up .* \(unhealthy\)$/m);
    assert.equal((await d.docker('rm', '-f', id)).code, 0);
  });
});
