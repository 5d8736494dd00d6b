/**
 * The image verbs end to end through the `berth` CLI against Debian's docker-registry on
 * 127.0.0.1:5000 (scripts/fixtures/registry.sh), filled with the fixture images
 * (scripts/fixtures/images.sh). What a pull leaves on disk is checked by mounting the image's
 * snapshot with overlayfs and comparing it, file by file, with umoci's unpack of the source.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { ImageStore } from '../../../src/image/store/index.ts';
import { mountAll, unmount } from '../../../src/snapshot/index.ts';
import { EngineError } from '../../../src/util/errors.ts';
import {
  FIXTURES,
  OCI,
  REGISTRY,
  berth,
  berthInProcess,
  fixtureScript,
  layoutImage,
  mountsUnder,
  registryUp,
  treeListing,
  umociRootfs,
} from './helpers.ts';

const run = promisify(execFile);

let work: string;
let startedRegistry = false;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-images-test-'));
  try {
    await stat(join(OCI, 'images.json'));
  } catch {
    await fixtureScript('images.sh', []);
  }
  if (!(await registryUp())) {
    await fixtureScript('registry.sh', ['start', 'plain']);
    startedRegistry = true;
  }
  await fixtureScript('registry.sh', ['push', 'plain']);
});

after(async () => {
  const leaked = await mountsUnder(work);
  for (const point of leaked.reverse()) await unmount(point, { lazy: true }).catch(() => {});
  await rm(work, { recursive: true, force: true });
  if (startedRegistry) await fixtureScript('registry.sh', ['stop', 'plain']);
  assert.deepEqual(leaked, [], 'mounts left behind');
});

let roots = 0;
async function dataRoot(): Promise<string> {
  const dir = join(work, `root-${roots++}`);
  await mkdir(dir);
  return dir;
}

/** The tree an image's snapshot shows through a read-only overlay (or bind) mount. */
async function mountedTree(root: string, ref: string): Promise<string[]> {
  const store = await ImageStore.open({ root });
  const key = `test-view-${randomBytes(4).toString('hex')}`;
  const target = join(work, `mnt-${key}`);
  await mkdir(target);
  const mounts = await store.snapshotter.view(key, await store.chainId(ref));
  try {
    await mountAll(mounts, target);
    try {
      return await treeListing(target);
    } finally {
      await unmount(target);
    }
  } finally {
    await store.snapshotter.remove(key);
    await rm(target, { recursive: true, force: true });
  }
}

async function reference(name: string): Promise<string[]> {
  const unpacked = await umociRootfs(name);
  try {
    return await treeListing(unpacked.rootfs);
  } finally {
    await unpacked.cleanup();
  }
}

async function committedSnapshots(root: string): Promise<string[]> {
  const store = await ImageStore.open({ root });
  const names: string[] = [];
  await store.snapshotter.walk((info) => {
    if (info.kind === 'committed') names.push(info.name);
  });
  return names.sort();
}

async function blobCount(root: string): Promise<number> {
  return (await readdir(join(root, 'content', 'blobs', 'sha256')).catch(() => [])).length;
}

/** The columns of an aligned table start where the header's do. */
function assertAligned(table: string): string[][] {
  const lines = table.trimEnd().split('\n');
  const header = lines[0]!;
  const starts = [...header.matchAll(/(?:^|\s{2,})(\S)/g)].map((m) => m.index! + m[0].length - 1);
  const rows: string[][] = [];
  for (const line of lines) {
    const cells = starts.map((s, i) => line.slice(s, starts[i + 1] ?? undefined).trim());
    for (const s of starts.slice(1)) if (s <= line.length) assert.equal(line[s - 1], ' ', `column boundary at ${s} in ${JSON.stringify(line)}`);
    rows.push(cells);
  }
  return rows;
}

