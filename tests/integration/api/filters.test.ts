/**
 * What berthd answers where the real docker CLI (v28) filters, sizes and clears an entrypoint,
 * compared with what Docker's daemon answers: `ps --filter` exited, ancestor, before/since,
 * volume, network, publish/expose, is-task and isolation (and moby's refusals); `image prune
 * --filter until/label/label!` and `images --filter`; `ps -s` and `inspect --size` with bytes
 * really written; `run --entrypoint ''`. With networking when the CNI plugins are here (the
 * network and port filters need it); leaves no container, image, volume or network behind.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestDaemon } from './helpers.ts';
import { cniPluginsPresent, NetworkTestEnv } from './network-env.ts';

const env = cniPluginsPresent ? new NetworkTestEnv('bf') : undefined;
let d: TestDaemon;

before(async () => {
  d = await TestDaemon.create();
  if (env !== undefined) {
    await env.record();
    await d.start(env.daemonArgs);
  } else {
    console.log('# no containernetworking-plugins: the network, publish and expose filters are not exercised');
    await d.start();
  }
});

after(async () => {
  if (d === undefined) return;
  if (env !== undefined) {
    await env.restore(d);
    return;
  }
  await d.removeAllAndCheck(new Set());
});

async function ok(...args: string[]): Promise<string> {
  const r = await d.docker(...args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The names `ps` lists with these arguments, newest first. */
async function names(...args: string[]): Promise<string[]> {
  return (await ok('ps', '--format', '{{.Names}}', ...args)).split('\n').filter(Boolean);
}

async function refused(args: string[], said: string | RegExp): Promise<void> {
  const r = await d.docker(...args);
  assert.notEqual(r.code, 0, `docker ${args.join(' ')} succeeded: ${r.stdout}`);
  if (typeof said === 'string') assert.equal(r.stderr.trim(), `Error response from daemon: ${said}`);
  else assert.match(r.stderr, said);
}

