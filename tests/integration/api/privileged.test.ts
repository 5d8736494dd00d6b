/**
 * `--privileged` brings the host's device nodes, and `--device-cgroup-rule` opens the device
 * cgroup to the nodes it names: both through the real docker CLI (and the rule through berth's
 * own CLI), checked from inside the container against the host's /dev.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO, TestDaemon, cliEnv, type Result } from './helpers.ts';

let d: TestDaemon;
const created = new Set<string>();

/** berth's own CLI against the test daemon. */
function berth(args: readonly string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--', join(REPO, 'src/bin/berth.ts'), '-H', `unix://${d.socket}`, ...args], { env: cliEnv(), cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
  });
}

/** `docker run --name NAME ARGS...`, remembered for the leak check at the end. */
async function run(name: string, ...args: string[]): Promise<Result> {
  const r = await d.docker('run', '--name', name, ...args);
  const id = (await d.docker('inspect', '-f', '{{.Id}}', name)).stdout.trim();
  if (id) created.add(id);
  return r;
}

/** `major:minor` of a host node, as `stat -c %t:%T` shows them but in decimal. */
function numbers(path: string): string {
  const rdev = BigInt(statSync(path).rdev);
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/**
 * Host nodes no container gets by default: a disk (stat only: a VM may refuse even root to read
 * it), loop-control, and a node two directories down that root can read (CPUID leaf 0).
 */
function hostNodes(): { disk: string; cpuid: string | undefined } {
  const disk = ['vda', 'sda', 'xvda', 'nvme0n1'].map((n) => `/dev/${n}`).find((p) => statSync(p, { throwIfNoEntry: false })?.isBlockDevice()) ?? '/dev/loop0';
  const cpuid = statSync('/dev/cpu/0/cpuid', { throwIfNoEntry: false })?.isCharacterDevice() ? '/dev/cpu/0/cpuid' : undefined;
  return { disk, cpuid };
}

before(async () => {
  d = await TestDaemon.create();
  await d.start();
});

after(async () => {
  await d.removeAllAndCheck(created);
});

describe('--privileged devices', () => {
  it("makes every host node in the container's /dev with the host's numbers, and lets it be used", async () => {
    const { disk, cpuid } = hostNodes();
    const nodes = [disk, '/dev/loop-control', ...(cpuid ? [cpuid] : [])];
    const r = await run('priv-dev', '--privileged', 'busybox', 'sh', '-c', [
      // busybox stat: %t/%T are hex, as GNU's
      `stat -c '%n %F %t:%T' ${nodes.join(' ')}`,
      cpuid ? `head -c 16 ${cpuid} | wc -c` : 'echo 16',
      'readlink /dev/ptmx',
      'ls /dev/pts',
      'ls /dev',
    ].join('; '));
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    const hex = (path: string): string => numbers(path).split(':').map((n) => Number(n).toString(16)).join(':');
    const kind = (path: string): string => (statSync(path).isBlockDevice() ? 'block special file' : 'character special file');
    assert.deepEqual(lines.splice(0, nodes.length), nodes.map((n) => `${n} ${kind(n)} ${hex(n)}`));
    const [read, ptmx, pts, ...listing] = lines;
    assert.equal(read, '16');
    // the container's own devpts (its ptmx only), not the host's multiplexer or ptys
    assert.equal(ptmx, 'pts/ptmx');
    assert.equal(pts, 'ptmx');
    // every host node at the top of /dev but the console (made only for a tty) is there
    const hostTop = readdirSync('/dev', { withFileTypes: true }).filter((e) => (e.isCharacterDevice() || e.isBlockDevice()) && e.name !== 'console').map((e) => e.name);
    assert.deepEqual(hostTop.filter((name) => !listing.includes(name)), []);
    assert.ok(!listing.includes('console'));
  });

  it('keeps the default /dev without --privileged', async () => {
    const r = await run('priv-plain', 'busybox', 'ls', '/dev');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero']);
  });
});

describe('--device-cgroup-rule', () => {
  it('opens a node made with mknod only as far as the rule allows; others stay EPERM', async () => {
    const r = await run('priv-rule', '--device-cgroup-rule', 'c 10:237 r', 'busybox', 'sh', '-c', [
      'mknod /dev/lc c 10 237 && mknod /dev/fz c 10 229',
      ': < /dev/lc && echo read-ok',
      '(: >> /dev/lc) 2>&1',
      '(: < /dev/fz) 2>&1',
      'true',
    ].join('; '));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, [
      'read-ok',
      "sh: can't create /dev/lc: Operation not permitted",
      "sh: can't open /dev/fz: Operation not permitted",
      '',
    ].join('\n'));
    assert.equal((await d.docker('inspect', '-f', '{{json .HostConfig.DeviceCgroupRules}}', 'priv-rule')).stdout.trim(), '["c 10:237 r"]');
  });

  it("refuses a malformed rule: docker's CLI before sending, the daemon at create", async () => {
    const cli = await d.docker('run', '--rm', '--device-cgroup-rule', 'c 1:3', 'busybox', 'true');
    assert.equal(cli.code, 125);
    assert.match(cli.stderr, /^invalid argument "c 1:3" for "--device-cgroup-rule" flag: invalid device cgroup format 'c 1:3'\n/);
    const before = await d.containerIds();
    const api = await d.api('POST', '/containers/create', JSON.stringify({ Image: 'busybox', HostConfig: { DeviceCgroupRules: ['c 1:3 mr', 'x'] } }), { 'Content-Type': 'application/json' });
    assert.equal(api.status, 400, api.body);
    assert.equal(JSON.parse(api.body).message, "invalid device cgroup rule format: 'x'");
    assert.deepEqual(await d.containerIds(), before);
    // moby never reads a privileged container's rules: it starts, whatever they say
    const privileged = await d.api('POST', '/containers/create', JSON.stringify({ Image: 'busybox', Cmd: ['true'], HostConfig: { Privileged: true, DeviceCgroupRules: ['x'] } }), { 'Content-Type': 'application/json' });
    assert.equal(privileged.status, 201, privileged.body);
    const id = (JSON.parse(privileged.body) as { Id: string }).Id;
    created.add(id);
    const started = await d.docker('start', '-a', id);
    assert.equal(started.code, 0, started.stderr);
  });

  it("berth's CLI sends the rule and refuses a bad one as docker does", async () => {
    const ok = await berth(['run', '--rm', '--device-cgroup-rule', 'c 10:229 rw', 'busybox', 'sh', '-c', 'mknod /dev/fz c 10 229 && : < /dev/fz && echo fuse-open']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'fuse-open\n');
    const bad = await berth(['run', '--rm', '--device-cgroup-rule', 'q 1:3 r', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid argument "q 1:3 r" for "--device-cgroup-rule" flag: invalid device cgroup format 'q 1:3 r'/);
  });
});
