/**
 * The image half of the Engine API through the real docker CLI (v28) on a private berthd:
 * images (table, -q, --format, filters), image inspect, history, tag, rmi (and its refusal
 * while a container uses the image), save → rmi → load, import, image prune, system df,
 * pull and push against the loopback registries (plain, and htpasswd with the CLI's
 * X-Registry-Auth), and the API's error answers. Registries this file starts, it stops.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO, TestDaemon, mountsUnder } from './helpers.ts';

const run = promisify(execFile);
const REGISTRY = join(REPO, 'scripts/fixtures/registry.sh');
const PLAIN = '127.0.0.1:5000';
const HTPASSWD = '127.0.0.1:5001';

let d: TestDaemon;
const started: string[] = [];

async function registryRunning(instance: string): Promise<boolean> {
  // status exits non-zero when an instance is down
  const { stdout } = await run('bash', [REGISTRY, 'status', instance]).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }));
  return /\brunning\b/.test(stdout);
}

/** Starts a loopback registry instance (filled with busybox) unless it is already up. */
async function ensureRegistry(instance: string): Promise<void> {
  if (await registryRunning(instance)) return;
  await run('bash', [REGISTRY, 'start', instance], { timeout: 60_000 });
  started.push(instance);
  await run('bash', [REGISTRY, 'push', instance, 'busybox'], { timeout: 120_000 });
}