describe('docker ps --filter', { concurrency: false }, () => {
  const created: string[] = [];
  let childImage = '';

  before(async () => {
    // oldest first: three (exit 3), zero (exit 0), up (running), fresh (created), kid (another image)
    assert.equal((await d.docker('run', '--name', 'three', '-v', 'filtvol:/data', 'busybox', 'sh', '-c', 'exit 3')).code, 3);
    await ok('run', '--name', 'zero', 'busybox', 'true');
    await ok('run', '-d', '--name', 'up', '--label', 'role=server', 'busybox', 'sleep', '300');
    await ok('create', '--name', 'fresh', 'busybox', 'true');
    childImage = (await ok('commit', 'zero', 'filt/child:1')).trim();
    await ok('create', '--name', 'kid', 'filt/child:1', 'true');
    created.push('three', 'zero', 'up', 'fresh', 'kid');
  });

  after(async () => {
    for (const name of created) await d.docker('rm', '-f', '-v', name);
    await d.docker('rmi', 'filt/child:1', 'filt/alias:1');
    await d.docker('volume', 'rm', 'filtvol');
  });

  it('exited: stopped containers that ran and exited with that code (with -a, as in moby)', async () => {
    assert.deepEqual(await names('-a', '--filter', 'exited=3'), ['three']);
    assert.deepEqual(await names('-a', '--filter', 'exited=0', '--filter', 'exited=3'), ['zero', 'three']);
    // a created container never ran: not exited=0; and without -a stopped ones are not listed
    assert.deepEqual(await names('-a', '--filter', 'exited=0'), ['zero']);
    assert.deepEqual(await names('--filter', 'exited=0'), []);
    await refused(['ps', '--filter', 'exited=x'], `invalid filter 'exited=x': strconv.Atoi: parsing "x": invalid syntax`);
  });

  it('ancestor: by name, name:tag, ID and ID prefix; an unknown image matches nothing', async () => {
    const busybox = (await ok('image', 'inspect', '--format', '{{.Id}}', 'busybox')).trim();
    await ok('tag', 'busybox', 'filt/alias:1');
    const ofBusybox = ['fresh', 'up', 'zero', 'three'];
    assert.deepEqual(await names('-a', '--filter', 'ancestor=busybox'), ofBusybox);
    assert.deepEqual(await names('-a', '--filter', 'ancestor=busybox:latest'), ofBusybox);
    assert.deepEqual(await names('-a', '--filter', 'ancestor=filt/alias:1'), ofBusybox);
    assert.deepEqual(await names('-a', '--filter', `ancestor=${busybox}`), ofBusybox);
    assert.deepEqual(await names('-a', '--filter', `ancestor=${busybox.replace('sha256:', '').slice(0, 12)}`), ofBusybox);
    assert.deepEqual(await names('-a', '--filter', 'ancestor=filt/child:1'), ['kid']);
    assert.deepEqual(await names('-a', '--filter', `ancestor=${childImage.replace('sha256:', '').slice(0, 12)}`), ['kid']);
    assert.deepEqual(await names('-a', '--filter', 'ancestor=nothing:here'), []);
    assert.deepEqual(await names('--filter', 'ancestor=busybox'), ['up']);
  });

  it('before and since: by name or ID, newest first', async () => {
    const upId = (await ok('inspect', '--format', '{{.Id}}', 'up')).trim();
    assert.deepEqual(await names('-a', '--filter', 'before=up'), ['zero', 'three']);
    assert.deepEqual(await names('-a', '--filter', `before=${upId}`), ['zero', 'three']);
    assert.deepEqual(await names('-a', '--filter', 'since=up'), ['kid', 'fresh']);
    assert.deepEqual(await names('-a', '--filter', 'since=three', '--filter', 'before=fresh'), ['up', 'zero']);
    // without -a only running ones, as moby lists them
    assert.deepEqual(await names('--filter', 'before=fresh'), ['up']);
    await refused(['ps', '--filter', 'before=nobody'], 'No such container: nobody');
  });

  it('volume: by volume name or mount destination', async () => {
    assert.deepEqual(await names('-a', '--filter', 'volume=filtvol'), ['three']);
    assert.deepEqual(await names('-a', '--filter', 'volume=/data'), ['three']);
    assert.deepEqual(await names('-a', '--filter', 'volume=/elsewhere'), []);
  });

  it('is-task, isolation, label, and refusals in moby words', async () => {
    assert.deepEqual(await names('-a', '--filter', 'is-task=true'), []);
    assert.deepEqual(await names('--filter', 'is-task=false'), ['up']);
    assert.deepEqual(await names('--filter', 'isolation=default'), ['up']);
    assert.deepEqual(await names('-a', '--filter', 'label=role=server'), ['up']);
    await refused(['ps', '--filter', 'is-task=maybe'], "invalid filter 'is-task=maybe'");
    await refused(['ps', '--filter', 'bogus=1'], "invalid filter 'bogus'");
    await refused(['ps', '--filter', 'label!=role'], "invalid filter 'label!'");
    await refused(['ps', '--filter', 'status=gone'], "invalid filter 'status=gone': invalid value for state (gone): must be one of created, running, paused, restarting, removing, exited, dead");
    await refused(['ps', '--filter', 'publish=1:2'], "filter for 'publish' should not contain ':': 1:2");
  });

  it('network, publish and expose', { skip: env === undefined ? 'needs containernetworking-plugins' : false }, async () => {
    await ok('run', '-d', '--name', 'pub', '-p', '127.0.0.1:0:80', '--expose', '7000', 'busybox', 'sleep', '300');
    created.push('pub');
    const port = (await ok('inspect', '--format', '{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}', 'pub')).trim();
    assert.match(port, /^\d+$/);
    const networkId = (await ok('network', 'inspect', '--format', '{{.Id}}', 'bridge')).trim();
    assert.deepEqual(await names('--filter', `publish=${port}`), ['pub']);
    assert.deepEqual(await names('--filter', `publish=${port}/tcp`), ['pub']);
    assert.deepEqual(await names('--filter', `publish=${port}/udp`), []);
    assert.deepEqual(await names('--filter', 'expose=80'), ['pub']);
    assert.deepEqual(await names('--filter', 'expose=6990-7010/tcp'), ['pub']);
    assert.deepEqual(await names('--filter', 'expose=81'), []);
    assert.deepEqual(await names('--filter', 'network=bridge'), ['pub', 'up']);
    assert.deepEqual(await names('--filter', `network=${networkId.slice(0, 12)}`), ['pub', 'up']);
    assert.deepEqual(await names('--filter', 'network=host'), []);
  });
});