describe('berth pull', () => {
  it('pulls busybox; its snapshot is byte-identical to the source layout; plain progress when not a TTY', async () => {
    const root = await dataRoot();
    const result = await berth(root, ['pull', `${REGISTRY}/busybox`]);
    assert.equal(result.code, 0, result.stderr);
    const source = await layoutImage('busybox');
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'Using default tag: latest');
    assert.equal(lines[1], 'latest: Pulling from busybox');
    const layer = source.manifest.layers[0]!.digest.slice(7, 19);
    assert.ok(lines.includes(`${layer}: Pulling fs layer`), result.stdout);
    assert.ok(lines.includes(`${layer}: Download complete`), result.stdout);
    assert.ok(lines.includes(`${layer}: Pull complete`), result.stdout);
    assert.ok(lines.includes(`Digest: ${source.manifestDigest}`));
    assert.ok(lines.includes(`Status: Downloaded newer image for ${REGISTRY}/busybox:latest`));
    assert.equal(lines.at(-1), `${REGISTRY}/busybox:latest`);
    assert.ok(!result.stdout.includes('\x1b') && !result.stdout.includes('[='), 'no terminal control or bars in plain output');
    assert.deepEqual(await mountedTree(root, `${REGISTRY}/busybox`), await reference('busybox'));

    const again = await berth(root, ['pull', `${REGISTRY}/busybox:latest`]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`${layer}: Already exists`));
    assert.match(again.stdout, /Status: Image is up to date for 127\.0\.0\.1:5000\/busybox:latest/);
  });

  it('draws per-layer progress bars on a terminal', async () => {
    const root = await dataRoot();
    const result = await berthInProcess(root, ['pull', `${REGISTRY}/nginx`], { stdout: true });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /: (Downloading|Extracting) \[=*>? *\]  \d+(\.\d+)?[kMG]?B\/\d+(\.\d+)?[kMG]?B/);
    assert.ok(result.stdout.includes('\x1b[2K'), 'lines are rewritten in place');
    assert.match(result.stdout, /Status: Downloaded newer image for 127\.0\.0\.1:5000\/nginx:latest/);
  });

  it('shares the debian base between debian and nginx: one snapshot, one blob, shared size', async () => {
    const root = await dataRoot();
    const debian = await layoutImage('debian');
    const nginx = await layoutImage('nginx');
    assert.equal(nginx.manifest.layers[0]!.digest, debian.manifest.layers[0]!.digest, 'fixture: nginx is built on debian');
    assert.equal((await berth(root, ['pull', '-q', `${REGISTRY}/debian`])).code, 0);
    const blobsAfterDebian = await blobCount(root);
    const pulled = await berth(root, ['pull', `${REGISTRY}/nginx`]);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, new RegExp(`${debian.manifest.layers[0]!.digest.slice(7, 19)}: Already exists`));
    // nginx adds its manifest, config and one layer: the base is not stored again
    assert.equal(await blobCount(root), blobsAfterDebian + 3);
    const snapshots = await committedSnapshots(root);
    assert.equal(snapshots.length, 2, `one snapshot per distinct layer stack: ${snapshots.join(', ')}`);
    assert.deepEqual(await mountedTree(root, `${REGISTRY}/nginx`), await reference('nginx'));

    const df = await berth(root, ['system', 'df', '-v']);
    assert.equal(df.code, 0, df.stderr);
    const store = await ImageStore.open({ root });
    const usage = await store.systemDf();
    const sizes = Object.fromEntries(usage.Images.map((i) => [i.RepoTags[0], i]));
    const nginxSummary = sizes[`${REGISTRY}/nginx:latest`]!;
    const debianSummary = sizes[`${REGISTRY}/debian:latest`]!;
    assert.equal(nginxSummary.SharedSize, debianSummary.Size);
    assert.equal(usage.LayersSize, nginxSummary.Size, 'the base layer is counted once');
    assert.ok(nginxSummary.Size > debianSummary.Size);
    const plain = await berth(root, ['system', 'df']);
    const rows = assertAligned(plain.stdout);
    assert.deepEqual(rows[0], ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE']);
    assert.deepEqual(rows[1]!.slice(0, 3), ['Images', '2', '0']);
    assert.match(rows[1]![4]!, /\(100%\)$/);
    assert.match(df.stdout, /Images space usage:/);
  });

  it('applies the whiteout image: deleted files and opaque dirs hide the lower content', async () => {
    const root = await dataRoot();
    const result = await berth(root, ['pull', `${REGISTRY}/whiteout`]);
    assert.equal(result.code, 0, result.stderr);
    const tree = await mountedTree(root, `${REGISTRY}/whiteout`);
    assert.deepEqual(tree, await reference('whiteout'));
    const expected = (await readFile(join(OCI, 'whiteout.expected.txt'), 'utf8')).trim().split('\n');
    const paths = new Set(tree.map((line) => line.split(' ')[1]));
    for (const line of expected) {
      const [kind, a] = line.split(' ');
      if (kind === 'absent') assert.ok(!paths.has(a), `${a} must be hidden`);
      if (kind === 'f') assert.ok(paths.has(line.split(' ')[3]), `${line.split(' ')[3]} must be present`);
    }
    assert.ok(!tree.some((line) => line.startsWith('c ')), 'no whiteout device shows through the overlay');
  });

  it('pulls by digest and lists it with <none> tag and its digest', async () => {
    const root = await dataRoot();
    const source = await layoutImage('busybox');
    const result = await berth(root, ['pull', `${REGISTRY}/busybox@${source.manifestDigest}`]);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stdout.includes('Using default tag'));
    const list = await berth(root, ['images', '--digests']);
    const rows = assertAligned(list.stdout);
    assert.deepEqual(rows[0], ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE']);
    assert.deepEqual(rows[1]!.slice(0, 4), [`${REGISTRY}/busybox`, '<none>', source.manifestDigest, source.manifest.config.digest.slice(7, 19)]);
  });

  it('serialises concurrent berth processes on one data root: both pulls land intact', async () => {
    const root = await dataRoot();
    const [a, b] = await Promise.all([berth(root, ['pull', '-q', `${REGISTRY}/nginx`]), berth(root, ['pull', '-q', `${REGISTRY}/whiteout`])]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.match(a.stderr + b.stderr, /waiting for another berth process \(pid \d+\) to release /);
    const names = (await berth(root, ['images', '--format', '{{.Repository}}'])).stdout.trim().split('\n').sort();
    assert.deepEqual(names, [`${REGISTRY}/nginx`, `${REGISTRY}/whiteout`]);
    assert.equal((await committedSnapshots(root)).length, 2 + 4);
    assert.deepEqual(await mountedTree(root, `${REGISTRY}/whiteout`), await reference('whiteout'));
    await assert.rejects(stat(join(root, 'berth.lock')), /ENOENT/);
  });

  it('fails on an unknown image with the registry error and stores nothing', async () => {
    const root = await dataRoot();
    const result = await berth(root, ['pull', `${REGISTRY}/no-such-image`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^Error: .*not found/m);
    assert.equal(await blobCount(root), 0);
  });
});