async function ok(...args: string[]): Promise<string> {
  const r = await d.docker(...args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function imageId(ref: string): Promise<string> {
  return (await ok('image', 'inspect', '--format', '{{.Id}}', ref)).trim();
}

before(async () => {
  d = await TestDaemon.create();
  await d.start();
});

after(async () => {
  try {
    await d.docker('rm', '-f', 'images-user');
    const left = (await d.docker('ps', '-aq')).stdout.trim();
    await d.stop();
    assert.equal(left, '', 'containers left behind');
    assert.deepEqual(await mountsUnder(d.dir), [], 'mounts left behind');
  } finally {
    await d.cleanup();
    for (const instance of started) await run('bash', [REGISTRY, 'stop', instance]).catch(() => undefined);
  }
});

describe('docker image commands against berthd', () => {
  it('docker images prints an aligned table, -q and --format', async () => {
    const table = (await ok('images')).split('\n').filter(Boolean);
    const header = table[0]!;
    assert.match(header, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    const row = table.find((l) => l.startsWith('busybox '));
    assert.ok(row, table.join('\n'));
    // columns line up: every field starts under its heading
    for (const [title, pattern] of [['TAG', /latest/], ['IMAGE ID', /[0-9a-f]{12}/], ['CREATED', /\S/], ['SIZE', /\d/]] as const) {
      const at = header.indexOf(title);
      assert.match(row.slice(at, at + 12), new RegExp(`^${pattern.source}`), `${title} column in\n${header}\n${row}`);
    }
    const id = await imageId('busybox');
    assert.equal((await ok('images', '-q')).trim(), id.slice('sha256:'.length, 'sha256:'.length + 12));
    assert.equal((await ok('images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}')).trim(), `busybox:latest ${id}`);
    const json = JSON.parse((await ok('images', '--format', '{{json .}}')).trim());
    assert.equal(json.Repository, 'busybox');
    assert.match(json.Size, /^\d+(\.\d+)?[kM]B$/);
  });

  it('docker image inspect and history show the image; unknown names are Docker’s 404', async () => {
    const [image] = JSON.parse(await ok('image', 'inspect', 'busybox')) as Array<Record<string, any>>;
    assert.match(image!['Id'], /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(image!['RepoTags'], ['busybox:latest']);
    assert.equal(image!['Os'], 'linux');
    assert.equal(image!['RootFS'].Type, 'layers');
    assert.ok(image!['Size'] > 0);
    const missing = await d.docker('image', 'inspect', 'nosuch-image');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No such image: nosuch-image/);
    const raw = await d.api('GET', '/v1.51/images/nosuch-image/json');
    assert.equal(raw.status, 404);
    assert.deepEqual(JSON.parse(raw.body), { message: 'No such image: nosuch-image' });

    const history = (await ok('history', 'busybox')).split('\n').filter(Boolean);
    assert.match(history[0]!, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
    assert.ok(history.length >= 2, history.join('\n'));
    assert.match(history[1]!, /^[0-9a-f]{12}|<missing>/);
  });

  it('docker tag adds a name, filters find it, docker rmi of one name only untags', async () => {
    await ok('tag', 'busybox', 'example.test/team/box:v1');
    const id = await imageId('busybox');
    assert.equal(await imageId('example.test/team/box:v1'), id);
    assert.equal((await ok('images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=example.test/team/*')).trim(), 'example.test/team/box:v1');
    assert.equal((await ok('images', '-q', '--filter', 'dangling=true')).trim(), '');
    const bad = await d.docker('images', '--filter', 'color=red');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid filter 'color'/);
    assert.equal((await ok('rmi', 'example.test/team/box:v1')).trim(), 'Untagged: example.test/team/box:v1');
    assert.equal(await imageId('busybox'), id);
    const gone = await d.docker('rmi', 'example.test/team/box:v1');
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /No such image: example.test\/team\/box:v1/);
  });

  it('docker rmi refuses an image a running container uses, unless forced', async () => {
    await ok('run', '-d', '--name', 'images-user', 'busybox', 'sleep', '60');
    const refused = await d.docker('rmi', 'busybox');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Error response from daemon: conflict: unable to remove repository reference "busybox:latest" \(must force\) - container [0-9a-f]{12} is using its referenced image [0-9a-f]{12}/);
    const raw = await d.api('DELETE', '/v1.51/images/busybox');
    assert.equal(raw.status, 409);
    assert.ok(await imageId('busybox'));
    await ok('rm', '-f', 'images-user');
  });

  it('docker save -o, rmi, load -i gives back the same image ID', async () => {
    const id = await imageId('busybox');
    const archive = join(d.dir, 'busybox.tar');
    await ok('save', '-o', archive, 'busybox');
    assert.match(await ok('rmi', 'busybox'), new RegExp(`Untagged: busybox:latest\\nDeleted: ${id}`));
    assert.equal((await ok('images', '-q')).trim(), '');
    assert.match(await ok('load', '-i', archive), /Loaded image: busybox:latest/);
    assert.equal(await imageId('busybox'), id);
    // and the raw API streams the same kind of tarball for ?names=
    const raw = await d.api('GET', '/v1.51/images/get?names=busybox');
    assert.equal(raw.status, 200);
    assert.equal(raw.headers['content-type'], 'application/x-tar');
    assert.ok(raw.body.includes('manifest.json'), 'a docker archive has manifest.json');
    const one = await d.api('GET', '/v1.51/images/busybox:latest/get');
    assert.equal(one.status, 200);
    assert.ok(one.body.includes('manifest.json') && one.body.includes('busybox:latest'), 'the archive names the image');
    assert.equal((await d.api('GET', '/v1.51/images/nosuch/get')).status, 404);
  });

  it('docker import makes a dangling image that docker image prune -f removes', async () => {
    const rootfs = join(d.dir, 'import-rootfs');
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    await writeFile(join(rootfs, 'etc', 'hello'), 'hello from import\n');
    const tarball = join(d.dir, 'import.tar');
    await run('tar', ['-C', rootfs, '-cf', tarball, '.']);
    const id = (await ok('import', '--change', 'CMD ["/bin/hello"]', '--change', 'LABEL team=berth', '--message', 'imported by a test', tarball)).trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const [image] = JSON.parse(await ok('image', 'inspect', id)) as Array<Record<string, any>>;
    assert.deepEqual(image!['Config'].Cmd, ['/bin/hello']);
    assert.deepEqual(image!['RepoTags'], []);
    assert.match(await ok('history', '--no-trunc', '--format', '{{.Comment}}', id), /imported by a test/);
    const short = id.slice('sha256:'.length, 'sha256:'.length + 12);
    assert.equal((await ok('images', '-q', '--filter', 'dangling=true')).trim(), short);
    assert.match(await ok('images', '-a'), /<none>\s+<none>/);
    assert.equal((await ok('images', '-q', '--filter', 'label=team=berth')).trim(), short);
    assert.equal((await ok('images', '-q', '--filter', 'label=team=other')).trim(), '');
    assert.equal((await ok('images', '-q', '--filter', 'since=busybox')).trim(), short);
    assert.equal((await ok('images', '--format', '{{.Repository}}', '--filter', `before=${short}`)).trim(), 'busybox');
    const pruned = await ok('image', 'prune', '-f');
    assert.match(pruned, new RegExp(`Deleted Images:\\ndeleted: ${id}`));
    assert.match(pruned, /Total reclaimed space: \d/);
    assert.equal((await ok('images', '-q', '--filter', 'dangling=true')).trim(), '');
    assert.ok(await imageId('busybox'), 'prune without -a keeps named images');
    const named = (await ok('import', tarball, 'imported:v1')).trim();
    assert.equal(await imageId('imported:v1'), named);
    assert.equal((await ok('rmi', 'imported:v1')).trim(), `Untagged: imported:v1\nDeleted: ${named}`);
    assert.match(await ok('image', 'prune', '-f'), /^Total reclaimed space: 0B$/m);
  });

  it('docker system df counts images, containers and volumes', async () => {
    await ok('volume', 'create', 'images-df');
    try {
      const out = await ok('system', 'df');
      const lines = out.split('\n');
      assert.match(lines[0]!, /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
      assert.match(out, /^Images\s+1\s+0\s+\d+(\.\d+)?[kM]B\s+\S+/m);
      assert.match(out, /^Containers\s+0\s+0\s+0B\s+0B$/m);
      assert.match(out, /^Local Volumes\s+1\s+0\s+0B\s+0B$/m);
      assert.match(out, /^Build Cache\s+0\s+0\s+0B\s+0B$/m);
      const verbose = await ok('system', 'df', '-v');
      assert.match(verbose, /^busybox\s+latest\s+[0-9a-f]{12}/m);
      assert.match(verbose, /^images-df\s+0\s+0B$/m);
    } finally {
      await d.docker('volume', 'rm', 'images-df');
    }
  });
});

describe('docker pull and push against loopback registries', () => {
  before(async () => {
    await ensureRegistry('plain');
  });

  it('docker pull 127.0.0.1:5000/busybox shows docker’s progress and the image runs', async () => {
    const out = await ok('pull', `${PLAIN}/busybox`);
    assert.match(out, /^latest: Pulling from busybox$/m);
    assert.match(out, /^Digest: sha256:[0-9a-f]{64}$/m);
    assert.match(out, new RegExp(`^Status: (Downloaded newer image|Image is up to date) for ${PLAIN}/busybox:latest$`, 'm'));
    assert.match(out, new RegExp(`^${PLAIN}/busybox:latest$`, 'm'));
    assert.match(await ok('images', '--format', '{{.Repository}}:{{.Tag}}'), new RegExp(`^${PLAIN.replace(/\./g, '\\.')}/busybox:latest$`, 'm'));
    assert.equal((await ok('run', '--rm', `${PLAIN}/busybox`, 'echo', 'pulled')).trim(), 'pulled');
    assert.match(await ok('pull', `${PLAIN}/busybox`), /Status: Image is up to date for/);
    const missing = await d.docker('pull', `${PLAIN}/berth-test/never-pushed-${randomBytes(4).toString('hex')}`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Error response from daemon: /);
  });

  it('docker push sends a tagged image; pulling it back gives the same ID', async () => {
    const repo = `${PLAIN}/berth-test/images-${randomBytes(4).toString('hex')}`;
    await ok('tag', 'busybox', `${repo}:v1`);
    const id = await imageId(`${repo}:v1`);
    const out = await ok('push', `${repo}:v1`);
    assert.match(out, new RegExp(`^The push refers to repository \\[${repo.replace(/\./g, '\\.')}\\]$`, 'm'));
    assert.match(out, /^v1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    const manifest = await fetch(`http://${PLAIN}/v2/${repo.slice(PLAIN.length + 1)}/manifests/v1`, { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(manifest.status, 200);
    await ok('rmi', `${repo}:v1`);
    await ok('pull', `${repo}:v1`);
    assert.equal(await imageId(`${repo}:v1`), id);
    await ok('rmi', `${repo}:v1`);
    const absent = await d.docker('push', `${repo}:nope`);
    assert.equal(absent.code, 1);
    assert.match(absent.stderr, /No such image/);
  });

  it('X-Registry-Auth: the CLI’s stored credentials let a push to the htpasswd registry through', async () => {
    await ensureRegistry('htpasswd');
    const repo = `${HTPASSWD}/berth-test/auth-${randomBytes(4).toString('hex')}`;
    await ok('tag', 'busybox', `${repo}:v1`);
    const denied = await d.docker('push', `${repo}:v1`);
    assert.equal(denied.code, 1, denied.stdout);
    const configFile = join(d.dir, 'docker-config', 'config.json');
    await writeFile(configFile, JSON.stringify({ auths: { [HTPASSWD]: { auth: Buffer.from('berth:berth-pass').toString('base64') } } }));
    try {
      assert.match(await ok('push', `${repo}:v1`), /^v1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
      await ok('rmi', `${repo}:v1`);
      await ok('pull', `${repo}:v1`);
      await ok('rmi', `${repo}:v1`);
    } finally {
      await writeFile(configFile, '{}');
    }
    const bad = await d.api('POST', `/v1.51/images/${repo}/push?tag=v1`, '', { 'X-Registry-Auth': '!!not-base64-json' });
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).message, /^invalid X-Registry-Auth header: /);
  });
});