describe('docker image prune and docker images --filter', { concurrency: false }, () => {
  const made: string[] = [];

  after(async () => {
    for (const name of made) await d.docker('rm', '-f', name);
    await d.docker('image', 'prune', '-f');
    await d.docker('rmi', 'filt/labelled:1');
  });

  /** A fresh dangling image (commit without a name), with `changes` applied. */
  async function danglingImage(...changes: string[]): Promise<string> {
    const name = `src-${made.length}`;
    await ok('create', '--name', name, 'busybox', 'true');
    made.push(name);
    return (await ok('commit', ...changes.flatMap((c) => ['--change', c]), name)).trim();
  }

  async function exists(id: string): Promise<boolean> {
    return (await d.docker('image', 'inspect', id)).code === 0;
  }

  it('until keeps what is newer than the cutoff and prunes what is older', async () => {
    const id = await danglingImage();
    const kept = await ok('image', 'prune', '-f', '--filter', 'until=1h');
    assert.ok(!kept.includes(id), kept);
    assert.ok(await exists(id));
    await new Promise((r) => setTimeout(r, 1100));
    const pruned = await ok('image', 'prune', '-f', '--filter', 'until=1s');
    assert.ok(pruned.includes(`deleted: ${id}`), pruned);
    assert.ok(!(await exists(id)));
  });

  it('label and label! choose by the image config labels', async () => {
    const keep = await danglingImage('LABEL keep=yes');
    const drop = await danglingImage('LABEL drop=yes');
    await ok('image', 'prune', '-f', '--filter', 'label!=keep');
    assert.ok(await exists(keep));
    assert.ok(!(await exists(drop)));
    await ok('image', 'prune', '-f', '--filter', 'label=keep=no');
    assert.ok(await exists(keep));
    await ok('image', 'prune', '-f', '--filter', 'label=keep=yes');
    assert.ok(!(await exists(keep)));
    await refused(['image', 'prune', '-f', '--filter', 'bogus=1'], "invalid filter 'bogus'");
    await refused(['image', 'prune', '-f', '--filter', 'until=soon'], /failed to parse value as time or duration: "soon"/);
  });

  it('images --filter: dangling, label, before, since, reference, until', async () => {
    const dangling = await danglingImage('LABEL tier=x');
    await new Promise((r) => setTimeout(r, 1100));
    const labelled = await danglingImage('LABEL tier=y');
    await ok('tag', labelled, 'filt/labelled:1');
    const ids = async (...filters: string[]): Promise<string[]> => (await ok('images', '-q', '--no-trunc', ...filters.flatMap((f) => ['--filter', f]))).split('\n').filter(Boolean);
    assert.deepEqual(await ids('dangling=true'), [dangling]);
    assert.ok(!(await ids('dangling=false')).includes(dangling));
    assert.deepEqual(await ids('label=tier'), [labelled, dangling]);
    assert.deepEqual(await ids('label=tier=y'), [labelled]);
    assert.deepEqual(await ids('reference=filt/*'), [labelled]);
    assert.deepEqual(await ids('reference=filt/labelled:1'), [labelled]);
    assert.deepEqual(await ids('since=busybox', 'label=tier'), [labelled, dangling]);
    assert.deepEqual(await ids(`before=filt/labelled:1`, 'label=tier'), [dangling]);
    assert.deepEqual(await ids(`since=${dangling}`), [labelled]);
    assert.deepEqual(await ids('until=1h', 'label=tier'), []);
    await refused(['images', '--filter', 'bogus=1'], "invalid filter 'bogus'");
  });
});

describe('container sizes', { concurrency: false }, () => {
  after(async () => {
    await d.docker('rm', '-f', 'sized');
  });

  it('ps -s and inspect --size count the bytes the container wrote, and the image under them', async () => {
    await ok('run', '--name', 'sized', 'busybox', 'sh', '-c', 'printf hi > /written && head -c 5000 /dev/zero > /tmp/zeros');
    const imageSize = Number((await ok('image', 'inspect', '--format', '{{.Size}}', 'busybox')).trim());
    assert.ok(imageSize > 0);
    const [rw, rootfs] = (await ok('inspect', '--size', '--format', '{{.SizeRw}} {{.SizeRootFs}}', 'sized')).trim().split(' ').map(Number);
    assert.equal(rw, 5002);
    assert.equal(rootfs, 5002 + imageSize);
    const row = (await ok('ps', '-a', '-s', '--filter', 'name=sized', '--format', '{{.Size}}')).trim();
    assert.match(row, /^5kB \(virtual \d+(\.\d+)?[kM]B\)$/);
    // without --size, none are measured
    assert.equal((await ok('inspect', '--format', '{{.SizeRw}}', 'sized')).trim(), '<nil>');
  });
});

describe("docker run --entrypoint ''", { concurrency: false }, () => {
  it('runs the Cmd given, without the image entrypoint', async () => {
    assert.equal(await ok('run', '--rm', '--entrypoint', '', 'busybox', 'echo', 'ok'), 'ok\n');
  });

  it('with no Cmd either, refuses as Docker does', async () => {
    const r = await d.docker('run', '--rm', '--entrypoint', '', 'busybox');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no command specified/);
  });
});
