/**
 * Volumes, `docker cp`, `diff`, `export` and `commit` through the real docker CLI (v28) against
 * a private berthd: data in a named volume outlives its container, `ro` is enforced by the
 * kernel, a volume in use cannot be removed, files travel both ways on running and stopped
 * containers, and a committed image runs. Leaves no containers, volumes or mounts behind.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { TestDaemon, mountsUnder } from './helpers.ts';

let d: TestDaemon;
let host: string;

before(async () => {
  d = await TestDaemon.create();
  await d.start();
  host = await mkdtemp(join(tmpdir(), 'berth-volume-test-'));
});

after(async () => {
  try {
    const ids = (await d.docker('ps', '-aq', '--no-trunc')).stdout.split('\n').filter(Boolean);
    for (const id of ids) await d.docker('rm', '-f', '-v', id);
    await d.docker('volume', 'prune', '-a', '-f');
    const left = (await d.docker('ps', '-aq')).stdout.trim();
    const volumes = (await d.docker('volume', 'ls', '-q')).stdout.trim();
    await d.stop();
    const mounts = await mountsUnder(d.dir);
    const volumeDirs = existsSync(join(d.root, 'volumes')) ? readdirSync(join(d.root, 'volumes')) : [];
    assert.equal(left, '', 'containers left behind');
    assert.equal(volumes, '', 'volumes left behind');
    assert.deepEqual(volumeDirs, [], 'volume directories left behind');
    assert.deepEqual(mounts, [], 'mounts left behind');
  } finally {
    await d.cleanup();
    await rm(host, { recursive: true, force: true });
  }
});

async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail('condition not met within 10 s');
}

async function ok(...args: string[]): Promise<string> {
  const r = await d.docker(...args);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('docker volume', () => {
  it('create, ls, inspect, rm', async () => {
    assert.equal((await ok('volume', 'create', '--label', 'k=v', 'vol1')).trim(), 'vol1');
    assert.match(await ok('volume', 'ls'), /local\s+vol1/);
    const [info] = JSON.parse(await ok('volume', 'inspect', 'vol1')) as Array<Record<string, any>>;
    assert.equal(info!.Name, 'vol1');
    assert.equal(info!.Driver, 'local');
    assert.equal(info!.Scope, 'local');
    assert.deepEqual(info!.Labels, { k: 'v' });
    assert.equal(info!.Mountpoint, join(d.root, 'volumes', 'vol1', '_data'));
    assert.ok(existsSync(info!.Mountpoint));
    assert.equal((await ok('volume', 'ls', '-q', '--filter', 'label=k=v')).trim(), 'vol1');
    await ok('volume', 'rm', 'vol1');
    assert.ok(!existsSync(join(d.root, 'volumes', 'vol1')));
    const missing = await d.docker('volume', 'inspect', 'vol1');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no such volume/);
    const bad = await d.docker('volume', 'create', 'a/b');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /includes invalid characters for a local volume name/);
  });

  it('data in a named volume survives its container; ro is enforced; a used volume is not removed', async () => {
    assert.equal(await ok('run', '--rm', '-v', 'data1:/data', 'busybox', 'sh', '-c', 'echo kept > /data/f'), '');
    assert.equal(await ok('run', '--rm', '-v', 'data1:/data:ro', 'busybox', 'cat', '/data/f'), 'kept\n');
    const ro = await d.docker('run', '--rm', '-v', 'data1:/data:ro', 'busybox', 'sh', '-c', 'echo x > /data/g');
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);
    await ok('create', '--name', 'holder', '-v', 'data1:/data', 'busybox', 'true');
    const refused = await d.docker('volume', 'rm', 'data1');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /remove data1: volume is in use - \[[0-9a-f]{64}\]/);
    const mounts = JSON.parse(await ok('inspect', '-f', '{{json .Mounts}}', 'holder'));
    assert.deepEqual(mounts, [{ Type: 'volume', Name: 'data1', Source: join(d.root, 'volumes', 'data1', '_data'), Destination: '/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' }]);
    await ok('rm', 'holder');
    await ok('volume', 'rm', 'data1');
  });

  it('an empty volume is filled from the image at first use', async () => {
    const out = await ok('run', '--rm', '-v', 'etc1:/etc', 'busybox', 'cat', '/etc/passwd');
    assert.match(out, /^root:/);
    assert.ok(existsSync(join(d.root, 'volumes', 'etc1', '_data', 'passwd')));
    // and the daemon's /etc files stay on top of the volume
    assert.match(await ok('run', '--rm', '-v', 'etc1:/etc', '--hostname', 'hn1', 'busybox', 'cat', '/etc/hostname'), /^hn1$/m);
    await ok('volume', 'rm', 'etc1');
  });

  it('bind mounts with -v and --mount, ro and propagation; tmpfs with --tmpfs and --mount', async () => {
    await writeFile(join(host, 'a'), 'from host\n');
    assert.equal(await ok('run', '--rm', '-v', `${host}:/h:ro,rslave`, 'busybox', 'cat', '/h/a'), 'from host\n');
    const ro = await d.docker('run', '--rm', '-v', `${host}:/h:ro`, 'busybox', 'touch', '/h/b');
    assert.match(ro.stderr, /Read-only file system/);
    await ok('run', '--rm', '--mount', `type=bind,source=${host},target=/h`, 'busybox', 'sh', '-c', 'echo back > /h/b');
    assert.equal(await readFile(join(host, 'b'), 'utf8'), 'back\n');
    assert.match(await ok('run', '--rm', '--tmpfs', '/t:size=2m', 'busybox', 'grep', ' /t ', '/proc/mounts'), /^tmpfs \/t tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k/);
    assert.match(await ok('run', '--rm', '--mount', 'type=tmpfs,target=/t,tmpfs-size=1048576', 'busybox', 'grep', ' /t ', '/proc/mounts'), /size=1024k/);
    await ok('run', '--rm', '--mount', 'type=volume,source=mv1,target=/m', 'busybox', 'sh', '-c', 'echo m > /m/x');
    assert.equal(await ok('run', '--rm', '--mount', 'type=volume,source=mv1,target=/m,readonly', 'busybox', 'cat', '/m/x'), 'm\n');
    await ok('volume', 'rm', 'mv1');
    const invalid = await d.docker('run', '--rm', '-v', 'x:relative', 'busybox', 'true');
    assert.notEqual(invalid.code, 0);
    const missing = await d.docker('run', '--rm', '--mount', `type=bind,source=${host}/missing,target=/m`, 'busybox', 'true');
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /bind source path does not exist: .*\/missing/);
    // -v makes the missing host directory, as Docker does
    assert.equal(await ok('run', '--rm', '-v', `${host}/made:/m`, 'busybox', 'ls', '-a', '/m'), '.\n..\n');
    assert.ok(existsSync(join(host, 'made')));
  });

  it('anonymous volumes, --volumes-from, rm -v and prune', async () => {
    await ok('run', '-d', '--name', 'src1', '-v', '/anon', '-v', 'named1:/n', 'busybox', 'sh', '-c', 'echo a > /anon/f; echo n > /n/f; sleep 60');
    await until(async () => (await d.docker('cp', 'src1:/n/f', '-')).code === 0);
    const volumes = (await ok('volume', 'ls', '-q')).split('\n').filter(Boolean);
    const anonymous = volumes.find((v) => /^[0-9a-f]{64}$/.test(v));
    assert.ok(anonymous, `an anonymous volume among ${volumes.join(' ')}`);
    assert.ok(volumes.includes('named1'));
    assert.equal(await ok('run', '--rm', '--volumes-from', 'src1', 'busybox', 'cat', '/anon/f', '/n/f'), 'a\nn\n');
    const ro = await d.docker('run', '--rm', '--volumes-from', 'src1:ro', 'busybox', 'touch', '/anon/x');
    assert.match(ro.stderr, /Read-only file system/);
    await ok('rm', '-f', '-v', 'src1');
    const after = (await ok('volume', 'ls', '-q')).split('\n').filter(Boolean);
    assert.ok(!after.includes(anonymous), 'rm -v removes the anonymous volume');
    assert.ok(after.includes('named1'), 'rm -v keeps named volumes');
    assert.equal((await ok('volume', 'prune', '-f')).includes('named1'), false, 'prune without -a keeps named volumes');
    assert.match(await ok('volume', 'prune', '-a', '-f'), /named1/);
    assert.equal((await ok('volume', 'ls', '-q')).trim(), '');
  });
});

describe('docker cp, diff, export, commit', () => {
  it('cp out of and into a running container, volumes included', async () => {
    await ok('run', '-d', '--name', 'cp1', '-v', 'cpvol:/vol', 'busybox', 'sh', '-c', 'echo invol > /vol/f; mkdir -p /d/sub; echo deep > /d/sub/x; sleep 60');
    await until(async () => (await d.docker('cp', 'cp1:/d/sub/x', '-')).code === 0);
    const id = (await ok('inspect', '-f', '{{.Id}}', 'cp1')).trim();
    const hostname = await ok('cp', 'cp1:/etc/hostname', '-');
    assert.equal(execFileSync('tar', ['-xOf', '-'], { input: hostname }).toString(), `${id.slice(0, 12)}\n`);
    const dest = join(host, 'dest');
    await ok('cp', 'cp1:/d', dest);
    assert.equal(await readFile(join(dest, 'sub', 'x'), 'utf8'), 'deep\n');
    await ok('cp', 'cp1:/vol/f', join(host, 'volfile'));
    assert.equal(await readFile(join(host, 'volfile'), 'utf8'), 'invol\n');
    await writeFile(join(host, 'payload'), 'payload\n');
    await ok('cp', join(host, 'payload'), 'cp1:/tmp/');
    assert.equal(execFileSync('tar', ['-xOf', '-'], { input: await ok('cp', 'cp1:/tmp/payload', '-') }).toString(), 'payload\n');
    await mkdir(join(host, 'file-named-dir'));
    await writeFile(join(host, 'file-named-dir', 'sub'), 'a file\n');
    const clobber = await d.docker('cp', join(host, 'file-named-dir', 'sub'), 'cp1:/d/');
    assert.equal(clobber.code, 1);
    assert.match(clobber.stderr, /cannot overwrite directory "\/d\/sub" with non-directory "sub"/);
    assert.equal(execFileSync('tar', ['-xOf', '-'], { input: await ok('cp', 'cp1:/d/sub/x', '-') }).toString(), 'deep\n');
    const missing = await d.docker('cp', 'cp1:/nope', join(host, 'nope'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Could not find the file \/nope in container cp1/);
    await ok('rm', '-f', 'cp1');
    await ok('volume', 'rm', 'cpvol');
  });

  it('cp into and out of a stopped container mounts its rootfs only for the copy', async () => {
    await ok('create', '--name', 'cp2', 'busybox', 'cat', '/copied');
    await writeFile(join(host, 'copied'), 'copied in\n');
    await ok('cp', join(host, 'copied'), 'cp2:/copied');
    assert.deepEqual((await mountsUnder(d.root)).filter((m) => m.includes('/containers/')), []);
    await ok('cp', 'cp2:/copied', join(host, 'copied-back'));
    assert.equal(await readFile(join(host, 'copied-back'), 'utf8'), 'copied in\n');
    await mkdir(join(host, 'tree', 'inner'), { recursive: true });
    await writeFile(join(host, 'tree', 'inner', 'leaf'), 'leaf\n');
    await ok('cp', join(host, 'tree'), 'cp2:/renamed');
    await ok('cp', 'cp2:/renamed/.', join(host, 'tree-back'));
    assert.equal(await readFile(join(host, 'tree-back', 'inner', 'leaf'), 'utf8'), 'leaf\n');
    assert.equal(await ok('start', '-a', 'cp2'), 'copied in\n');
    await ok('rm', 'cp2');
  });

  it('a tar that climbs out of the destination is refused', async () => {
    await ok('create', '--name', 'cp3', 'busybox', 'true');
    const header = Buffer.alloc(512);
    const name = `../../../../../../../..${host}/escaped`;
    header.write(name, 0, 100);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write('00000000004\0', 124);
    header.write('00000000000\0', 136);
    header.write('0', 156);
    header.write('ustar\x0000', 257, 'latin1');
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    const body = Buffer.concat([header, Buffer.from('evil'), Buffer.alloc(508), Buffer.alloc(1024)]);
    const r = await d.api('PUT', '/v1.51/containers/cp3/archive?path=/tmp', body.toString('latin1'), { 'Content-Type': 'application/x-tar', 'Content-Length': String(body.length) });
    assert.equal(r.status, 400, r.body);
    assert.ok(!existsSync(join(host, 'escaped')));
    await ok('rm', 'cp3');
  });

  it('diff, export and commit; the committed image runs', async () => {
    await ok('run', '--name', 'cm1', 'busybox', 'sh', '-c', 'echo committed > /file; rm /bin/arch');
    assert.equal(await ok('diff', 'cm1'), 'C /bin\nD /bin/arch\nA /file\n');
    const archive = join(host, 'export.tar');
    await ok('export', '-o', archive, 'cm1');
    const names = execFileSync('tar', ['-tf', archive]).toString().split('\n');
    assert.ok(names.includes('file'));
    assert.ok(names.includes('bin/busybox'));
    assert.ok(!names.includes('bin/arch'));
    assert.match((await ok('commit', '-m', 'a message', '-c', 'ENV FOO=bar', 'cm1', 'committed:v1')).trim(), /^sha256:[0-9a-f]{64}$/);
    assert.equal(await ok('run', '--rm', 'committed:v1', 'sh', '-c', 'cat /file; echo $FOO; test -e /bin/arch || echo gone'), 'committed\nbar\ngone\n');
    await ok('rm', 'cm1');
    await d.api('DELETE', '/v1.51/images/committed:v1');
  });

  it('commit of a running container freezes it for the copy and leaves it running', async () => {
    await ok('run', '-d', '--name', 'cm2', 'busybox', 'sh', '-c', 'echo live > /live; sleep 60');
    await until(async () => (await d.docker('cp', 'cm2:/live', '-')).code === 0);
    assert.match((await ok('commit', 'cm2', 'committed:live')).trim(), /^sha256:/);
    assert.equal((await ok('inspect', '-f', '{{.State.Status}}', 'cm2')).trim(), 'running');
    assert.equal(await ok('run', '--rm', 'committed:live', 'cat', '/live'), 'live\n');
    await ok('rm', '-f', 'cm2');
    await d.api('DELETE', '/v1.51/images/committed:live');
  });
});
