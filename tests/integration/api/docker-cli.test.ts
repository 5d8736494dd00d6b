/**
 * berthd end to end through the real docker CLI (v28) on a private socket: version
 * negotiation, info, foreground and detached runs, ps/inspect/logs/stop/rm, Docker's error
 * texts and exit codes, malformed API input, and a daemon restart that loses nothing.
 * Runs as root; leaves no containers, mounts or cgroups behind.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { TestDaemon, leftoverCgroups, mountsUnder } from './helpers.ts';

let d: TestDaemon;
const created = new Set<string>();

function ids(): Promise<string[]> {
  return d.containerIds();
}

before(async () => {
  d = await TestDaemon.create();
  await d.start();
});

after(() => d.removeAllAndCheck(created));

async function inspect(ref: string): Promise<Record<string, any>> {
  const r = await d.docker('inspect', ref);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as Array<Record<string, any>>)[0]!;
}

describe('docker CLI against berthd', () => {
  it('docker version shows both Client and Server, negotiated down to our API', async () => {
    const r = await d.docker('version');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Client:/m);
    assert.match(r.stdout, /^Server: Berth Engine$/m);
    assert.match(r.stdout, /API version:\s+1\.51 \(minimum version 1\.24\)/);
    assert.match(r.stdout, /Go version:\s+node v\d+/);
    const json = JSON.parse((await d.docker('version', '--format', '{{json .Server}}')).stdout);
    assert.equal(json.ApiVersion, '1.51');
    assert.equal(json.Os, 'linux');
  });

  it('docker info prints the daemon facts', async () => {
    const r = await d.docker('info');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Server Version: 0\.1\.0/);
    assert.match(r.stdout, /Storage Driver: overlay2/);
    assert.match(r.stdout, /Cgroup Driver: cgroupfs/);
    assert.match(r.stdout, /Cgroup Version: [12]/);
    assert.match(r.stdout, new RegExp(`Docker Root Dir: ${d.root}`));
    assert.match(r.stdout, /Images: 1/);
    const info = JSON.parse((await d.docker('info', '--format', '{{json .}}')).stdout);
    assert.equal(info.OSType, 'linux');
    assert.ok(info.NCPU > 0 && info.MemTotal > 0);
  });

  it('docker run --rm busybox echo hi prints hi, exits 0 and removes the container', async () => {
    const before = await ids();
    const r = await d.docker('run', '--rm', 'busybox', 'echo', 'hi');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    assert.deepEqual(await ids(), before);
  });

  it('foreground output is complete even when --rm removes the container at once', async () => {
    // regression: the removal used to delete the output files before the attach had drained them
    for (let i = 0; i < 8; i++) {
      const r = await d.docker('run', '--rm', 'busybox', 'sh', '-c', `echo line-${i}; echo err-${i} >&2`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `line-${i}\n`);
      assert.equal(r.stderr, `err-${i}\n`);
    }
  });

  it('logs -f follows until the exit, --tail cuts', async () => {
    const id = (await d.docker('run', '-d', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo $i; sleep 0.2; done')).stdout.trim();
    created.add(id);
    const follow = await d.docker('logs', '-f', id);
    assert.equal(follow.stdout, '1\n2\n3\n');
    assert.equal((await d.docker('logs', '--tail', '1', id)).stdout, '3\n');
    assert.equal((await d.docker('wait', id)).stdout.trim(), '0');
    assert.equal((await d.docker('rm', id)).code, 0);
  });

  it("a container's exit code is docker run's", async () => {
    const r = await d.docker('run', '--name', 'three', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3');
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    const info = await inspect('three');
    created.add(info.Id);
    assert.equal(info.State.Status, 'exited');
    assert.equal(info.State.ExitCode, 3);
    const ps = await d.docker('ps', '-a', '--filter', 'name=three', '--format', '{{.Status}}');
    assert.match(ps.stdout, /^Exited \(3\) /);
    assert.equal((await d.docker('rm', 'three')).code, 0);
  });

  it('runs the container in its own namespaces with Docker defaults', async () => {
    const r = await d.docker('run', '--rm', 'busybox', 'sh', '-c', 'hostname; cat /etc/hostname; grep CapBnd /proc/self/status; ip -o addr | wc -l; id -u; grep Seccomp: /proc/self/status; cat /proc/kcore | wc -c');
    assert.equal(r.code, 0, r.stderr);
    const [hostname, etcHostname, capBnd, addrs, uid, seccomp, kcore] = r.stdout.trim().split('\n');
    assert.match(hostname!, /^[0-9a-f]{12}$/);
    assert.equal(etcHostname, hostname);
    // Docker's 14 default capabilities
    assert.equal(capBnd, 'CapBnd:\t00000000a80425fb');
    // --network none: loopback only (inet + inet6)
    assert.equal(addrs, '2');
    assert.equal(uid, '0');
    // masked /proc paths read as empty
    assert.equal(kcore!.trim(), '0');
    // filter mode when the daemon found a default profile, as `docker info` says
    const info = JSON.parse((await d.docker('info', '--format', '{{json .SecurityOptions}}')).stdout) as string[];
    assert.equal(seccomp, info.some((o) => o.startsWith('name=seccomp')) ? 'Seccomp:\t2' : 'Seccomp:\t0');
  });

  it('detached: ps lines up, inspect, logs, stop and rm', async () => {
    const run = await d.docker('run', '-d', '--name', 'sleeper', '--label', 'tier=test', 'busybox', 'sh', '-c', 'echo to-out; echo to-err >&2; exec sleep 30');
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    created.add(id);
    assert.match(id, /^[0-9a-f]{64}$/);

    const ps = await d.docker('ps');
    const [header, ...rows] = ps.stdout.trimEnd().split('\n');
    const row = rows.find((l) => l.endsWith('sleeper'));
    assert.ok(row, ps.stdout);
    for (const column of ['IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'NAMES']) {
      const at = header!.indexOf(column);
      assert.ok(at > 0, column);
      assert.equal(row[at - 1], ' ', `${column} starts at the header's column`);
      assert.notEqual(row[at], ' ', `${column} starts at the header's column`);
    }
    assert.ok(row.startsWith(id.slice(0, 12)));
    assert.match(row, /\bbusybox\b/);
    assert.match(row, /Up (Less than a second|\d+ seconds?)/);
    const filtered = await d.docker('ps', '-q', '--filter', 'label=tier=test');
    assert.equal(filtered.stdout.trim(), id.slice(0, 12));

    const info = await inspect('sleeper');
    assert.equal(info.Id, id);
    assert.equal(info.Name, '/sleeper');
    assert.equal(info.Path, 'sh');
    assert.equal(info.State.Status, 'running');
    assert.equal(info.State.Running, true);
    assert.ok(info.State.Pid > 0);
    assert.equal(info.Config.Hostname, id.slice(0, 12));
    assert.equal(info.Config.Labels.tier, 'test');
    assert.equal(info.HostConfig.NetworkMode, 'none');
    assert.equal(info.Driver, 'overlay2');
    // the init is really running, in namespaces of its own
    assert.ok(existsSync(`/proc/${info.State.Pid}`));
    assert.notEqual(readlinkSync(`/proc/${info.State.Pid}/ns/uts`), readlinkSync('/proc/self/ns/uts'));
    assert.match(readFileSync(`/proc/${info.State.Pid}/cmdline`, 'utf8'), /^sleep\x0030/);
    // by ID prefix too
    assert.equal((await inspect(id.slice(0, 8))).Id, id);

    const logs = await d.docker('logs', 'sleeper');
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout, 'to-out\n');
    assert.equal(logs.stderr, 'to-err\n');

    const started = Date.now();
    const stop = await d.docker('stop', '-t', '1', 'sleeper');
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(stop.stdout.trim(), 'sleeper');
    // sleep as PID 1 ignores SIGTERM: the SIGKILL after the timeout ends it
    assert.ok(Date.now() - started >= 900);
    const stopped = await inspect('sleeper');
    assert.equal(stopped.State.Running, false);
    assert.equal(stopped.State.ExitCode, 137);
    assert.deepEqual(leftoverCgroups(id), []);
    assert.deepEqual(await mountsUnder(d.root), []);

    const rm = await d.docker('rm', 'sleeper');
    assert.equal(rm.code, 0, rm.stderr);
    assert.ok(!(await ids()).includes(id));
  });

  it('pause, unpause, restart and rename', async () => {
    const id = (await d.docker('run', '-d', '--name', 'napper', 'busybox', 'sleep', '30')).stdout.trim();
    created.add(id);
    const pid = (await inspect(id)).State.Pid as number;
    assert.equal((await d.docker('pause', 'napper')).code, 0);
    let info = await inspect(id);
    assert.equal(info.State.Status, 'paused');
    assert.equal(info.State.Paused, true);
    const v1 = `/sys/fs/cgroup/freezer/berth/${id}/freezer.state`;
    if (existsSync(v1)) assert.equal(readFileSync(v1, 'utf8').trim(), 'FROZEN');
    else assert.equal(readFileSync(`/sys/fs/cgroup/berth/${id}/cgroup.freeze`, 'utf8').trim(), '1');
    assert.match((await d.docker('ps', '--format', '{{.Status}}', '--filter', 'name=napper')).stdout, /^Up .* \(Paused\)$/m);
    const again = await d.docker('pause', 'napper');
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`Container ${id} is already paused`));
    assert.equal((await d.docker('unpause', 'napper')).code, 0);
    assert.equal((await inspect(id)).State.Status, 'running');

    assert.equal((await d.docker('rename', 'napper', 'sleeper2')).code, 0);
    assert.equal((await inspect('sleeper2')).Id, id);
    assert.equal((await d.docker('inspect', 'napper')).code, 1);

    const restart = await d.docker('restart', '-t', '0', 'sleeper2');
    assert.equal(restart.code, 0, restart.stderr);
    info = await inspect(id);
    assert.equal(info.State.Running, true);
    assert.notEqual(info.State.Pid, pid);
    assert.ok(!existsSync(`/proc/${pid}`));

    // rm -f of a paused container thaws it to kill it
    assert.equal((await d.docker('pause', id)).code, 0);
    const rm = await d.docker('rm', '-f', id);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(leftoverCgroups(id), []);
  });

  it('rm of a running container needs -f', async () => {
    const id = (await d.docker('run', '-d', 'busybox', 'sleep', '30')).stdout.trim();
    created.add(id);
    const rm = await d.docker('rm', id);
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /Error response from daemon: cannot remove container "\/[a-z_0-9]+": container is running: stop the container before removing or force remove/);
    const force = await d.docker('rm', '-f', id);
    assert.equal(force.code, 0, force.stderr);
    assert.ok(!(await ids()).includes(id));
    assert.deepEqual(leftoverCgroups(id), []);
  });

  it("a taken name is docker's conflict error and exit code 125", async () => {
    const first = await d.docker('create', '--name', 'dup', 'busybox', 'true');
    assert.equal(first.code, 0, first.stderr);
    const id = first.stdout.trim();
    created.add(id);
    const second = await d.docker('run', '--name', 'dup', 'busybox', 'true');
    assert.equal(second.code, 125);
    assert.match(
      second.stderr,
      new RegExp(`^docker: Error response from daemon: Conflict\\. The container name "/dup" is already in use by container "${id}"\\. You have to remove \\(or rename\\) that container to be able to reuse that name\\.$`, 'm'),
    );
    assert.equal((await d.docker('rm', 'dup')).code, 0);
  });

  it('an unknown container is "No such container"', async () => {
    for (const verb of [['rm'], ['stop'], ['kill'], ['logs']]) {
      const r = await d.docker(...verb, 'nosuch');
      assert.equal(r.code, 1, verb.join(' '));
      assert.equal(r.stderr.trim(), 'Error response from daemon: No such container: nosuch', verb.join(' '));
    }
  });

  it('a command that does not exist exits 127, like docker', async () => {
    const r = await d.docker('run', '--rm', 'busybox', 'nosuchcommand');
    assert.equal(r.code, 127);
    assert.match(r.stderr, /executable file not found in \$PATH/);
  });

  it('an unknown image is 404 "No such image" from the API', async () => {
    const r = await d.api('POST', '/v1.51/containers/create', JSON.stringify({ Image: 'nosuch' }), { 'Content-Type': 'application/json' });
    assert.equal(r.status, 404);
    assert.deepEqual(JSON.parse(r.body), { message: 'No such image: nosuch:latest' });
  });

  it('malformed JSON is a 400 with Go wording, and the daemon keeps serving', async () => {
    const r = await d.api('POST', '/v1.51/containers/create', '{"Image": busybox}', { 'Content-Type': 'application/json' });
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), { message: "invalid JSON: invalid character 'b' looking for beginning of value" });
    const unknown = await d.api('GET', '/v1.51/no/such/route');
    assert.equal(unknown.status, 404);
    assert.deepEqual(JSON.parse(unknown.body), { message: 'page not found' });
    const ping = await d.api('GET', '/_ping');
    assert.equal(ping.status, 200);
    assert.equal(ping.body, 'OK');
    assert.equal(ping.headers['api-version'], '1.51');
  });

  it('-t gives the container its pty as /dev/console (the OCI spec\'s console)', async () => {
    const r = await d.docker('run', '--rm', '-t', 'busybox', 'sh', '-c', 'stat -c %t:%T /dev/console; stat -c %t:%T $(tty)');
    assert.equal(r.code, 0, r.stderr);
    const [console_, tty] = r.stdout.trim().split(/\r?\n/);
    assert.equal(console_, tty);
    const plain = await d.docker('run', '--rm', 'busybox', 'ls', '/dev/console');
    assert.notEqual(plain.code, 0, 'no terminal, no /dev/console');
  });

  it('a container records Docker\'s default /dev/shm size; a negative one is refused', async () => {
    const id = (await d.docker('create', 'busybox', 'true')).stdout.trim();
    created.add(id);
    assert.equal((await inspect(id)).HostConfig.ShmSize, 64 * 1024 * 1024);
    assert.equal((await d.docker('rm', id)).code, 0);
    const r = await d.api('POST', '/v1.51/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { ShmSize: -1 } }), { 'Content-Type': 'application/json' });
    assert.equal(r.status, 400);
    assert.match(r.body, /SHM size can not be less than 0/);
  });

  it('without networking (--bridge none) the host and none networks are listed, and prune works', async () => {
    const ls = await d.docker('network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}');
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(ls.stdout.trim().split('\n').sort(), ['host host local', 'none null local']);
    const none = await d.docker('network', 'inspect', '--format', '{{.Name}} {{.Driver}} {{len .IPAM.Config}}', 'none');
    assert.equal(none.stdout.trim(), 'none null 0', none.stderr);
    const rm = await d.docker('network', 'rm', 'host');
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /host is a pre-defined network and cannot be removed/);
    const create = await d.docker('network', 'create', 'extra');
    assert.notEqual(create.code, 0);
    assert.match(create.stderr, /runs without networking/);
    const prune = await d.docker('system', 'prune', '-f');
    assert.equal(prune.code, 0, prune.stderr);
  });

  it('a restarted daemon finds its running containers and their exits', async () => {
    const id = (await d.docker('run', '-d', '--name', 'survivor', 'busybox', 'sh', '-c', 'echo before; exec sleep 30')).stdout.trim();
    created.add(id);
    const pid = (await inspect(id)).State.Pid as number;
    const goner = (await d.docker('run', '-d', 'busybox', 'sleep', '30')).stdout.trim();
    created.add(goner);
    const gonerPid = (await inspect(goner)).State.Pid as number;
    await d.stop('SIGKILL');
    assert.ok(existsSync(`/proc/${pid}`), 'the container outlives the daemon');
    // this one ends while no daemon is watching: its monitor's exit file keeps the status
    process.kill(gonerPid, 'SIGKILL');
    while (existsSync(`/proc/${gonerPid}`)) await new Promise((r) => setTimeout(r, 10));
    await d.start();
    const gone = await inspect(goner);
    assert.equal(gone.State.Status, 'exited');
    assert.equal(gone.State.ExitCode, 137);
    assert.deepEqual(leftoverCgroups(goner), []);
    assert.equal((await d.docker('rm', goner)).code, 0);
    const ps = await d.docker('ps', '--filter', 'name=survivor', '--format', '{{.ID}} {{.Status}}');
    assert.match(ps.stdout, new RegExp(`^${id.slice(0, 12)} Up `));
    assert.equal((await d.docker('logs', 'survivor')).stdout, 'before\n');
    // the exit is learned from the exit file, without the shim's socket
    const kill = await d.docker('kill', 'survivor');
    assert.equal(kill.code, 0, kill.stderr);
    const wait = await d.docker('wait', 'survivor');
    assert.equal(wait.stdout.trim(), '137');
    assert.equal((await inspect(id)).State.Running, false);
    assert.equal((await d.docker('rm', 'survivor')).code, 0);
    assert.deepEqual(leftoverCgroups(id), []);
  });
});
