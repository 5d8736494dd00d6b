/**
 * `--ipc`, `--pid`, `--uts` and the pause-container pattern through the real docker CLI (v28)
 * against berthd: a shareable container's IPC namespace (SysV segments and /dev/shm) is shared
 * with its joiners and not with others, `--pid container:` sees the other's processes, the host
 * modes see the host's, and a pause container owning net/ipc/pid with a published port serves
 * an httpd that joined it, to a third container over localhost and to the host via 127.0.0.1.
 * Traffic goes only to 127.0.0.1. Runs as root with its own bridge, CNI prefix and netns dir.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { request } from 'node:http';
import { run } from '../../../src/network/exec.ts';
import { TestDaemon, mountsUnder } from './helpers.ts';
import { cniPluginsPresent, NetworkTestEnv } from './network-env.ts';

const root = process.getuid?.() === 0;
const skip = !root ? 'needs root' : !cniPluginsPresent ? 'needs containernetworking-plugins' : false;

const env = new NetworkTestEnv('bn', { pool: true });
const { tag } = env;
const daemonArgs = env.daemonArgs;

let d: TestDaemon;

async function docker(...args: string[]): Promise<string> {
  const r = await d.docker(...args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** What a short-lived container printed, read from its log once it exited (as network.test.ts). */
async function output(...args: string[]): Promise<string> {
  const id = (await docker('run', '-d', ...args)).trim();
  try {
    assert.equal((await docker('wait', id)).trim(), '0', await d.docker('logs', id).then((r) => r.stdout + r.stderr));
    return await docker('logs', id);
  } finally {
    await d.docker('rm', '-f', id);
  }
}

async function inspect(ref: string): Promise<Record<string, any>> {
  return (JSON.parse(await docker('inspect', ref)) as Array<Record<string, any>>)[0]!;
}