describe('berth images, inspect, history, tag, rmi, prune', () => {
  let root: string;
  const busybox = `${REGISTRY}/busybox:latest`;
  before(async () => {
    root = await dataRoot();
    for (const name of ['busybox', 'nginx']) assert.equal((await berth(root, ['pull', '-q', `${REGISTRY}/${name}`])).code, 0);
  });

  it('lists images in docker columns, aligned, newest first; -q, --no-trunc, --format, filters', async () => {
    const bb = await layoutImage('busybox');
    const ng = await layoutImage('nginx');
    const list = await berth(root, ['images']);
    assert.equal(list.code, 0, list.stderr);
    const rows = assertAligned(list.stdout);
    assert.deepEqual(rows[0], ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']);
    const byRepo = Object.fromEntries(rows.slice(1).map((r) => [r[0], r]));
    assert.equal(byRepo[`${REGISTRY}/busybox`]![2], bb.manifest.config.digest.slice(7, 19));
    assert.equal(byRepo[`${REGISTRY}/nginx`]![2], ng.manifest.config.digest.slice(7, 19));
    assert.match(byRepo[`${REGISTRY}/nginx`]![3]!, / ago$/);
    assert.match(byRepo[`${REGISTRY}/nginx`]![4]!, /^\d+(\.\d+)?MB$/);

    const quiet = await berth(root, ['images', '-q', '--no-trunc']);
    assert.deepEqual(quiet.stdout.trim().split('\n').sort(), [bb.manifest.config.digest, ng.manifest.config.digest].sort());

    const formatted = await berth(root, ['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', '--filter', 'reference=*/busy*']);
    assert.equal(formatted.stdout, `${REGISTRY}/busybox:latest ${bb.manifest.config.digest.slice(7, 19)}\n`);
    const json = await berth(root, ['image', 'ls', '--format', '{{json .}}', `${REGISTRY}/nginx`]);
    const parsed = JSON.parse(json.stdout) as Record<string, string>;
    assert.equal(parsed['Repository'], `${REGISTRY}/nginx`);
    assert.equal(parsed['Tag'], 'latest');
    const table = await berth(root, ['images', '--format', 'table {{.Repository}}\t{{.ID}}']);
    assert.deepEqual(assertAligned(table.stdout)[0], ['REPOSITORY', 'IMAGE ID']);
    const dangling = await berth(root, ['images', '--filter', 'dangling=true', '-q']);
    assert.equal(dangling.stdout, '');
    const bad = await berth(root, ['images', '--filter', 'colour=blue']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid filter 'colour'/);
    const badFlag = await berth(root, ['images', '--colour']);
    assert.equal(badFlag.code, 125);
    assert.match(badFlag.stderr, /unknown flag: --colour\nSee 'berth images --help'\./);
  });

  it('inspects in docker\'s ImageInspect shape, by name, ID and ID prefix', async () => {
    const ng = await layoutImage('nginx');
    const result = await berth(root, ['image', 'inspect', `${REGISTRY}/nginx`]);
    assert.equal(result.code, 0, result.stderr);
    const [image] = JSON.parse(result.stdout) as Array<Record<string, any>>;
    assert.equal(image!['Id'], ng.manifest.config.digest);
    assert.deepEqual(image!['RepoTags'], [`${REGISTRY}/nginx:latest`]);
    assert.deepEqual(image!['RepoDigests'], [`${REGISTRY}/nginx@${ng.manifestDigest}`]);
    assert.deepEqual(image!['RootFS'], { Type: 'layers', Layers: ng.config.rootfs.diff_ids });
    assert.deepEqual(image!['Config'], ng.config.config);
    assert.equal(image!['Architecture'], 'amd64');
    assert.equal(image!['Os'], 'linux');
    assert.equal(image!['GraphDriver'].Name, 'overlay2');
    assert.equal(image!['GraphDriver'].Data.LowerDir.split(':').length, 2);
    assert.ok(image!['Size'] > 0);
    assert.match(image!['Metadata'].LastTagTime, /^\d{4}-/);
    assert.ok(result.stdout.startsWith('[\n    {\n        "Id"'), 'four-space indented JSON array like docker');

    const byPrefix = await berth(root, ['inspect', '--format', '{{.Id}} {{json .RepoTags}}', ng.manifest.config.digest.slice(7, 15)]);
    assert.equal(byPrefix.stdout, `${ng.manifest.config.digest} ["${REGISTRY}/nginx:latest"]\n`);
    const cmd = await berth(root, ['image', 'inspect', '-f', '{{.Config.Cmd}}', ng.manifest.config.digest]);
    assert.equal(cmd.stdout, `[${(ng.config.config!['Cmd'] as string[]).join(' ')}]\n`);

    const missing = await berth(root, ['image', 'inspect', 'nosuch']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '[]\n');
    assert.equal(missing.stderr, 'Error: No such image: nosuch\n');
  });

  it('shows history newest first with sizes and truncated commands', async () => {
    const ng = await layoutImage('nginx');
    const result = await berth(root, ['history', `${REGISTRY}/nginx`]);
    assert.equal(result.code, 0, result.stderr);
    const rows = assertAligned(result.stdout);
    assert.deepEqual(rows[0], ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT']);
    assert.equal(rows.length - 1, ng.config.history!.length);
    assert.equal(rows[1]![0], ng.manifest.config.digest.slice(7, 19));
    assert.equal(rows.at(-1)![0], '<missing>');
    for (const row of rows.slice(1)) assert.ok([...row[2]!].length <= 45);
    const full = await berth(root, ['history', '--no-trunc', '--format', '{{.CreatedBy}}', `${REGISTRY}/nginx`]);
    const createdBy = (ng.config.history as Array<{ created_by: string }>).map((h) => h.created_by).reverse();
    assert.deepEqual(full.stdout.trimEnd().split('\n'), createdBy);
  });

  it('tags, untags and deletes like docker rmi', async () => {
    const bb = await layoutImage('busybox');
    assert.equal((await berth(root, ['tag', busybox, 'mybox:1'])).code, 0);
    assert.equal((await berth(root, ['tag', 'mybox:1', 'example.com/team/mybox:2'])).code, 0);
    const list = await berth(root, ['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}', '--filter', 'reference=*box*']);
    // docker's reference filter: `*` stops at `/`, and only matching names are shown
    assert.equal(list.stdout, `mybox:1 ${bb.manifest.config.digest.slice(7, 19)}\n`);
    const all = await berth(root, ['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.ok(all.stdout.includes('example.com/team/mybox:2\n'));

    const refused = await berth(root, ['rmi', bb.manifest.config.digest.slice(7, 19)]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /conflict: unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories/);

    const untag = await berth(root, ['rmi', 'mybox:1']);
    assert.equal(untag.stdout, 'Untagged: mybox:1\n');
    const snapshotsBefore = await committedSnapshots(root);
    const forced = await berth(root, ['rmi', '-f', bb.manifest.config.digest.slice(7, 19)]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(forced.stdout.trim().split('\n').sort(), [
      `Deleted: ${bb.manifest.config.digest}`,
      `Untagged: ${REGISTRY}/busybox:latest`,
      'Untagged: example.com/team/mybox:2',
    ].sort());
    const snapshotsAfter = await committedSnapshots(root);
    assert.deepEqual(snapshotsBefore.filter((s) => !snapshotsAfter.includes(s)), [bb.config.rootfs.diff_ids[0]], 'its layer snapshot went with it');
    const store = await ImageStore.open({ root });
    assert.equal(await store.content.has(bb.manifest.layers[0]!.digest as `sha256:${string}`), false, 'its blobs went with it');

    const missing = await berth(root, ['rmi', 'nosuch']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error: No such image: nosuch\n');
    // back for the tests that follow
    assert.equal((await berth(root, ['pull', '-q', busybox])).code, 0);
  });

  it('refuses to remove an image a container uses unless forced', async () => {
    const ng = await layoutImage('nginx');
    const inUse = new Set([ng.manifest.config.digest]);
    const store = await ImageStore.open({ root, isInUse: (id) => inUse.has(id) });
    await store.tag(`${REGISTRY}/nginx`, 'web:1');
    assert.deepEqual(await store.remove('web:1'), [{ Untagged: 'web:1' }], 'another name is left: untag only');
    await assert.rejects(store.remove(`${REGISTRY}/nginx`), (err: unknown) => err instanceof EngineError && err.kind === 'conflict' && /container is using its referenced image/.test(err.message));
    const report = await store.prune({ all: true });
    assert.ok(report.ImagesDeleted.some((d) => d.Deleted !== undefined), 'unused images are pruned');
    assert.ok(!report.ImagesDeleted.some((d) => d.Deleted === ng.manifest.config.digest), 'a used image is not');
    const forced = await store.remove(`${REGISTRY}/nginx`, { force: true });
    assert.deepEqual(forced, [{ Untagged: `${REGISTRY}/nginx:latest` }], 'forced: untagged, kept for its container');
    const dangling = await store.list({ filters: { dangling: true } });
    assert.deepEqual(dangling.map((i) => i.Id), [ng.manifest.config.digest]);
    inUse.clear();
    // bring them back named for the rest of the suite
    for (const name of ['busybox', 'nginx']) assert.equal((await berth(root, ['pull', '-q', `${REGISTRY}/${name}`])).code, 0);
    assert.deepEqual((await store.list({ filters: { dangling: true } })).map((i) => i.Id), []);
  });

  it('imports a rootfs tarball with changes and a message, then prunes it once dangling', async () => {
    const dir = await mkdtemp(join(work, 'import-'));
    await mkdir(join(dir, 'rootfs', 'etc'), { recursive: true });
    await writeFile(join(dir, 'rootfs', 'etc', 'hello'), 'imported\n');
    await run('tar', ['-C', join(dir, 'rootfs'), '-cf', join(dir, 'rootfs.tar'), '.']);
    const imported = await berth(root, ['import', '-c', 'CMD ["/bin/sh"]', '-c', 'ENV A=1', '-m', 'from a tarball', join(dir, 'rootfs.tar'), 'imported:v1']);
    assert.equal(imported.code, 0, imported.stderr);
    const id = imported.stdout.trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const [info] = JSON.parse((await berth(root, ['image', 'inspect', 'imported:v1'])).stdout) as Array<Record<string, any>>;
    assert.equal(info!['Id'], id);
    assert.deepEqual(info!['Config'].Cmd, ['/bin/sh']);
    assert.deepEqual(info!['Config'].Env, ['A=1']);
    assert.equal(info!['Comment'], 'from a tarball');
    const tree = await mountedTree(root, 'imported:v1');
    assert.ok(tree.some((l) => l.startsWith('f etc/hello ')), tree.join('\n'));

    // from stdin, without a name: dangling
    const anonymous = await berth(root, ['import', '-', '-c', 'CMD ["/x"]'], { stdin: await readFile(join(dir, 'rootfs.tar')) });
    assert.equal(anonymous.code, 0, anonymous.stderr);
    const danglingId = anonymous.stdout.trim();
    const listed = await berth(root, ['images', '--filter', 'dangling=true', '--no-trunc', '--format', '{{.Repository}} {{.Tag}} {{.ID}}']);
    assert.equal(listed.stdout, `<none> <none> ${danglingId}\n`);

    const snapshotsBefore = await committedSnapshots(root);
    const pruned = await berth(root, ['image', 'prune', '-f']);
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, new RegExp(`^Deleted Images:\ndeleted: ${danglingId}\n\nTotal reclaimed space: \\d`));
    assert.equal((await berth(root, ['images', '-q', '--filter', 'dangling=true'])).stdout, '');
    // the same rootfs as imported:v1, so the layer snapshot is shared and stays
    assert.deepEqual(await committedSnapshots(root), snapshotsBefore);
    const nothing = await berth(root, ['image', 'prune', '-f']);
    assert.equal(nothing.stdout, 'Total reclaimed space: 0B\n');
    const rmi = await berth(root, ['rmi', 'imported:v1']);
    assert.equal(rmi.stdout, `Untagged: imported:v1\nDeleted: ${id}\n`);
    assert.equal((await committedSnapshots(root)).length, snapshotsBefore.length - 1);
  });

  it('prune -a removes every unused image, its blobs and snapshots', async () => {
    const pruneRoot = await dataRoot();
    assert.equal((await berth(pruneRoot, ['pull', '-q', `${REGISTRY}/busybox`])).code, 0);
    const answerNo = await berth(pruneRoot, ['image', 'prune', '-a'], { stdin: 'n\n' });
    assert.match(answerNo.stdout, /WARNING! This will remove all images without at least one container associated to them\.\nAre you sure you want to continue\? \[y\/N\] /);
    assert.equal((await berth(pruneRoot, ['images', '-q'])).stdout.trim().split('\n').length, 1);
    const yes = await berth(pruneRoot, ['image', 'prune', '-a'], { stdin: 'y\n' });
    assert.match(yes.stdout, /untagged: 127\.0\.0\.1:5000\/busybox:latest\ndeleted: sha256:/);
    assert.equal((await berth(pruneRoot, ['images', '-q'])).stdout, '');
    assert.equal(await blobCount(pruneRoot), 0);
    assert.deepEqual(await committedSnapshots(pruneRoot), []);
  });
});

describe('berth push, save, load', () => {
  it('push → rmi → pull round trip keeps the digest', async () => {
    const root = await dataRoot();
    const source = await layoutImage('busybox');
    assert.equal((await berth(root, ['pull', '-q', `${REGISTRY}/busybox`])).code, 0);
    const repo = `${REGISTRY}/berth-test/roundtrip-${randomBytes(4).toString('hex')}`;
    assert.equal((await berth(root, ['tag', `${REGISTRY}/busybox`, `${repo}:v1`])).code, 0);
    const pushed = await berth(root, ['push', `${repo}:v1`]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const lines = pushed.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `The push refers to repository [${repo}]`);
    assert.match(pushed.stdout, new RegExp(`${source.manifest.layers[0]!.digest.slice(7, 19)}: (Pushed|Mounted from busybox|Layer already exists)`));
    assert.match(lines.at(-1)!, new RegExp(`^v1: digest: ${source.manifestDigest} size: \\d+$`));

    const removed = await berth(root, ['rmi', '-f', source.manifest.config.digest]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal((await berth(root, ['images', '-q'])).stdout, '');
    const back = await berth(root, ['pull', `${repo}:v1`]);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, new RegExp(`Digest: ${source.manifestDigest}`));
    const [info] = JSON.parse((await berth(root, ['image', 'inspect', `${repo}:v1`])).stdout) as Array<Record<string, any>>;
    assert.equal(info!['Id'], source.manifest.config.digest);
    assert.deepEqual(await mountedTree(root, `${repo}:v1`), await reference('busybox'));
  });

  it('save → load into another data root gives the same digests and a runnable rootfs', async () => {
    const from = await dataRoot();
    for (const name of ['busybox', 'nginx']) assert.equal((await berth(from, ['pull', '-q', `${REGISTRY}/${name}`])).code, 0);
    const before = JSON.parse((await berth(from, ['image', 'inspect', `${REGISTRY}/busybox`, `${REGISTRY}/nginx`])).stdout) as Array<Record<string, any>>;
    const file = join(work, 'two-images.tar');
    const saved = await berth(from, ['save', '-o', file, `${REGISTRY}/busybox`, `${REGISTRY}/nginx`]);
    assert.equal(saved.code, 0, saved.stderr);
    assert.equal(saved.stdout, '');

    const to = await dataRoot();
    const loaded = await berth(to, ['load', '-i', file]);
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.deepEqual(loaded.stdout.trim().split('\n').sort(), [`Loaded image: ${REGISTRY}/busybox:latest`, `Loaded image: ${REGISTRY}/nginx:latest`]);
    const after = JSON.parse((await berth(to, ['image', 'inspect', `${REGISTRY}/busybox`, `${REGISTRY}/nginx`])).stdout) as Array<Record<string, any>>;
    for (const [i, image] of after.entries()) {
      assert.equal(image['Id'], before[i]!['Id']);
      assert.deepEqual(image['RootFS'], before[i]!['RootFS']);
      assert.deepEqual(image['Descriptor'], before[i]!['Descriptor']);
      assert.deepEqual(image['RepoDigests'], before[i]!['RepoDigests']);
    }
    assert.deepEqual(await mountedTree(to, `${REGISTRY}/nginx`), await reference('nginx'));

    // the same through stdout and stdin
    const piped = await berth(from, ['save', `${REGISTRY}/busybox`]);
    assert.equal(piped.code, 0);
    const third = await dataRoot();
    const viaStdin = await berth(third, ['load'], { stdin: await readFile(file) });
    assert.equal(viaStdin.code, 0, viaStdin.stderr);
  });

  it('refuses to write a tar to a terminal', async () => {
    const root = await dataRoot();
    const result = await berthInProcess(root, ['save', 'busybox'], { stdout: true });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'Error: Cowardly refusing to save to a terminal. Use the -o flag or redirect\n');
    assert.equal(result.raw.length, 0);
  });

  it('loads a docker-archive written by skopeo', async () => {
    const root = await dataRoot();
    const source = await layoutImage('busybox');
    const file = join(work, 'skopeo-docker-archive.tar');
    await run('skopeo', ['copy', '--quiet', `oci:${join(OCI, 'busybox')}:latest`, `docker-archive:${file}:skopeo/busybox:archived`]);
    const loaded = await berth(root, ['load', '-i', file]);
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.equal(loaded.stdout, 'Loaded image: skopeo/busybox:archived\n');
    const [info] = JSON.parse((await berth(root, ['image', 'inspect', 'skopeo/busybox:archived'])).stdout) as Array<Record<string, any>>;
    assert.equal(info!['Id'], source.manifest.config.digest);
    assert.deepEqual(info!['RootFS'].Layers, source.config.rootfs.diff_ids);
    assert.deepEqual(await mountedTree(root, 'skopeo/busybox:archived'), await reference('busybox'));
    // the fixture set-up's own archives load too (docker-archive and oci-archive)
    for (const name of ['nginx.docker.tar', 'busybox.oci.tar']) {
      const result = await berth(root, ['load', '-q', '-i', join(FIXTURES, 'archives', name)]);
      assert.equal(result.code, 0, `${name}: ${result.stderr}`);
      assert.match(result.stdout, /^Loaded image( ID)?: /);
    }
  });
});

describe('berth pull --platform', () => {
  it('chooses the platform\'s manifest from an index and records the index', async () => {
    const root = await dataRoot();
    const index = await layoutImage('busybox', 'index');
    const arm = await layoutImage('busybox', 'arm64');
    const result = await berth(root, ['pull', '--platform', 'linux/arm64', `${REGISTRY}/busybox:index`]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`Digest: ${index.manifestDigest}`));
    const [info] = JSON.parse((await berth(root, ['image', 'inspect', `${REGISTRY}/busybox:index`])).stdout) as Array<Record<string, any>>;
    assert.equal(info!['Id'], arm.manifest.config.digest);
    assert.equal(info!['Architecture'], 'arm64');
    assert.equal(info!['Descriptor'].digest, index.manifestDigest);

    // the same index for this machine is another image; the arm64 one stays, dangling
    const native = await berth(root, ['pull', `${REGISTRY}/busybox:index`]);
    assert.match(native.stdout, /Status: Downloaded newer image for/);
    const ids = (await berth(root, ['images', '-q', '--no-trunc'])).stdout.trim().split('\n').sort();
    assert.equal(ids.length, 2);
    assert.ok(ids.includes(arm.manifest.config.digest));
    const dangling = await berth(root, ['images', '-q', '--no-trunc', '--filter', 'dangling=true']);
    assert.equal(dangling.stdout, `${arm.manifest.config.digest}\n`);
  });
});

describe('berth login, logout', () => {
  const SECURED = '127.0.0.1:5001';
  let startedSecured = false;
  let dockerConfig: string;
  before(async () => {
    dockerConfig = await mkdtemp(join(work, 'docker-config-'));
    let up = false;
    try {
      const res = await fetch(`http://${SECURED}/v2/`);
      await res.body?.cancel();
      up = res.status === 401;
    } catch {
      up = false;
    }
    if (!up) {
      await fixtureScript('registry.sh', ['start', 'htpasswd']);
      startedSecured = true;
    }
    await fixtureScript('registry.sh', ['push', 'htpasswd', 'busybox']);
  });
  after(async () => {
    if (startedSecured) await fixtureScript('registry.sh', ['stop', 'htpasswd']);
  });

  it('logs in with --password-stdin, pulls with the stored credentials, logs out', async () => {
    const root = await dataRoot();
    const env = { DOCKER_CONFIG: dockerConfig };
    const denied = await berth(root, ['pull', `${SECURED}/busybox`], { env });
    assert.equal(denied.code, 1);

    const wrong = await berth(root, ['login', '-u', 'berth', '--password-stdin', SECURED], { env, stdin: 'nope\n' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /unauthorized: incorrect username or password/);

    const ok = await berth(root, ['login', '-u', 'berth', '--password-stdin', SECURED], { env, stdin: 'berth-pass\n' });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'Login Succeeded\n');
    const config = JSON.parse(await readFile(join(dockerConfig, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.equal(Buffer.from(config.auths[SECURED]!.auth, 'base64').toString(), 'berth:berth-pass');

    const pulled = await berth(root, ['pull', '-q', `${SECURED}/busybox`], { env });
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.equal(pulled.stdout, `${SECURED}/busybox:latest\n`);

    const insecureFlag = await berth(root, ['-D', '--insecure-registry', SECURED, 'login', '-u', 'berth', '-p', 'berth-pass', SECURED], { env });
    assert.equal(insecureFlag.code, 0, insecureFlag.stderr);
    assert.match(insecureFlag.stderr, /WARNING! Using --password via the CLI is insecure/);

    assert.equal((await berth(root, ['logout', SECURED], { env })).stdout, `Removing login credentials for ${SECURED}\n`);
    assert.equal((await berth(root, ['logout', SECURED], { env })).stdout, `Not logged in to ${SECURED}\n`);
    const noTty = await berth(root, ['login', SECURED], { env });
    assert.equal(noTty.code, 1);
  });
});