function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function getWhenUp(port: number): Promise<{ status: number; body: string }> {
  for (let i = 0; ; i++) {
    try {
      return await get(port);
    } catch (err) {
      if (i > 30) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('namespace modes against berthd', { skip, concurrency: false }, () => {
  before(async () => {
    await env.record();
    d = await TestDaemon.create();
    await d.start(daemonArgs);
  });

  after(async () => {
    if (d !== undefined) await env.restore(d);
  });

  it('--ipc shareable and container: share the IPC namespace, its SysV segments and /dev/shm', async () => {
    await docker('run', '-d', '--name', 'ipcowner', '--ipc', 'shareable', 'busybox', 'sh', '-c', 'echo from-owner > /dev/shm/note && exec sleep 600');
    const owner = await inspect('ipcowner');
    assert.equal(owner.HostConfig.IpcMode, 'shareable');
    const ownerNs = readlinkSync(`/proc/${owner.State.Pid}/ns/ipc`);
    assert.notEqual(ownerNs, readlinkSync('/proc/self/ns/ipc'));
    // a SysV segment made in the owner's namespace (util-linux ipcmk, from the host)
    const { stdout: made } = await run('nsenter', ['-t', String(owner.State.Pid), '--ipc', 'ipcmk', '-M', '4096']);
    const shmid = /id: (\d+)/.exec(made)?.[1];
    assert.ok(shmid !== undefined, made);
    const script = 'readlink /proc/self/ns/ipc; for i in 1 2 3 4 5 6 7 8 9 10; do [ -f /dev/shm/note ] && break; sleep 0.1; done; cat /dev/shm/note; awk \'NR>1 {print $2}\' /proc/sysvipc/shm; echo from-joiner > /dev/shm/back';
    const joined = (await output('--ipc', 'container:ipcowner', 'busybox', 'sh', '-c', script)).trim().split('\n');
    assert.equal(joined[0], ownerNs);
    assert.equal(joined[1], 'from-owner');
    assert.ok(joined.slice(2).includes(shmid), joined.join('\n'));
    // and the other way: what the joiner wrote is in the owner's /dev/shm
    assert.equal((await docker('exec', 'ipcowner', 'cat', '/dev/shm/back')).trim(), 'from-joiner');

    // a private container has neither
    const other = (await output('busybox', 'sh', '-c', 'readlink /proc/self/ns/ipc; ls /dev/shm; awk \'NR>1 {print $2}\' /proc/sysvipc/shm')).trim().split('\n');
    assert.notEqual(other[0], ownerNs);
    assert.deepEqual(other.slice(1), []);
    assert.equal((await inspect(await docker('create', 'busybox', 'true').then((s) => s.trim()))).HostConfig.IpcMode, 'private');

    // a private container cannot be joined; a stopped one neither (Docker's wording)
    await docker('run', '-d', '--name', 'ipcprivate', 'busybox', 'sleep', '600');
    const privateId = (await inspect('ipcprivate')).Id as string;
    const refused = await d.docker('run', '--rm', '--ipc', 'container:ipcprivate', 'busybox', 'true');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, new RegExp(`container ${privateId}: non-shareable IPC \\(hint: use IpcMode:shareable for the donor container\\)`));
    await docker('stop', '-t', '0', 'ipcprivate');
    const stopped = await d.docker('run', '--rm', '--pid', 'container:ipcprivate', 'busybox', 'true');
    assert.match(stopped.stderr, new RegExp(`container ${privateId} is not running`));
    const invalid = await d.docker('run', '--rm', '--uts', 'private', 'busybox', 'true');
    assert.notEqual(invalid.code, 0);

    // the owner's /dev/shm is a host mount while it runs, and gone after
    const shm = `${d.root}/containers/${owner.Id}/mounts/shm`;
    assert.deepEqual(await mountsUnder(shm), [shm]);
    await docker('stop', '-t', '0', 'ipcowner');
    assert.deepEqual(await mountsUnder(shm), []);
    await docker('rm', 'ipcowner', 'ipcprivate');
  });

  it('--pid container: sees the other\'s processes; --pid host, --uts host and --ipc host are the host\'s; --ipc none has no /dev/shm', async () => {
    await docker('run', '-d', '--name', 'pidowner', 'busybox', 'sleep', '4242');
    const owner = await inspect('pidowner');
    const ps = await output('--pid', 'container:pidowner', 'busybox', 'ps', '-o', 'pid,args');
    assert.match(ps, /^\s*1\s+sleep 4242$/m);
    assert.equal((await inspect(await docker('create', '--pid', 'container:pidowner', 'busybox', 'true').then((s) => s.trim()))).HostConfig.PidMode, 'container:pidowner');
    assert.doesNotMatch(await output('busybox', 'ps', '-o', 'args'), /sleep 4242/);
    await docker('rm', '-f', 'pidowner');
    assert.ok(owner.State.Pid > 0);

    const host = (await output('--pid', 'host', 'busybox', 'sh', '-c', 'readlink /proc/self/ns/pid; cat /proc/1/comm')).trim().split('\n');
    assert.deepEqual(host, [readlinkSync('/proc/self/ns/pid'), (await readFile('/proc/1/comm', 'utf8')).trim()]);
    const uts = (await output('--uts', 'host', 'busybox', 'sh', '-c', 'readlink /proc/self/ns/uts; hostname')).trim().split('\n');
    assert.deepEqual(uts, [readlinkSync('/proc/self/ns/uts'), hostname()]);
    const own = (await output('busybox', 'readlink', '/proc/self/ns/uts')).trim();
    assert.notEqual(own, readlinkSync('/proc/self/ns/uts'));

    // --ipc host: the host's IPC namespace and its /dev/shm
    const note = `/dev/shm/berth-ns-test-${tag}`;
    await writeFile(note, 'from-host\n');
    try {
      const ipc = (await output('--ipc', 'host', 'busybox', 'sh', '-c', `readlink /proc/self/ns/ipc; cat ${note}`)).trim().split('\n');
      assert.deepEqual(ipc, [readlinkSync('/proc/self/ns/ipc'), 'from-host']);
    } finally {
      await rm(note, { force: true });
    }
    // --ipc none: an IPC namespace of its own and no /dev/shm mount
    const none = (await output('--ipc', 'none', 'busybox', 'sh', '-c', 'readlink /proc/self/ns/ipc; grep -c " /dev/shm " /proc/self/mountinfo || true')).trim().split('\n');
    assert.notEqual(none[0], readlinkSync('/proc/self/ns/ipc'));
    assert.equal(none[1], '0');
  });

  it('the pause-container pattern: httpd and a client join a pause container\'s net/ipc/pid; its published port reaches httpd', async () => {
    await docker('run', '-d', '--name', 'pause', '--ipc', 'shareable', '-p', '127.0.0.1:0:80', 'busybox', 'sleep', '3600');
    const join = ['--network', 'container:pause', '--ipc', 'container:pause', '--pid', 'container:pause'];
    await docker('run', '-d', '--name', 'web', ...join, 'busybox', 'sh', '-c', 'mkdir -p /www && echo "served by web" > /www/index.html && exec httpd -f -p 80 -h /www');
    const pause = await inspect('pause');
    const port = Number(pause.NetworkSettings.Ports['80/tcp'][0].HostPort);
    const script = [
      'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do wget -qO- http://127.0.0.1:80/ && break; sleep 0.2; done',
      'ps -o args | grep -c "^sleep 3600$"',
      'ps -o args | grep -c "^httpd -f -p 80"',
      'for ns in net ipc pid; do readlink /proc/self/ns/$ns; done',
    ].join('; ');
    const out = (await output(...join, 'busybox', 'sh', '-c', script)).trim().split('\n');
    assert.equal(out[0], 'served by web');
    assert.deepEqual(out.slice(1, 3), ['1', '1']);
    assert.deepEqual(out.slice(3), [readlinkSync(`/proc/${pause.State.Pid}/ns/net`), readlinkSync(`/proc/${pause.State.Pid}/ns/ipc`), readlinkSync(`/proc/${pause.State.Pid}/ns/pid`)]);
    const page = await getWhenUp(port);
    assert.deepEqual(page, { status: 200, body: 'served by web\n' });
    const web = await inspect('web');
    assert.equal(web.HostConfig.NetworkMode, 'container:pause');
    assert.equal(web.HostConfig.IpcMode, 'container:pause');
    assert.equal(web.HostConfig.PidMode, 'container:pause');
    await docker('rm', '-f', 'web', 'pause');
    await assert.rejects(get(port));
  });
});
